package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"wasp/internal/logs"
	"wasp/schemas"
	"wasp/stream"
)

// Alerter watches the health of a deployment and tells operators when
// something needs them. Every Interval it evaluates its rules over the
// last minutes of the events topic and over the signals of the stages that
// run in its process (the ingester's webhook answers, the consumer groups'
// lag). An alert that starts firing is written to the events topic (so it
// lands in ClickHouse and the dashboard like any event), posted to the
// notification webhook, and counted in the metrics; so is its resolution.
// A rule that fires again for the same subject within Cooldown of its last
// notice is not notified again.
//
// With StatePath the rules' states and the numbers' recent minutes
// outlive a restart (alertCheckpoint); without it a restart raises an
// alert still firing once more.
type Alerter struct {
	cfg    AlertConfig
	log    stream.Log
	lagger stream.Lagger

	mu       sync.Mutex
	series   map[string]*series // by tenant and number
	webhooks []webhookSample
	lag      map[string]int64 // by group, at the last evaluation
	state    map[string]*alertState
	started  time.Time // when Run started, by the clock
	dirty    bool      // counted or changed since the state was saved

	notify chan schemas.Event
	client *http.Client
}

// AlertConfig configures the alert loop. The zero value evaluates the
// event rules every 30 s with the default thresholds and notifies nobody.
type AlertConfig struct {
	// Topic is the events topic; Group the consumer group reading it.
	// Empty means schemas.TopicEvents and "wasp-alerts".
	Topic, Group string
	// Interval between evaluations; zero means 30 s.
	Interval time.Duration
	// Cooldown is the least time between two notices of one rule for one
	// subject; zero means 30 minutes.
	Cooldown time.Duration
	// StatePath is the file that keeps the rules' states and the
	// numbers' recent minutes across restarts (cmd/wasp: alerts.json in
	// the data directory); empty keeps them in memory only.
	StatePath string
	// NotifyURL receives each alert and resolution as Slack-compatible
	// JSON ({"text": …}); empty notifies nobody.
	NotifyURL string
	Rules     AlertRules
	// Limits are the numbers' send limits in messages per second, by
	// phone_number_id, for the pace rule; a number not listed has Meta's
	// default of 80.
	Limits map[string]float64
	// Webhooks reads the ingester's answers (ingest.WebhookCounts) when it
	// runs in this process; nil leaves the webhook rule out.
	Webhooks func() (ok, refused uint64)
	// Lag names the consumer groups to watch, with their topics.
	Lag    map[string][]string
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AlertRules are the thresholds. Zero values take the defaults; a
// negative value turns its rule off.
type AlertRules struct {
	// WebhookErrorRate: share of webhook POSTs refused over 5 minutes
	// (default 0.10, from 20 requests).
	WebhookErrorRate float64 `yaml:"webhook_error_rate"`
	// DeliveryFailureRate: share of a number's sends that failed (at send
	// or by a failed status) over 15 minutes (default 0.10, from 20 sends).
	DeliveryFailureRate float64 `yaml:"delivery_failure_rate"`
	// PaceUsage: a number's sends in the last full minute as a share of its
	// limit (default 0.90).
	PaceUsage float64 `yaml:"pace_usage"`
	// LLMErrorRate: share of bot decisions that failed over 15 minutes
	// (default 0.20, from 10 decisions).
	LLMErrorRate float64 `yaml:"llm_error_rate"`
	// Lag: records a consumer group is behind (default 50,000).
	Lag int64 `yaml:"lag"`
	// Silence: no webhook event of a number for this long while the hour
	// before it had at least SilenceMinEvents (defaults 30 minutes, 30).
	Silence          time.Duration `yaml:"silence"`
	SilenceMinEvents int64         `yaml:"silence_min_events"`
}

func (r AlertRules) withDefaults() AlertRules {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&r.WebhookErrorRate, 0.10)
	def(&r.DeliveryFailureRate, 0.10)
	def(&r.PaceUsage, 0.90)
	def(&r.LLMErrorRate, 0.20)
	if r.Lag == 0 {
		r.Lag = 50_000
	}
	if r.Silence == 0 {
		r.Silence = 30 * time.Minute
	}
	if r.SilenceMinEvents == 0 {
		r.SilenceMinEvents = 30
	}
	return r
}

