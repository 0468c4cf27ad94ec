package analytics

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"wasp/schemas"
)

// ClickHouseSource answers the dashboard from the events table, with the
// same definitions as the embedded rollups.
type ClickHouseSource struct {
	conn driver.Conn
	db   string
}

var _ Source = (*ClickHouseSource)(nil)

// NewClickHouseSource reads database through conn.
func NewClickHouseSource(conn driver.Conn, database string) (*ClickHouseSource, error) {
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	return &ClickHouseSource{conn: conn, db: database}, nil
}

// where is the period's filter and its arguments.
func (s *ClickHouseSource) where(p Period) (string, []any) {
	w := "time >= ? AND time < ?"
	args := []any{p.From.UTC(), p.To.UTC()}
	if p.Tenant != "" {
		w += " AND tenant = ?"
		args = append(args, p.Tenant)
	}
	return w, args
}

// Summary implements Source.
func (s *ClickHouseSource) Summary(ctx context.Context, p Period) (Summary, error) {
	sum := Summary{Tenant: p.Tenant, From: p.From, To: p.To, Failures: map[string]int64{}, Billable: map[string]int64{}}
	w, args := s.where(p)
	var conv, in, out, bot, handoffs, sent, delivered, read uint64
	var tokens int64
	var q []float64
	row := s.conn.QueryRow(ctx, `SELECT
		uniqExactIf(user, kind = 'inbound' AND user != ''),
		countIf(kind = 'inbound'),
		countIf(kind = 'send_accepted' AND message_type != 'read'),
		countIf(kind = 'send_accepted' AND message_type != 'read' AND origin = 'bot'),
		countIf(kind = 'handoff'),
		countIf(kind = 'status' AND status = 'sent'),
		countIf(kind = 'status' AND status = 'delivered'),
		countIf(kind = 'status' AND status = 'read'),
		sumIf(tokens, kind = 'bot_reply'),
		quantilesExactIf(0.5, 0.95)(response_ms, kind = 'send_accepted' AND message_type != 'read' AND response_ms > 0)
		FROM `+s.db+`.events WHERE `+w, args...)
	if err := row.Scan(&conv, &in, &out, &bot, &handoffs, &sent, &delivered, &read, &tokens, &q); err != nil {
		return sum, fmt.Errorf("cannot read the summary from ClickHouse: %w", err)
	}
	sum.Conversations, sum.MessagesIn, sum.MessagesOut, sum.BotReplies = int64(conv), int64(in), int64(out), int64(bot)
	sum.Handoffs, sum.Sent, sum.Delivered, sum.Read, sum.Tokens = int64(handoffs), int64(sent), int64(delivered), int64(read), tokens
	if len(q) == 2 {
		sum.ResponseP50Ms, sum.ResponseP95Ms = q[0], q[1]
	}
	sum.BotReplyRate = ratio(sum.BotReplies, sum.MessagesIn)
	sum.HandoffRate = ratio(sum.Handoffs, sum.Conversations)
	sum.DeliveryRate = ratio(sum.Delivered, sum.Sent)
	sum.ReadRate = ratio(sum.Read, sum.Sent)

	groups := []struct {
		query string
		into  map[string]int64
	}{
		{`SELECT toString(error_code), count() FROM ` + s.db + `.events WHERE ` + w +
			` AND (kind = 'send_failed' OR kind = 'status' AND status = 'failed') GROUP BY error_code`, sum.Failures},
		{`SELECT pricing_category, count() FROM ` + s.db + `.events WHERE ` + w +
			` AND kind = 'status' AND billable = 1 AND pricing_category != '' AND status != 'sent' GROUP BY pricing_category`, sum.Billable},
	}
	for _, g := range groups {
		rows, err := s.conn.Query(ctx, g.query, args...)
		if err != nil {
			return sum, fmt.Errorf("cannot read the summary from ClickHouse: %w", err)
		}
		for rows.Next() {
			var k string
			var n uint64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return sum, err
			}
			g.into[k] = int64(n)
		}
		rows.Close()
	}
	for cat, n := range sum.Billable {
		sum.CostEstimate += float64(n) * Prices[cat]
	}
	return sum, nil
}

// Trends implements Source.
func (s *ClickHouseSource) Trends(ctx context.Context, p Period, step time.Duration) ([]Point, error) {
	w, args := s.where(p)
	bucket := "toStartOfHour(time)"
	if step >= 24*time.Hour {
		bucket = "toStartOfDay(time)"
	}
	rows, err := s.conn.Query(ctx, `SELECT `+bucket+` AS t,
		countIf(kind = 'inbound'), countIf(kind = 'send_accepted' AND message_type != 'read'),
		countIf(kind = 'handoff'), countIf(kind = 'send_failed')
		FROM `+s.db+`.events WHERE `+w+` GROUP BY t ORDER BY t`, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot read trends from ClickHouse: %w", err)
	}
	defer rows.Close()
	out := []Point{}
	for rows.Next() {
		var pt Point
		var in, o, h, f uint64
		if err := rows.Scan(&pt.Time, &in, &o, &h, &f); err != nil {
			return nil, err
		}
		pt.Time = pt.Time.UTC()
		pt.MessagesIn, pt.MessagesOut, pt.Handoffs, pt.Failed = int64(in), int64(o), int64(h), int64(f)
		out = append(out, pt)
	}
	return out, rows.Err()
}

// Numbers implements Source.
func (s *ClickHouseSource) Numbers(ctx context.Context, p Period) ([]NumberStats, error) {
	w, args := s.where(p)
	rows, err := s.conn.Query(ctx, `SELECT phone_number_id, sum(a), sum(th), sum(f), max(a) FROM (
		SELECT phone_number_id, toStartOfHour(time) AS h,
			countIf(kind = 'send_accepted' AND message_type != 'read') AS a,
			countIf(kind = 'throttled') AS th, countIf(kind = 'send_failed') AS f
		FROM `+s.db+`.events WHERE `+w+` GROUP BY phone_number_id, h)
		GROUP BY phone_number_id ORDER BY phone_number_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot read numbers from ClickHouse: %w", err)
	}
	defer rows.Close()
	out := []NumberStats{}
	for rows.Next() {
		var n NumberStats
		var a, th, f, peak uint64
		if err := rows.Scan(&n.PhoneNumberID, &a, &th, &f, &peak); err != nil {
			return nil, err
		}
		n.Accepted, n.Throttled, n.Failed, n.PeakPerHour = int64(a), int64(th), int64(f), int64(peak)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Alerts implements Source.
func (s *ClickHouseSource) Alerts(ctx context.Context, p Period, limit int) ([]schemas.Event, error) {
	w, args := s.where(p)
	rows, err := s.conn.Query(ctx, `SELECT id, time, tenant, phone_number_id, error_code, error_class, reason
		FROM `+s.db+`.events WHERE `+w+` AND kind = 'alert' ORDER BY time DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("cannot read alerts from ClickHouse: %w", err)
	}
	defer rows.Close()
	out := []schemas.Event{}
	for rows.Next() {
		e := schemas.Event{Kind: schemas.EventAlert}
		var code int32
		if err := rows.Scan(&e.ID, &e.Time, &e.Tenant, &e.PhoneNumberID, &code, &e.ErrorClass, &e.Reason); err != nil {
			return nil, err
		}
		e.Time, e.ErrorCode = e.Time.UTC(), int(code)
		out = append(out, e)
	}
	return out, rows.Err()
}
