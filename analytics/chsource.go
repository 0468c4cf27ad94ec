package analytics

import (
	"context"
	"fmt"
	"math"
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

// Summary implements Source. It merges the whole hours of the period from
// dashboard_hour and reads only the partial hours at its ends from events.
func (s *ClickHouseSource) Summary(ctx context.Context, p Period) (Summary, error) {
	sum := Summary{Tenant: p.Tenant, From: p.From, To: p.To, Failures: map[string]int64{}, Billable: map[string]int64{}}
	from, args := s.summaryRows(p)
	// The counts per kind of fact, then the distinct customers, response
	// times and tokens over all of them. (WITH TOTALS would give both at
	// once but merge the customers twice, the costliest part.)
	rows, err := s.conn.Query(ctx, `SELECT kind, status, is_read, origin, error_code, pricing_category, billable,
		countMerge(event_count)
		FROM `+from+` GROUP BY kind, status, is_read, origin, error_code, pricing_category, billable`, args...)
	if err != nil {
		return sum, fmt.Errorf("cannot read the summary from ClickHouse: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, status, origin, category string
		var isRead, billable uint8
		var code int32
		var n uint64
		if err := rows.Scan(&kind, &status, &isRead, &origin, &code, &category, &billable, &n); err != nil {
			return sum, err
		}
		c := int64(n)
		switch kind {
		case schemas.EventInbound:
			sum.MessagesIn += c
		case schemas.EventSendAccepted:
			if isRead == 0 {
				sum.MessagesOut += c
				if origin == schemas.OriginBot {
					sum.BotReplies += c
				}
			}
		case schemas.EventHandoff:
			sum.Handoffs += c
		case schemas.EventSendFailed:
			sum.Failures[strconv.Itoa(int(code))] += c
		case schemas.EventStatus:
			switch status {
			case "sent":
				sum.Sent += c
			case "delivered":
				sum.Delivered += c
			case "read":
				sum.Read += c
			case "failed":
				sum.Failures[strconv.Itoa(int(code))] += c
			}
			// Meta charges on delivery: billable once, off delivered or read.
			if billable == 1 && category != "" && status != "sent" {
				sum.Billable[category] += c
			}
		}
	}
	if err := rows.Err(); err != nil {
		return sum, fmt.Errorf("cannot read the summary from ClickHouse: %w", err)
	}
	var conv uint64
	var q []float64
	if err := s.conn.QueryRow(ctx, `SELECT uniqIfMerge(customers),
		quantilesTDigestIfMerge(0.5, 0.95)(response_state), sumMergeIf(tokens_sum, kind = 'bot_reply')
		FROM `+from, args...).Scan(&conv, &q, &sum.Tokens); err != nil {
		return sum, fmt.Errorf("cannot read the summary from ClickHouse: %w", err)
	}
	sum.Conversations = int64(conv)
	if len(q) == 2 && !math.IsNaN(q[0]) {
		sum.ResponseP50Ms, sum.ResponseP95Ms = q[0], q[1]
	}
	sum.BotReplyRate = ratio(sum.BotReplies, sum.MessagesIn)
	sum.HandoffRate = ratio(sum.Handoffs, sum.Conversations)
	sum.DeliveryRate = ratio(sum.Delivered, sum.Sent)
	sum.ReadRate = ratio(sum.Read, sum.Sent)
	for cat, n := range sum.Billable {
		sum.CostEstimate += float64(n) * Prices[cat]
	}
	return sum, nil
}

// summaryRows is the FROM of the summary: the aggregate states of the
// period's whole hours (dashboard_hour) and of the partial hours at its
// ends (computed from events the same way), and their arguments.
func (s *ClickHouseSource) summaryRows(p Period) (string, []any) {
	from, to := p.From.UTC(), p.To.UTC()
	h1, h2 := from.Truncate(time.Hour), to.Truncate(time.Hour)
	if h1.Before(from) {
		h1 = h1.Add(time.Hour)
	}
	if !h1.Before(h2) { // no whole hour: every event from events
		h1, h2 = to, to
	}
	tenant, targs := "", []any(nil)
	if p.Tenant != "" {
		tenant, targs = " AND tenant = ?", []any{p.Tenant}
	}
	q := `(SELECT kind, status, is_read, origin, error_code, pricing_category, billable,
			event_count, customers, response_state, tokens_sum
		FROM ` + s.db + `.dashboard_hour WHERE t >= ? AND t < ?` + tenant + `
		UNION ALL
		SELECT kind, status, toUInt8(message_type = 'read') AS is_read, origin, error_code, pricing_category, billable,
			countState() AS event_count,
			uniqIfState(user, kind = 'inbound' AND user != '') AS customers,
			quantilesTDigestIfState(0.5, 0.95)(response_ms, kind = 'send_accepted' AND message_type != 'read' AND response_ms > 0) AS response_state,
			sumState(tokens) AS tokens_sum
		FROM ` + s.db + `.events WHERE (time >= ? AND time < ? OR time >= ? AND time < ?)` + tenant + `
		GROUP BY kind, status, is_read, origin, error_code, pricing_category, billable)`
	args := append([]any{h1, h2}, targs...)
	args = append(append(args, from, h1, h2, to), targs...)
	return q, args
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
	rows, err := s.conn.Query(ctx, `SELECT id, time, tenant, phone_number_id, status, error_code, error_class, reason
		FROM `+s.db+`.events WHERE `+w+` AND kind = 'alert' ORDER BY time DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("cannot read alerts from ClickHouse: %w", err)
	}
	defer rows.Close()
	out := []schemas.Event{}
	for rows.Next() {
		e := schemas.Event{Kind: schemas.EventAlert}
		var code int32
		if err := rows.Scan(&e.ID, &e.Time, &e.Tenant, &e.PhoneNumberID, &e.Status, &code, &e.ErrorClass, &e.Reason); err != nil {
			return nil, err
		}
		e.Time, e.ErrorCode = e.Time.UTC(), int(code)
		out = append(out, e)
	}
	return out, rows.Err()
}