// Rule names, as alerts and metrics carry them.
const (
	RuleWebhookErrors   = "webhook_error_rate"
	RuleDeliveryFailure = "delivery_failure_rate"
	RulePace            = "pace_usage"
	RuleLLMErrors       = "llm_error_rate"
	RuleLag             = "consumer_lag"
	RuleSilence         = "silence"
	RuleTokenErrors     = "token_errors"
	RuleAccount         = "account_health"
)

var ruleNames = []string{RuleWebhookErrors, RuleDeliveryFailure, RulePace, RuleLLMErrors, RuleLag,
	RuleSilence, RuleTokenErrors, RuleAccount}

var (
	alertsRaised   = map[string]*metrics.Counter{}
	alertsFiring   = map[string]*firingGauge{}
	notifySent     = metrics.NewCounter(`wasp_alert_notifications_total{outcome="sent"}`)
	notifyFailed   = metrics.NewCounter(`wasp_alert_notifications_total{outcome="failed"}`)
	notifyDropped  = metrics.NewCounter(`wasp_alert_notifications_total{outcome="dropped"}`)
	alertsCooldown = metrics.NewCounter(`wasp_alerts_suppressed_total`)
)

// firingGauge is the number of subjects a rule fires for.
type firingGauge struct{ n atomic.Int64 }

func init() {
	for _, r := range ruleNames {
		alertsRaised[r] = metrics.NewCounter(`wasp_alerts_raised_total{rule="` + r + `"}`)
		g := &firingGauge{}
		alertsFiring[r] = g
		metrics.NewGauge(`wasp_alerts_firing{rule="`+r+`"}`, func() float64 { return float64(g.n.Load()) })
	}
}

