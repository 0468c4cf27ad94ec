package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"wasp/internal/jsonapi"
	"wasp/schemas"
)

// Source answers the dashboard: the embedded rollups, or ClickHouse.
type Source interface {
	Summary(ctx context.Context, p Period) (Summary, error)
	Trends(ctx context.Context, p Period, step time.Duration) ([]Point, error)
	Numbers(ctx context.Context, p Period) ([]NumberStats, error)
	Alerts(ctx context.Context, p Period, limit int) ([]schemas.Event, error)
}

var _ Source = (*Rollups)(nil)

// Summary is the dashboard's figures for a period.
type Summary struct {
	Tenant string    `json:"tenant,omitzero"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Conversations is the customers who wrote in the period.
	Conversations int64 `json:"conversations"`
	MessagesIn    int64 `json:"messages_in"`
	MessagesOut   int64 `json:"messages_out"`
	BotReplies    int64 `json:"bot_replies"`
	// BotReplyRate is bot replies per inbound message; HandoffRate
	// handoffs per conversation.
	BotReplyRate float64 `json:"bot_reply_rate"`
	Handoffs     int64   `json:"handoffs"`
	HandoffRate  float64 `json:"handoff_rate"`
	// ResponseP50Ms and ResponseP95Ms: inbound received → reply accepted by
	// Meta (histogram bucket bounds, within 25 %).
	ResponseP50Ms float64 `json:"response_p50_ms"`
	ResponseP95Ms float64 `json:"response_p95_ms"`
	// Delivered, Read and their rates over sent.
	Sent         int64            `json:"sent"`
	Delivered    int64            `json:"delivered"`
	Read         int64            `json:"read"`
	DeliveryRate float64          `json:"delivery_rate"`
	ReadRate     float64          `json:"read_rate"`
	Failures     map[string]int64 `json:"failures_by_code"`
	Tokens       int64            `json:"tokens"`
	// Billable is billable messages by pricing category; CostEstimate
	// prices them with Prices (USD).
	Billable     map[string]int64 `json:"billable"`
	CostEstimate float64          `json:"cost_estimate_usd"`
}

// Prices per billable message by pricing category, in USD: a rough
// average of Meta's rate card, for an estimate only.
var Prices = map[string]float64{"marketing": 0.025, "utility": 0.004, "authentication": 0.0035,
	"authentication-international": 0.02, "marketing_lite": 0.02}

// Point is one step of a trend.
type Point struct {
	Time        time.Time `json:"time"`
	MessagesIn  int64     `json:"messages_in"`
	MessagesOut int64     `json:"messages_out"`
	Handoffs    int64     `json:"handoffs"`
	Failed      int64     `json:"failed"`
}

// NumberStats is one number's sending in the period.
type NumberStats struct {
	PhoneNumberID string `json:"phone_number_id"`
	Accepted      int64  `json:"accepted"`
	Throttled     int64  `json:"throttled"`
	Failed        int64  `json:"failed"`
	// PeakPerHour is the most sends accepted in one hour of the period.
	PeakPerHour int64 `json:"peak_per_hour"`
}

func (s *Summary) add(c *Counts, hist []int64) {
	s.MessagesIn += c.Inbound
	s.MessagesOut += c.Accepted
	s.BotReplies += c.BotReplies
	s.Handoffs += c.Handoffs
	s.Sent += c.Statuses["sent"]
	s.Delivered += c.Statuses["delivered"]
	s.Read += c.Statuses["read"]
	s.Tokens += c.Tokens
	for k, n := range c.FailedByCode {
		s.Failures[k] += n
	}
	for k, n := range c.Billable {
		s.Billable[k] += n
	}
	for i, n := range c.Response {
		hist[i] += n
	}
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Summary implements Source.
func (r *Rollups) Summary(_ context.Context, p Period) (Summary, error) {
	s := Summary{Tenant: p.Tenant, From: p.From, To: p.To, Failures: map[string]int64{}, Billable: map[string]int64{}}
	hist := make([]int64, len(bounds))
	if err := r.hours(p, func(_ string, _ time.Time, c *Counts) { s.add(c, hist) }); err != nil {
		return s, err
	}
	users, err := r.users(p)
	if err != nil {
		return s, err
	}
	s.Conversations = users
	s.BotReplyRate = ratio(s.BotReplies, s.MessagesIn)
	s.HandoffRate = ratio(s.Handoffs, s.Conversations)
	s.DeliveryRate = ratio(s.Delivered, s.Sent)
	s.ReadRate = ratio(s.Read, s.Sent)
	s.ResponseP50Ms, s.ResponseP95Ms = quantile(hist, 0.5), quantile(hist, 0.95)
	for cat, n := range s.Billable {
		s.CostEstimate += float64(n) * Prices[cat]
	}
	return s, nil
}

// Trends implements Source: steps of an hour or a day.
func (r *Rollups) Trends(_ context.Context, p Period, step time.Duration) ([]Point, error) {
	byTime := map[time.Time]*Point{}
	err := r.hours(p, func(_ string, hour time.Time, c *Counts) {
		t := hour.Truncate(step)
		pt := byTime[t]
		if pt == nil {
			pt = &Point{Time: t}
			byTime[t] = pt
		}
		pt.MessagesIn += c.Inbound
		pt.MessagesOut += c.Accepted
		pt.Handoffs += c.Handoffs
		pt.Failed += c.Failed
	})
	out := []Point{}
	for _, pt := range byTime {
		out = append(out, *pt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, err
}

// Numbers implements Source.
func (r *Rollups) Numbers(_ context.Context, p Period) ([]NumberStats, error) {
	by := map[string]*NumberStats{}
	err := r.hours(p, func(number string, _ time.Time, c *Counts) {
		n := by[number]
		if n == nil {
			n = &NumberStats{PhoneNumberID: number}
			by[number] = n
		}
		n.Accepted += c.Accepted
		n.Throttled += c.Throttled
		n.Failed += c.Failed
		n.PeakPerHour = max(n.PeakPerHour, c.Accepted)
	})
	out := []NumberStats{}
	for _, n := range by {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PhoneNumberID < out[j].PhoneNumberID })
	return out, err
}

// Register mounts the dashboard API on mux:
//
//	GET /api/v1/dashboard/summary?tenant=&from=&to=
//	GET /api/v1/dashboard/trends?tenant=&from=&to=&step=hour|day
//	GET /api/v1/dashboard/numbers?tenant=&from=&to=
//	GET /api/v1/dashboard/alerts?tenant=&from=&to=&limit=
//
// from and to are RFC 3339 times, dates (their midnight, UTC) or Unix
// seconds; the period holds from and not to. By default it is the 24
// hours before to, and to is now. The caller guards mux with the API
// token.
func Register(mux *http.ServeMux, src Source) {
	handle := func(path string, f func(r *http.Request, p Period) (any, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			p, err := period(r)
			if err == nil {
				var v any
				if v, err = f(r, p); err == nil {
					jsonapi.Write(w, http.StatusOK, v)
					return
				}
			}
			status := http.StatusServiceUnavailable
			if _, bad := errors.AsType[*badParam](err); bad {
				status = http.StatusBadRequest
			}
			jsonapi.Write(w, status, map[string]string{"error": err.Error()})
		})
	}
	handle("/api/v1/dashboard/summary", func(r *http.Request, p Period) (any, error) {
		return src.Summary(r.Context(), p)
	})
	handle("/api/v1/dashboard/trends", func(r *http.Request, p Period) (any, error) {
		var step time.Duration
		switch r.URL.Query().Get("step") {
		case "", "hour":
			step = time.Hour
		case "day":
			step = 24 * time.Hour
		default:
			return nil, &badParam{"step must be hour or day"}
		}
		pts, err := src.Trends(r.Context(), p, step)
		return map[string]any{"points": pts}, err
	})
	handle("/api/v1/dashboard/numbers", func(r *http.Request, p Period) (any, error) {
		ns, err := src.Numbers(r.Context(), p)
		return map[string]any{"numbers": ns}, err
	})
	handle("/api/v1/dashboard/alerts", func(r *http.Request, p Period) (any, error) {
		limit, err := jsonapi.Limit(r, 100, 1000)
		if err != nil {
			return nil, &badParam{err.Error()}
		}
		as, err := src.Alerts(r.Context(), p, limit)
		return map[string]any{"alerts": as}, err
	})
}

// period reads the query's tenant, from and to.
func period(r *http.Request) (Period, error) {
	q := r.URL.Query()
	p := Period{Tenant: q.Get("tenant"), To: time.Now().UTC()}
	var err error
	if v := q.Get("to"); v != "" {
		if p.To, err = parseTime("to", v); err != nil {
			return p, err
		}
	}
	p.From = p.To.Add(-24 * time.Hour)
	if v := q.Get("from"); v != "" {
		if p.From, err = parseTime("from", v); err != nil {
			return p, err
		}
	}
	if !p.From.Before(p.To) {
		return p, &badParam{fmt.Sprintf("from (%s) must be before to (%s)", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))}
	}
	return p, nil
}

func parseTime(name, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, &badParam{name + " must be an RFC 3339 time (2026-11-26T09:00:00Z), a date (2026-11-26) or Unix seconds"}
}

// badParam is a query parameter the API cannot take: a 400.
type badParam struct{ msg string }

func (b *badParam) Error() string { return b.msg }
