package analytics

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"wasp/stream"
)

// TestSourcesAgree feeds the same events to the embedded rollups and to
// ClickHouse and compares the dashboard's answers: the same JSON shape and
// the same figures (response times within the rollups' 25 % buckets).
func TestSourcesAgree(t *testing.T) {
	db := newTestDB(t)
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the loader's own cleanup
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	appendEvents(t, l, events(100, at))
	runLoader(t, LoaderConfig{Addr: db.addr, Database: db.name}, l)
	ru, err := OpenRollups(RollupConfig{Dir: t.TempDir()}, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ru.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ch, err := NewClickHouseSource(db.conn, db.name)
	if err != nil {
		t.Fatal(err)
	}
	p := Period{Tenant: "acme", From: at.Add(-time.Hour), To: at.Add(3 * time.Hour)}
	var a, b Summary
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, _ = ru.Summary(context.Background(), p)
		b, _ = ch.Summary(context.Background(), p)
		if a.MessagesIn == 100 && b.MessagesIn == 100 && a.Handoffs == 1 && b.Handoffs == 1 && b.Conversations == 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	f := func(name string, x, y any) {
		t.Helper()
		if fmt.Sprint(x) != fmt.Sprint(y) {
			t.Errorf("%s: embedded %v, ClickHouse %v", name, x, y)
		}
	}
	f("conversations", a.Conversations, b.Conversations)
	f("messages in", a.MessagesIn, b.MessagesIn)
	f("messages out", a.MessagesOut, b.MessagesOut)
	f("bot replies", a.BotReplies, b.BotReplies)
	f("handoffs", a.Handoffs, b.Handoffs)
	f("rates", []float64{a.BotReplyRate, a.HandoffRate, a.DeliveryRate, a.ReadRate}, []float64{b.BotReplyRate, b.HandoffRate, b.DeliveryRate, b.ReadRate})
	f("failures", a.Failures, b.Failures)
	f("tokens", a.Tokens, b.Tokens)
	f("billable", a.Billable, b.Billable)
	f("cost", a.CostEstimate, b.CostEstimate)
	for _, q := range [][2]float64{{a.ResponseP50Ms, b.ResponseP50Ms}, {a.ResponseP95Ms, b.ResponseP95Ms}} {
		if q[1] == 0 || math.Abs(q[0]-q[1])/q[1] > 0.25 {
			t.Errorf("response time: embedded %v ms, ClickHouse %v ms; want within 25%%", q[0], q[1])
		}
	}
	na, _ := ru.Numbers(context.Background(), p)
	nb, _ := ch.Numbers(context.Background(), p)
	f("numbers", na, nb)
	aa, _ := ru.Alerts(context.Background(), p, 10)
	ab, _ := ch.Alerts(context.Background(), p, 10)
	if len(aa) != 1 || len(ab) != 1 || aa[0].ID != ab[0].ID || aa[0].ErrorCode != ab[0].ErrorCode {
		t.Errorf("alerts: embedded %+v, ClickHouse %+v", aa, ab)
	}
	ta, _ := ru.Trends(context.Background(), p, time.Hour)
	tb, _ := ch.Trends(context.Background(), p, time.Hour)
	f("trends", ta, tb)

	// A period that starts and ends within hours: ClickHouse's summary
	// reads those ends from events and the whole hour between from
	// dashboard_hour; it must equal SQL on the events.
	p2 := Period{Tenant: "acme", From: at.Add(30*time.Minute + 30*time.Second), To: at.Add(80*time.Minute + 30*time.Second)}
	c, err := ch.Summary(context.Background(), p2)
	if err != nil {
		t.Fatal(err)
	}
	want := db.uint64s(t, `SELECT countIf(kind = 'inbound'), countIf(kind = 'send_accepted' AND message_type != 'read'),
		uniqExactIf(user, kind = 'inbound'), countIf(kind = 'status' AND status = 'read'), sumIf(tokens, kind = 'bot_reply')
		FROM {db}.events WHERE tenant = 'acme' AND time >= ? AND time < ?`, p2.From, p2.To)
	got := []uint64{uint64(c.MessagesIn), uint64(c.MessagesOut), uint64(c.Conversations), uint64(c.Read), uint64(c.Tokens)}
	if fmt.Sprint(got) != fmt.Sprint(want) || want[0] != 50 {
		t.Errorf("summary of a period within hours: in, out, conversations, read, tokens = %v; SQL on events says %v (want 50 in)", got, want)
	}
}