// NewAlerter builds the alert loop over log.
func NewAlerter(cfg AlertConfig, log stream.Log) *Alerter {
	if cfg.Topic == "" {
		cfg.Topic = schemas.TopicEvents
	}
	if cfg.Group == "" {
		cfg.Group = "wasp-alerts"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Rules = cfg.Rules.withDefaults()
	a := &Alerter{cfg: cfg, log: log, series: map[string]*series{}, lag: map[string]int64{},
		state: map[string]*alertState{}, notify: make(chan schemas.Event, 256),
		client: &http.Client{Timeout: 10 * time.Second}}
	a.lagger, _ = log.(stream.Lagger)
	for group := range cfg.Lag {
		metrics.GetOrCreateGauge(`wasp_consumer_lag_records{group="`+group+`"}`, func() float64 {
			a.mu.Lock()
			defer a.mu.Unlock()
			return float64(a.lag[group])
		})
	}
	return a
}

// Run reads the events and evaluates the rules until ctx ends.
func (a *Alerter) Run(ctx context.Context) error {
	c, err := a.log.Consume(a.cfg.Group, a.cfg.Topic)
	if err != nil {
		return fmt.Errorf("cannot consume %s: %w", a.cfg.Topic, err)
	}
	defer c.Close()
	a.started = a.cfg.Now()
	if err := a.loadState(); err != nil {
		a.cfg.Logger.Warn("the alerts start afresh: alerts still firing are raised again", "err", err)
	}
	defer a.stopFiring()
	if a.cfg.Webhooks != nil {
		ok, refused := a.cfg.Webhooks()
		a.webhooks = append(a.webhooks, webhookSample{at: a.cfg.Now(), ok: ok, refused: refused})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.notifyLoop(ctx) }()
	defer wg.Wait()
	read := map[int32]stream.Offset{} // by partition, not yet committed
	warn := logs.Throttle{Every: time.Minute}
	return stream.Pump(ctx, c, 10_000, a.cfg.Interval, func(recs []*stream.Record) {
		for _, r := range recs {
			var e schemas.Event
			if json.Unmarshal(r.Value, &e) == nil {
				a.observe(&e)
			}
			read[r.Partition] = r.NextOffset()
		}
	}, func() {
		if err := a.Evaluate(ctx); err != nil && ctx.Err() == nil && warn.Allow() {
			a.cfg.Logger.Warn("cannot evaluate every alert rule", "err", err)
		}
		// The state first, then the offsets: what the state lacks is read
		// again after a restart.
		if err := a.saveState(a.cfg.Now()); err != nil {
			if warn.Allow() {
				a.cfg.Logger.Warn("cannot save the alerts' state; the events are read again after a restart", "err", err)
			}
			return
		}
		offs := make([]stream.Offset, 0, len(read))
		for _, o := range read {
			offs = append(offs, o)
		}
		if len(offs) > 0 && c.Commit(ctx, offs...) == nil {
			clear(read)
		}
	})
}

// stopFiring takes the alerts of a stopped loop out of the firing gauges.
func (a *Alerter) stopFiring() {
	for k, st := range a.state {
		if st.firing {
			rule, _, _ := strings.Cut(k, "\x00")
			alertsFiring[rule].n.Add(-1)
			st.firing = false
		}
	}
}

// minuteCounts are the facts of one tenant's number in one minute.
type minuteCounts struct {
	webhooks     int64 // inbound messages and statuses
	accepted     int64 // sends Meta accepted, read receipts included
	replies      int64 // accepted sends that are not read receipts
	sendFailed   int64
	statusFailed int64
	tokenErrors  int64 // sends refused for the access token (190)
	decisions    int64 // bot decisions
	llmErrors    int64 // decisions the model failed
	adverse      int64 // account events that need an operator
	account      string
}

func (m *minuteCounts) add(o *minuteCounts) {
	m.webhooks += o.webhooks
	m.accepted += o.accepted
	m.replies += o.replies
	m.sendFailed += o.sendFailed
	m.statusFailed += o.statusFailed
	m.tokenErrors += o.tokenErrors
	m.decisions += o.decisions
	m.llmErrors += o.llmErrors
	m.adverse += o.adverse
	if o.account != "" {
		m.account = o.account
	}
}

// series keeps a number's last minutes in a ring.
type series struct {
	tenant, number string
	minutes        []int64 // Unix minute each slot holds
	counts         []minuteCounts
}

func (s *series) at(minute int64) *minuteCounts {
	i := int(minute % int64(len(s.minutes)))
	if s.minutes[i] != minute {
		s.minutes[i], s.counts[i] = minute, minuteCounts{}
	}
	return &s.counts[i]
}

// sum adds the minutes in [from, to).
func (s *series) sum(from, to int64) minuteCounts {
	var out minuteCounts
	for i, m := range s.minutes {
		if m >= from && m < to {
			out.add(&s.counts[i])
		}
	}
	return out
}

// ring is how many minutes a series keeps: the silence window and the hour
// before it, at least two hours.
func (a *Alerter) ring() int64 {
	return max(120, int64(a.cfg.Rules.Silence/time.Minute)+61)
}

// observe counts an event in its minute.
func (a *Alerter) observe(e *schemas.Event) {
	minute := e.Time.Unix() / 60
	now := a.cfg.Now().Unix() / 60
	if minute <= now-a.ring() || minute > now+1 {
		return // outside every window
	}
	var c minuteCounts
	switch e.Kind {
	case schemas.EventInbound, schemas.EventStatus:
		c.webhooks = 1
		if e.Status == "failed" {
			c.statusFailed = 1
		}
	case schemas.EventSendAccepted:
		c.accepted = 1
		if e.MessageType != "read" {
			c.replies = 1
		}
	case schemas.EventSendFailed:
		if e.MessageType != "read" {
			c.sendFailed = 1
		}
		if e.ErrorCode == 190 {
			c.tokenErrors = 1
		}
	case schemas.EventBotReply:
		c.decisions = 1
	case schemas.EventHandoff:
		if strings.HasPrefix(e.Reason, "llm") {
			c.llmErrors, c.decisions = 1, 1
		}
	case schemas.EventAccount:
		if e.Status == schemas.StatusAdverse {
			c.adverse, c.account = 1, e.Reason
		}
	default:
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seriesOf(e.Tenant, e.PhoneNumberID).at(minute).add(&c)
	a.dirty = true
}

// seriesOf returns the series of a tenant's number, made if new. Call it
// with a.mu held.
func (a *Alerter) seriesOf(tenant, number string) *series {
	k := tenant + "\x00" + number
	s := a.series[k]
	if s == nil {
		n := a.ring()
		s = &series{tenant: tenant, number: number, minutes: make([]int64, n), counts: make([]minuteCounts, n)}
		for i := range s.minutes {
			s.minutes[i] = -1
		}
		a.series[k] = s
	}
	return s
}

type webhookSample struct {
	at          time.Time
	ok, refused uint64
}

// finding is a rule firing for a subject.
type finding struct {
	rule, tenant, number, subject string
	code                          int
	message                       string
}

// Evaluate runs every rule once, raises what started firing and resolves
// what stopped.
func (a *Alerter) Evaluate(ctx context.Context) error {
	now := a.cfg.Now()
	var found []finding
	var errs []error
	found = append(found, a.eventRules(now)...)
	found = append(found, a.webhookRule(now)...)
	lag, err := a.lagRule(ctx)
	found = append(found, lag...)
	errs = append(errs, err)
	// A rule that cannot judge now resolves nothing: the lag rule when
	// the positions could not be read, the webhook rule until its window
	// has passed since the start (its counters start again at zero, and
	// an alert it raised before a restart may still be on).
	unjudged := map[string]bool{RuleLag: err != nil, RuleWebhookErrors: now.Sub(a.started) < webhookWindow}
	return errors.Join(append(errs, a.transition(ctx, now, found, unjudged))...)
}

// webhookWindow is the webhook rule's window.
const webhookWindow = 5 * time.Minute

func (a *Alerter) eventRules(now time.Time) []finding {
	r := a.cfg.Rules
	m := now.Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []finding
	fire := func(s *series, rule string, code int, format string, args ...any) {
		out = append(out, finding{rule: rule, tenant: s.tenant, number: s.number, subject: s.tenant + "/" + s.number,
			code: code, message: fmt.Sprintf(format, args...)})
	}
	for _, s := range a.series {
		last15 := s.sum(m-14, m+1)
		if sends := last15.replies + last15.sendFailed; r.DeliveryFailureRate > 0 && sends >= 20 {
			failed := last15.sendFailed + last15.statusFailed
			if rate := float64(failed) / float64(sends); rate > r.DeliveryFailureRate {
				fire(s, RuleDeliveryFailure, 0, "%.0f%% of %d sends failed in 15m (limit %.0f%%)", 100*rate, sends, 100*r.DeliveryFailureRate)
			}
		}
		if r.LLMErrorRate > 0 && last15.decisions >= 10 {
			if rate := float64(last15.llmErrors) / float64(last15.decisions); rate > r.LLMErrorRate {
				fire(s, RuleLLMErrors, 0, "the model failed %.0f%% of %d bot decisions in 15m (limit %.0f%%)", 100*rate, last15.decisions, 100*r.LLMErrorRate)
			}
		}
		if s.number != "" && r.PaceUsage > 0 {
			limit := a.cfg.Limits[s.number]
			if limit <= 0 {
				limit = 80
			}
			if used := float64(s.sum(m-1, m).accepted) / 60 / limit; used > r.PaceUsage {
				fire(s, RulePace, 0, "sent at %.0f%% of the number's %.0f messages/s in the last minute (limit %.0f%%)", 100*used, limit, 100*r.PaceUsage)
			}
		}
		if last5 := s.sum(m-4, m+1); last5.tokenErrors > 0 {
			fire(s, RuleTokenErrors, 190, "%d sends refused in 5m for the access token (190): renew the tenant's token", last5.tokenErrors)
		}
		if hour := s.sum(m-59, m+1); hour.adverse > 0 {
			fire(s, RuleAccount, 0, "Meta reported %s", hour.account)
		}
		if s.number != "" && r.Silence > 0 {
			w := int64(r.Silence / time.Minute)
			quiet, before := s.sum(m-w+1, m+1), s.sum(m-w-59, m-w+1)
			if quiet.webhooks == 0 && before.webhooks >= r.SilenceMinEvents {
				fire(s, RuleSilence, 0, "no webhook for %s after %d in the hour before: check the app's subscription and Meta's status", r.Silence, before.webhooks)
			}
		}
	}
	return out
}

func (a *Alerter) webhookRule(now time.Time) []finding {
	if a.cfg.Webhooks == nil || a.cfg.Rules.WebhookErrorRate < 0 {
		return nil
	}
	ok, refused := a.cfg.Webhooks()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.webhooks = append(a.webhooks, webhookSample{at: now, ok: ok, refused: refused})
	// Keep the samples of the last 5 minutes and the one just before.
	for len(a.webhooks) > 2 && now.Sub(a.webhooks[1].at) >= webhookWindow {
		a.webhooks = a.webhooks[1:]
	}
	first := a.webhooks[0]
	dOK, dRefused := ok-first.ok, refused-first.refused
	if total := dOK + dRefused; total >= 20 {
		if rate := float64(dRefused) / float64(total); rate > a.cfg.Rules.WebhookErrorRate {
			return []finding{{rule: RuleWebhookErrors, subject: "webhooks", message: fmt.Sprintf(
				"%.0f%% of %d webhook requests refused in %s (limit %.0f%%): check the app secret, the disk and the log",
				100*rate, total, max(now.Sub(first.at), time.Second).Round(time.Second), 100*a.cfg.Rules.WebhookErrorRate)}}
		}
	}
	return nil
}

func (a *Alerter) lagRule(ctx context.Context) ([]finding, error) {
	if a.lagger == nil || a.cfg.Rules.Lag < 0 {
		return nil, nil
	}
	var out []finding
	var errs []error
	for group, topics := range a.cfg.Lag {
		ps, err := a.lagger.Positions(ctx, group, topics...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n := stream.Lag(ps)
		a.mu.Lock()
		a.lag[group] = n
		a.mu.Unlock()
		if n > a.cfg.Rules.Lag {
			out = append(out, finding{rule: RuleLag, subject: group, message: fmt.Sprintf(
				"consumer group %s is %d records behind (limit %d)", group, n, a.cfg.Rules.Lag)})
		}
	}
	return out, errors.Join(errs...)
}

// alertState is one rule's state for one subject.
type alertState struct {
	firing   bool
	notified bool // this firing was raised
	since    time.Time
	lastSent time.Time
}

// transition raises the findings that start firing and resolves the
// alerts not found any more.
func (a *Alerter) transition(ctx context.Context, now time.Time, found []finding, unjudged map[string]bool) error {
	seen := map[string]bool{}
	var out []schemas.Event
	changed := false // a rule started or stopped firing
	defer func() {
		if changed {
			a.mu.Lock()
			a.dirty = true
			a.mu.Unlock()
		}
	}()
	for _, f := range found {
		k := f.rule + "\x00" + f.subject
		seen[k] = true
		st := a.state[k]
		if st == nil {
			st = &alertState{}
			a.state[k] = st
		}
		if st.firing {
			continue
		}
		st.firing, st.since, changed = true, now, true
		alertsFiring[f.rule].n.Add(1)
		if !st.lastSent.IsZero() && now.Sub(st.lastSent) < a.cfg.Cooldown {
			st.notified = false
			alertsCooldown.Inc()
			continue
		}
		st.notified, st.lastSent = true, now
		alertsRaised[f.rule].Inc()
		out = append(out, alertEvent(f, schemas.AlertFiring, now, st.since))
	}
	keys := make([]string, 0, len(a.state))
	for k := range a.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st := a.state[k]
		rule, subject, _ := strings.Cut(k, "\x00")
		if !st.firing || seen[k] || unjudged[rule] {
			continue
		}
		st.firing, changed = false, true
		alertsFiring[rule].n.Add(-1)
		if st.notified {
			tenant, number, _ := strings.Cut(subject, "/")
			out = append(out, alertEvent(finding{rule: rule, subject: subject, tenant: tenant, number: number,
				message: "resolved after " + now.Sub(st.since).Round(time.Second).String()}, schemas.AlertResolved, now, st.since))
		}
	}
	if len(out) == 0 {
		return nil
	}
	recs := make([]*stream.Record, len(out))
	for i, e := range out {
		v, _ := json.Marshal(e)
		recs[i] = &stream.Record{Topic: a.cfg.Topic, Key: []byte(e.PhoneNumberID), Value: v}
		a.cfg.Logger.Warn("alert", "rule", strings.SplitN(e.Reason, ":", 2)[0], "status", e.Status,
			"tenant", e.Tenant, "phone_number_id", e.PhoneNumberID)
		if a.cfg.NotifyURL != "" {
			select {
			case a.notify <- e:
			default:
				notifyDropped.Inc()
			}
		}
	}
	if err := a.log.Append(ctx, recs...); err != nil {
		return fmt.Errorf("cannot write %d alert events: %w", len(recs), err)
	}
	return nil
}

// alertEvent is the event of a firing or resolved alert: Reason is
// "rule: what", the ID the same for the same episode.
func alertEvent(f finding, status string, now, since time.Time) schemas.Event {
	return schemas.Event{
		ID:   schemas.EventID("alert", f.rule, f.subject, status, strconv.FormatInt(since.UnixNano(), 10)),
		Kind: schemas.EventAlert, Time: now.UTC(), Tenant: f.tenant, PhoneNumberID: f.number,
		Status: status, ErrorCode: f.code, Reason: f.rule + ": " + f.message,
	}
}

// notifyLoop posts alerts to the notification webhook, each tried three
// times before it is counted failed.
func (a *Alerter) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-a.notify:
			var err error
			for attempt := range 3 {
				if attempt > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Duration(attempt) * time.Second):
					}
				}
				if err = a.post(ctx, e); err == nil {
					break
				}
			}
			if err != nil {
				notifyFailed.Inc()
				a.cfg.Logger.Warn("cannot notify an alert", "err", err)
				continue
			}
			notifySent.Inc()
		}
	}
}

// post sends one Slack-compatible message. The URL is a secret of its
// own (Slack's carry a token): errors do not name it.
func (a *Alerter) post(ctx context.Context, e schemas.Event) error {
	body, _ := json.Marshal(map[string]any{"text": NoticeText(e), "wasp_alert": e})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("the notification URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return errors.New("the notification webhook timed out")
		}
		return errors.New("the notification webhook does not answer")
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the notification webhook answered %d", resp.StatusCode)
	}
	return nil
}

// NoticeText is the one-line notice of an alert event.
func NoticeText(e schemas.Event) string {
	where := e.Tenant
	if e.PhoneNumberID != "" {
		where += " number " + e.PhoneNumberID
	}
	if where != "" {
		where = " [" + strings.TrimSpace(where) + "]"
	}
	return "wasp " + strings.ToUpper(e.Status) + where + " " + e.Reason
}
