package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// notices is a Slack-compatible webhook that keeps what it receives.
type notices struct {
	mu  sync.Mutex
	got []schemas.Event
}

func (n *notices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text  string        `json:"text"`
		Alert schemas.Event `json:"wasp_alert"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Text == "" {
		http.Error(w, "want {text}", http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.got = append(n.got, body.Alert)
	n.mu.Unlock()
}

// of returns the rules notified with status, in arrival order.
func (n *notices) of(status string) map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for _, e := range n.got {
		if e.Status == status {
			rule, _, _ := strings.Cut(e.Reason, ":")
			out[rule]++
		}
	}
	return out
}

// TestAlertRules runs the alert loop over an embedded log with each rule's
// condition, and checks that each fires once, is stored as an event,
// notified and counted, resolves when its condition ends, and is not
// notified again within the cooldown.
func TestAlertRules(t *testing.T) {
	l := openTestLog(t, t.TempDir())
	var clock atomic.Int64
	now := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	clock.Store(now.UnixNano())
	nowFn := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	// The signals: a number whose sends fail, one at its pace, one gone
	// quiet, a token refused, a failing model, an account restricted,
	// refused webhooks and a lagging group.
	var es []schemas.Event
	add := func(n int, number string, ago time.Duration, e schemas.Event) {
		for i := range n {
			e.ID = schemas.EventID(fmt.Sprint(len(es), i))
			e.Tenant, e.PhoneNumberID, e.Time = "acme", number, now.Add(-ago)
			es = append(es, e)
		}
	}
	add(30, "failing", 5*time.Minute, schemas.Event{Kind: schemas.EventSendAccepted, MessageType: "text"})
	add(10, "failing", 5*time.Minute, schemas.Event{Kind: schemas.EventSendFailed, MessageType: "text", ErrorCode: 131026})
	add(1, "failing", time.Minute, schemas.Event{Kind: schemas.EventSendFailed, MessageType: "text", ErrorCode: 190})
	add(40, "healthy", 5*time.Minute, schemas.Event{Kind: schemas.EventSendAccepted, MessageType: "text"})
	add(1, "healthy", 5*time.Minute, schemas.Event{Kind: schemas.EventStatus, Status: "failed", ErrorCode: 131049})
	add(58, "busy", 60*time.Second, schemas.Event{Kind: schemas.EventSendAccepted, MessageType: "text"})
	add(100, "quiet", 75*time.Minute, schemas.Event{Kind: schemas.EventInbound})
	add(10, "healthy", 3*time.Minute, schemas.Event{Kind: schemas.EventBotReply})
	add(5, "healthy", 3*time.Minute, schemas.Event{Kind: schemas.EventHandoff, Reason: "llm timeout"})
	add(1, "healthy", 10*time.Minute, schemas.Event{Kind: schemas.EventAccount, Status: schemas.StatusAdverse,
		Reason: "account: ACCOUNT_RESTRICTION, RESTRICTED_BIZ_INITIATED_MESSAGING"})
	appendEvents(t, l, es)
	for i := range 10 {
		if err := l.Append(context.Background(), &stream.Record{Topic: schemas.TopicWebhooks, Key: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	var hooksOK, hooksRefused atomic.Uint64

	var hook notices
	srv := httptest.NewServer(&hook)
	defer srv.Close()
	raised := alertsRaised[RuleSilence].Get()
	a := NewAlerter(AlertConfig{Interval: 20 * time.Millisecond, Cooldown: 3 * time.Hour, NotifyURL: srv.URL,
		Rules: AlertRules{Lag: 5}, Limits: map[string]float64{"busy": 1},
		Webhooks: func() (uint64, uint64) { return hooksOK.Load(), hooksRefused.Load() },
		Lag:      map[string][]string{"wasp-processor": {schemas.TopicWebhooks}},
		Now:      nowFn}, l)
	defer runAlerter(t, a)()

	// After the first evaluations, webhooks start being refused.
	time.Sleep(100 * time.Millisecond)
	hooksOK.Store(50)
	hooksRefused.Store(20)

	all := []string{RuleDeliveryFailure, RuleTokenErrors, RulePace, RuleSilence, RuleLLMErrors, RuleAccount,
		RuleWebhookErrors, RuleLag}
	pollUntil(t, 10*time.Second, "every rule to fire", func() bool { return len(hook.of(schemas.AlertFiring)) == len(all) })
	time.Sleep(100 * time.Millisecond) // more evaluations: still one notice each
	fired := hook.of(schemas.AlertFiring)
	for _, rule := range all {
		if fired[rule] != 1 {
			t.Errorf("%s: notified %d times; want once (all: %v)", rule, fired[rule], fired)
		}
	}
	if got := alertsRaised[RuleSilence].Get() - raised; got != 1 {
		t.Errorf("wasp_alerts_raised_total{rule=silence} grew by %d; want 1", got)
	}
	if n := alertsFiring[RuleDeliveryFailure].n.Load(); n != 1 {
		t.Errorf("wasp_alerts_firing{rule=delivery_failure_rate} = %d; want 1", n)
	}
	// The healthy number raised nothing but the model and account rules.
	for _, e := range hook.got {
		if e.PhoneNumberID == "healthy" && !strings.HasPrefix(e.Reason, RuleLLMErrors) && !strings.HasPrefix(e.Reason, RuleAccount) {
			t.Errorf("the healthy number raised %q", e.Reason)
		}
	}

	// Two hours later every window is empty, webhooks are answered again
	// and the group caught up: everything resolves.
	clock.Store(now.Add(2 * time.Hour).UnixNano())
	hooksOK.Store(500)
	c, err := l.Consume("wasp-processor", schemas.TopicWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := c.Fetch(context.Background(), 10)
	if err != nil || len(recs) == 0 {
		t.Fatalf("fetch: %v", err)
	}
	var offs []stream.Offset
	for _, r := range recs {
		offs = append(offs, r.NextOffset())
	}
	for _, r := range readAll(t, c) {
		offs = append(offs, r.NextOffset())
	}
	if err := c.Commit(context.Background(), offs...); err != nil {
		t.Fatal(err)
	}
	c.Close()
	pollUntil(t, 10*time.Second, "every alert to resolve", func() bool { return len(hook.of(schemas.AlertResolved)) == len(all) })

	// A new failure within the cooldown fires without a notice.
	later := now.Add(2 * time.Hour)
	var again []schemas.Event
	for i := range 25 {
		again = append(again, schemas.Event{ID: schemas.EventID("again", fmt.Sprint(i)), Kind: schemas.EventSendFailed,
			MessageType: "text", ErrorCode: 131026, Tenant: "acme", PhoneNumberID: "failing", Time: later})
	}
	suppressed := alertsCooldown.Get()
	appendEvents(t, l, again)
	pollUntil(t, 10*time.Second, "the failure to fire again", func() bool { return alertsCooldown.Get() > suppressed })
	if n := hook.of(schemas.AlertFiring)[RuleDeliveryFailure]; n != 1 {
		t.Errorf("delivery failures notified %d times; want once within the cooldown", n)
	}

	// Each notice is also an alert event in the log, with its status.
	stored := map[string]int{}
	for _, r := range readAll(t, mustConsume(t, l, "check", schemas.TopicEvents)) {
		var e schemas.Event
		json.Unmarshal(r.Value, &e)
		if e.Kind == schemas.EventAlert {
			stored[e.Status]++
		}
	}
	if stored[schemas.AlertFiring] != len(all) || stored[schemas.AlertResolved] != len(all) {
		t.Errorf("alert events in the log: %v; want %d firing and %d resolved", stored, len(all), len(all))
	}
}

// runAlerter runs a until the returned stop is called.
func runAlerter(t *testing.T, a *Alerter) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("alerter: %v", err)
		}
	}
}

func mustConsume(t *testing.T, l stream.Log, group string, topics ...string) stream.Consumer {
	c, err := l.Consume(group, topics...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAll reads what c has now.
func readAll(t *testing.T, c stream.Consumer) []*stream.Record {
	var out []*stream.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := c.Fetch(ctx, 10_000)
		cancel()
		out = append(out, recs...)
		if err != nil {
			return out
		}
	}
}

// TestAlertsOutliveARestart: with a state file, an alert firing when the
// loop stops is neither raised again nor resolved by the next loop, which
// takes up the minutes counted before the stop, and it resolves when its
// condition ends. Without the file the next loop raises it again.
func TestAlertsOutliveARestart(t *testing.T) {
	for _, c := range []struct {
		keep      bool
		more      int // failing sends after the restart, a quarter failed
		wantFired int
	}{
		{keep: true, more: 8, wantFired: 1}, // too few to fire alone
		{keep: true, more: 40, wantFired: 1},
		{keep: false, more: 40, wantFired: 2},
	} {
		t.Run(fmt.Sprintf("state file %v, %d sends after", c.keep, c.more), func(t *testing.T) {
			l := openTestLog(t, t.TempDir())
			var clock atomic.Int64
			now := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
			clock.Store(now.UnixNano())
			sends := func(from, to int) {
				var es []schemas.Event
				for i := from; i < to; i++ {
					e := schemas.Event{ID: schemas.EventID("restart", fmt.Sprint(i)), Kind: schemas.EventSendAccepted, MessageType: "text",
						Tenant: "acme", PhoneNumberID: "failing", Time: now.Add(-3 * time.Minute)}
					if i%4 == 0 {
						e.Kind, e.ErrorCode = schemas.EventSendFailed, 131026
					}
					es = append(es, e)
				}
				appendEvents(t, l, es)
			}
			sends(0, 40)
			var hook notices
			srv := httptest.NewServer(&hook)
			defer srv.Close()
			cfg := AlertConfig{Interval: 20 * time.Millisecond, NotifyURL: srv.URL,
				Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }}
			if c.keep {
				cfg.StatePath = filepath.Join(t.TempDir(), "alerts.json")
			}
			stop := runAlerter(t, NewAlerter(cfg, l))
			pollUntil(t, 10*time.Second, "the alert", func() bool { return hook.of(schemas.AlertFiring)[RuleDeliveryFailure] == 1 })
			time.Sleep(100 * time.Millisecond) // evaluated, saved and committed again
			stop()

			defer runAlerter(t, NewAlerter(cfg, l))()
			sends(40, 40+c.more)
			time.Sleep(300 * time.Millisecond) // many evaluations
			fired, resolved := hook.of(schemas.AlertFiring)[RuleDeliveryFailure], hook.of(schemas.AlertResolved)[RuleDeliveryFailure]
			if fired != c.wantFired || resolved != 0 {
				t.Fatalf("raised %d times, resolved %d; want raised %d times, not resolved", fired, resolved, c.wantFired)
			}
			if n := alertsFiring[RuleDeliveryFailure].n.Load(); n != 1 {
				t.Errorf("wasp_alerts_firing{rule=delivery_failure_rate} = %d after the restart; want 1", n)
			}
			clock.Store(now.Add(time.Hour).UnixNano())
			pollUntil(t, 10*time.Second, "the resolution", func() bool { return hook.of(schemas.AlertResolved)[RuleDeliveryFailure] == 1 })
		})
	}
}
