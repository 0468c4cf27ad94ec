package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// events makes a day of traffic for two numbers: n inbound messages from
// n/2 users, a bot reply to each (accepted, 120 ms or 900 ms), statuses,
// a failure, a handoff and an alert.
func events(n int, at time.Time) []schemas.Event {
	var out []schemas.Event
	add := func(e schemas.Event) {
		e.ID = schemas.EventID(fmt.Sprint(len(out)))
		if e.Time.IsZero() {
			e.Time = at
		}
		e.Tenant = "acme"
		out = append(out, e)
	}
	for i := range n {
		number := []string{"111", "222"}[i%2]
		user := fmt.Sprintf("u%d", i/2)
		wamid := fmt.Sprintf("wamid.%d", i)
		t := at.Add(time.Duration(i) * time.Minute)
		add(schemas.Event{Kind: schemas.EventInbound, Time: t, PhoneNumberID: number, User: user, Wamid: wamid})
		add(schemas.Event{Kind: schemas.EventBotReply, Time: t, PhoneNumberID: number, User: user, Tokens: 10})
		resp := int64(120)
		if i%10 == 0 {
			resp = 900
		}
		add(schemas.Event{Kind: schemas.EventSendAccepted, Time: t, PhoneNumberID: number, User: user, Origin: schemas.OriginBot, MessageType: "text", ResponseMs: resp})
		add(schemas.Event{Kind: schemas.EventSendAccepted, Time: t, PhoneNumberID: number, User: user, Origin: schemas.OriginBot, MessageType: "read"})
		add(schemas.Event{Kind: schemas.EventStatus, Time: t, PhoneNumberID: number, Status: "sent", Billable: i%2 == 0, PricingCategory: "utility"})
		add(schemas.Event{Kind: schemas.EventStatus, Time: t, PhoneNumberID: number, Status: "delivered"})
		if i%2 == 0 {
			add(schemas.Event{Kind: schemas.EventStatus, Time: t, PhoneNumberID: number, Status: "read", Billable: true, PricingCategory: "utility"})
		}
	}
	add(schemas.Event{Kind: schemas.EventSendFailed, PhoneNumberID: "111", ErrorCode: 131026})
	add(schemas.Event{Kind: schemas.EventHandoff, PhoneNumberID: "111", Reason: "keyword"})
	add(schemas.Event{Kind: schemas.EventAlert, PhoneNumberID: "111", ErrorCode: 190, Reason: "token"})
	return out
}

func appendEvents(t testing.TB, l stream.Log, es []schemas.Event) {
	var recs []*stream.Record
	for _, e := range es {
		v, _ := json.Marshal(e)
		recs = append(recs, &stream.Record{Topic: schemas.TopicEvents, Key: []byte(e.PhoneNumberID), Value: v})
	}
	if err := l.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

func TestRollupsSummary(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	appendEvents(t, l, events(100, at))
	dir := t.TempDir()
	// Each run uses a new consumer group, as if the log's committed offset
	// were lost: the offsets stored with the counts keep them exact.
	run := func(i int) *Rollups {
		r, err := OpenRollups(RollupConfig{Dir: dir, Group: fmt.Sprint("g", i)}, l)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Apply twice (a restart that reads everything again): counts stay.
	for i := range 2 {
		r := run(i)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		p := Period{Tenant: "acme", From: at.Add(-time.Hour), To: at.Add(3 * time.Hour)}
		deadline := time.Now().Add(10 * time.Second)
		var s Summary
		for {
			s, _ = r.Summary(context.Background(), p)
			if s.MessagesIn == 100 && s.Handoffs == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		f := func(name string, got, want any) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s = %v; want %v", name, got, want)
			}
		}
		f("conversations", s.Conversations, 50)
		f("messages in", s.MessagesIn, 100)
		f("messages out", s.MessagesOut, 100)
		f("bot reply rate", s.BotReplyRate, 1)
		f("handoff rate", s.HandoffRate, 0.02)
		f("delivery rate", s.DeliveryRate, 1)
		f("read rate", s.ReadRate, 0.5)
		f("failures", s.Failures, map[string]int64{"131026": 1})
		f("tokens", s.Tokens, 1000)
		if s.ResponseP50Ms < 100 || s.ResponseP50Ms > 150 || s.ResponseP95Ms < 750 || s.ResponseP95Ms > 1125 {
			t.Fatalf("response p50 %v, p95 %v; want about 120 and 900", s.ResponseP50Ms, s.ResponseP95Ms)
		}
		if s.CostEstimate != 50*Prices["utility"] {
			t.Fatalf("cost %v; want 50 utility messages", s.CostEstimate)
		}

		mux := http.NewServeMux()
		Register(mux, r)
		srv := httptest.NewServer(mux)
		resp, err := http.Get(srv.URL + "/api/v1/dashboard/numbers?tenant=acme&from=" + p.From.Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		var nums struct{ Numbers []NumberStats }
		json.NewDecoder(resp.Body).Decode(&nums)
		resp.Body.Close()
		if len(nums.Numbers) != 2 || nums.Numbers[0].Accepted != 50 {
			t.Fatalf("numbers %+v; want two numbers with 50 sends each", nums.Numbers)
		}
		resp, _ = http.Get(srv.URL + "/api/v1/dashboard/alerts?from=" + p.From.Format(time.RFC3339))
		var alerts struct{ Alerts []schemas.Event }
		json.NewDecoder(resp.Body).Decode(&alerts)
		resp.Body.Close()
		if len(alerts.Alerts) != 1 || alerts.Alerts[0].ErrorCode != 190 {
			t.Fatalf("alerts %+v; want the 190 alert", alerts.Alerts)
		}
		srv.Close()
		cancel()
		<-done
	}
}

// TestDashboardParams: the period's forms, and a clear 400 for what the
// API cannot take rather than an answer for another period.
func TestDashboardParams(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	appendEvents(t, l, events(10, at))
	r, err := OpenRollups(RollupConfig{Dir: t.TempDir(), Group: "g"}, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	mux := http.NewServeMux()
	Register(mux, r)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(query string, v any) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/dashboard/" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if v != nil {
			json.Unmarshal(body, v)
		}
		return resp.StatusCode, string(body)
	}

	// A day given as dates holds the day's events.
	deadline := time.Now().Add(10 * time.Second)
	var s Summary
	for s.MessagesIn != 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if code, body := get("summary?from=2026-11-20&to=2026-11-21", &s); code != 200 {
			t.Fatalf("dates: %d %s", code, body)
		}
	}
	if s.MessagesIn != 10 || !s.From.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("from 2026-11-20 to 2026-11-21: %d messages in from %v; want 10 from midnight", s.MessagesIn, s.From)
	}
	// to alone: the 24 hours before it, not before now.
	s = Summary{}
	get("summary?to=2026-11-20T12:00:00Z", &s)
	if s.MessagesIn != 10 || !s.From.Equal(time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("to alone: %d messages in from %v; want 10 from the day before", s.MessagesIn, s.From)
	}
	for _, c := range []struct{ query, want string }{
		{"summary?from=2026-11-21&to=2026-11-20", "from (2026-11-21T00:00:00Z) must be before to"},
		{"summary?from=yesterday", "from must be an RFC 3339 time"},
		{"trends?step=week", "step must be hour or day"},
		{"alerts?limit=all", "limit must be a number from 1 to 1000"},
	} {
		if code, body := get(c.query, nil); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want 400 saying %q", c.query, code, body, c.want)
		}
	}
}
