// Package sender is the stage that sends: it reads send commands from the
// outbound topic and posts them to Meta's Graph API within Meta's limits
// (per-number throughput, per-recipient pair limit, messaging-limit tier,
// the 24-hour window, marketing opt-outs), retries what is retryable, dead-
// letters the rest, and never sends a command twice. It also holds the
// Graph API client.
package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"wasp/schemas"
	"wasp/stream"
)

// Graph is the part of the Graph API client the stage uses.
type Graph interface {
	Send(ctx context.Context, token, phoneNumberID string, body []byte) (*SendResponse, error)
}

var _ Graph = (*GraphClient)(nil)

// Number is what the sender knows of one business phone number.
type Number struct {
	Tenant string
	// Token is the Graph API access token to send with.
	Token string
	// ThroughputMPS is the number's pace; zero means Config.ThroughputMPS.
	ThroughputMPS float64
	// Portfolio shares a messaging limit between numbers; empty means the
	// tenant.
	Portfolio string
	// MessagingLimit is the portfolio's unique users per rolling 24 hours
	// for business-initiated messages (250, 2000, 10000, 100000); zero
	// means unlimited.
	MessagingLimit int
}

// PairLimit is Meta's per-recipient limit: Burst messages, then one per
// Interval.
type PairLimit = pairLimit

// Config configures the stage. The zero value works with DataDir and a
// token (DefaultToken or Numbers) set.
type Config struct {
	// Group is the consumer group. Empty means "wasp-sender".
	Group string
	// Topics; empty means the schemas defaults.
	Topic, EventsTopic, DLQTopic, WebhooksTopic string
	// DataDir holds the ledger of sent commands.
	DataDir string
	// Numbers by phone_number_id; DefaultToken sends for numbers not
	// listed.
	Numbers      map[string]Number
	DefaultToken string
	// ThroughputMPS paces numbers that set none. Zero means 80 (Meta's
	// standard level); negative means no pacing.
	ThroughputMPS float64
	// PairLimit; zero means 45 then one per 6 s.
	PairLimit PairLimit
	// BackoffUnit is X's unit in the 4^X backoff after 131056. Zero means a
	// second.
	BackoffUnit time.Duration
	// MaxAttempts bounds tries of retryable failures. Zero means 5.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff (with jitter).
	// Zero means 1 s and 30 s.
	RetryBase, RetryMax time.Duration
	// SettleDelay is how long a send whose outcome is unknown (the process
	// died, or the request timed out) waits for a status webhook before it
	// is sent again. Zero means 20 s.
	SettleDelay time.Duration
	// SendTimeout bounds one Graph API call. Zero means 15 s.
	SendTimeout time.Duration
	// MaxInFlight bounds concurrent requests per number. Zero means 256.
	MaxInFlight int
	// BatchSize is how many commands one fetch takes. Zero means 1024.
	BatchSize int
	// LedgerTTL is how long sent command ids are remembered. Zero means 7
	// days.
	LedgerTTL time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Sender is the stage.
type Sender struct {
	cfg    Config
	log    stream.Log
	graph  Graph
	ledger *ledger
	logger *slog.Logger
	track  *stream.Tracker

	mu     sync.Mutex
	lanes  map[string]*lane
	active map[string]bool // command ids being handled in this run
	reach  map[string]map[string]time.Time

	toMark  chan markBatch // lanes → marker
	toApply chan effects   // lanes → applier

	settled settleProgress // how far the status webhooks were read

	wg    sync.WaitGroup // lanes
	loops sync.WaitGroup // marker and applier
}

var (
	sendsAccepted = metrics.NewCounter(`wasp_sender_sends_total{outcome="accepted"}`)
	sendsFailed   = metrics.NewCounter(`wasp_sender_sends_total{outcome="failed"}`)
	sendsRetried  = metrics.NewCounter(`wasp_sender_sends_total{outcome="retried"}`)
	sendsSkipped  = metrics.NewCounter(`wasp_sender_commands_total{outcome="already_sent"}`)
	sendsSettled  = metrics.NewCounter(`wasp_sender_commands_total{outcome="settled_by_status"}`)
	throttled     = metrics.NewCounter(`wasp_sender_throttled_total`)
	sendLatency   = metrics.NewPrometheusHistogram(`wasp_sender_send_duration_seconds`)
)

// New checks cfg and opens the ledger.
func New(cfg Config, log stream.Log, graph Graph) (*Sender, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("cannot start the sender: no data directory (set WASP_DATA_DIR)")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.Group, "wasp-sender")
	def(&cfg.Topic, schemas.TopicOutbound)
	def(&cfg.EventsTopic, schemas.TopicEvents)
	def(&cfg.DLQTopic, schemas.TopicDLQ)
	def(&cfg.WebhooksTopic, schemas.TopicWebhooks)
	if cfg.ThroughputMPS == 0 {
		cfg.ThroughputMPS = 80
	}
	if cfg.PairLimit.Burst <= 0 {
		cfg.PairLimit = PairLimit{Burst: 45, Interval: 6 * time.Second}
	}
	durations := []struct {
		d *time.Duration
		v time.Duration
	}{{&cfg.BackoffUnit, time.Second}, {&cfg.RetryBase, time.Second}, {&cfg.RetryMax, 30 * time.Second},
		{&cfg.SettleDelay, 20 * time.Second}, {&cfg.SendTimeout, 15 * time.Second}, {&cfg.LedgerTTL, 7 * 24 * time.Hour}}
	for _, x := range durations {
		if *x.d <= 0 {
			*x.d = x.v
		}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l, err := openLedger(cfg.DataDir, cfg.LedgerTTL, cfg.Logger)
	if err != nil {
		return nil, err
	}
	reach, err := l.loadReach()
	if err != nil {
		l.close()
		return nil, fmt.Errorf("cannot load the messaging-limit counts: %w", err)
	}
	return &Sender{cfg: cfg, log: log, graph: graph, ledger: l, logger: cfg.Logger,
		track: stream.NewTracker(), lanes: map[string]*lane{}, active: map[string]bool{}, reach: reach,
		toMark: make(chan markBatch, 1024), toApply: make(chan effects, 1024)}, nil
}

// Run consumes commands until ctx ends, then lets the sends in flight
// finish, commits what is done and closes the ledger.
func (s *Sender) Run(ctx context.Context) error {
	defer s.ledger.close()
	c, err := s.log.Consume(s.cfg.Group, s.cfg.Topic)
	if err != nil {
		return fmt.Errorf("cannot consume %s: %w", s.cfg.Topic, err)
	}
	defer c.Close()
	settleCtx, stopSettle := context.WithCancel(context.Background())
	settleDone := make(chan error, 1)
	go func() { settleDone <- s.settleLoop(settleCtx) }()

	s.loops.Add(2)
	go s.markLoop()
	go s.applyLoop()
	laneCtx, stopLanes := context.WithCancel(context.Background())
	err = stream.Pump(ctx, c, s.cfg.BatchSize, 200*time.Millisecond,
		func(recs []*stream.Record) { s.dispatch(laneCtx, recs) },
		func() { s.commit(ctx, c) })
	var runErr error
	if err != nil {
		runErr = fmt.Errorf("cannot fetch commands: %w", err)
	}
	stopLanes()
	s.wg.Wait() // lanes wait for their requests in flight
	close(s.toMark)
	close(s.toApply)
	s.loops.Wait()
	s.commit(context.Background(), c)
	stopSettle()
	<-settleDone
	return runErr
}

func (s *Sender) commit(ctx context.Context, c stream.Consumer) {
	if err := stream.CommitDone(ctx, c, s.track, nil); err != nil && ctx.Err() == nil {
		s.logger.Warn("cannot commit the sender's offsets; they are committed again later", "err", err)
	}
}

// job is one command on its way.
type job struct {
	rec      *stream.Record
	cmd      *schemas.SendCommand
	body     []byte // the Graph body to post
	attempt  int
	recheck  bool      // outcome unknown: look at the ledger before sending
	settleBy time.Time // with recheck: the status webhooks up to then must be read first
	due      time.Time // not before
	start    time.Time // first try, for latency
	isRead   bool      // a read receipt: not paced, in the ledger once done
	typ      string    // the message's type
	category string
}

// dispatch decodes a fetched batch, drops what the ledger already sent,
// applies the checks that need no Graph call, and queues the rest on
// their number's lane.
func (s *Sender) dispatch(ctx context.Context, recs []*stream.Record) {
	var jobs []*job
	var ids []string
	var out []*stream.Record // dead letters and events of this batch
	var done []*stream.Record
	failed := map[string]entry{}
	for _, r := range recs {
		s.track.Add(r)
		cmd := &schemas.SendCommand{}
		if err := json.Unmarshal(r.Value, cmd); err != nil || cmd.ID == "" || cmd.PhoneNumberID == "" {
			reason := "send command is not valid JSON with id and phone_number_id"
			if err != nil {
				reason += ": " + err.Error()
			}
			out = append(out, s.deadLetter(r, cmd, reason, 0))
			done = append(done, r)
			continue
		}
		s.mu.Lock()
		dup := s.active[cmd.ID]
		s.active[cmd.ID] = true
		s.mu.Unlock()
		if dup {
			sendsSkipped.Inc()
			done = append(done, r)
			continue
		}
		// A job may wait minutes (pace, pair limit, retries): it keeps its
		// own copy of the record, not the fetch's buffer.
		jobs = append(jobs, &job{rec: r.Detach(), cmd: cmd, attempt: cmd.Attempt, due: cmd.NotBefore, start: time.Now()})
		ids = append(ids, cmd.ID)
	}
	known, err := s.ledger.lookup(ids)
	if err != nil {
		// Without the ledger nothing may be sent: wait for it to come back.
		s.logger.Error("cannot read the ledger; holding commands", "err", err)
		for _, j := range jobs {
			j.recheck, j.due = true, time.Now().Add(time.Second)
			j.settleBy = j.due
		}
	}
	now := time.Now()
	var queued []*job
	for _, j := range jobs {
		e, ok := known[j.cmd.ID]
		switch {
		case ok && (e.state == stateSent || e.state == stateFailed):
			sendsSkipped.Inc()
			s.forget(j.cmd.ID)
			done = append(done, j.rec)
			continue
		case ok && e.state == stateInFlight:
			// Sent by a process that died before it saw the answer.
			j.recheck = true
			j.due = maxTime(j.due, e.at.Add(s.cfg.SettleDelay))
			j.settleBy = j.due
		}
		if reason, code := s.check(j, now); reason != "" {
			out = append(out, s.deadLetter(j.rec, j.cmd, reason, code))
			out = append(out, s.event(j, schemas.EventSendFailed, code, "", reason))
			failed[j.cmd.ID] = entry{state: stateFailed}
			s.forget(j.cmd.ID)
			done = append(done, j.rec)
			continue
		}
		queued = append(queued, j)
	}
	if len(out) > 0 {
		if err := s.log.Append(context.Background(), out...); err != nil {
			s.logger.Error("cannot write dead letters; the commands are read again after a restart", "err", err)
			done, failed = nil, nil // not done: their effects are not durable
		}
	}
	if err := s.ledger.mark(failed); err != nil {
		s.logger.Warn("cannot record dead-lettered commands in the ledger; a replay dead-letters them again", "err", err)
	}
	for _, r := range done {
		s.track.Done(r)
	}
	for _, j := range queued {
		s.lane(ctx, j.cmd.PhoneNumberID).in <- j
	}
}

// check applies what can be decided before any call: a token to send
// with, a valid body, the 24-hour window, the opt-out and the messaging
// limit. It returns a reason to dead-letter, or "".
func (s *Sender) check(j *job, now time.Time) (reason string, code int) {
	cmd := j.cmd
	if s.number(cmd.PhoneNumberID).Token == "" {
		return "no access token for this phone number (set WASP_ACCESS_TOKEN or the tenant's access_token)", 0
	}
	typ := cmd.MessageType()
	j.typ = typ
	j.isRead = typ == "read"
	if !j.isRead && cmd.UserKey() == "" {
		return "send command has neither to nor recipient", 0
	}
	if typ != "template" && !j.isRead && !cmd.WindowOpenUntil.IsZero() && now.After(cmd.WindowOpenUntil) {
		if len(cmd.FallbackTemplate) == 0 {
			return "outside the 24-hour customer service window: free-form messages cannot be sent (configure a fallback template)", 131047
		}
		cmd.Message, typ, j.typ = cmd.FallbackTemplate, "template", "template"
	}
	if typ == "template" {
		j.category = strings.ToLower(cmd.Category)
		if j.category == "marketing" && (s.ledger.optedOut(cmd.PhoneNumberID, cmd.To) || s.ledger.optedOut(cmd.PhoneNumberID, cmd.Recipient)) {
			return "the user opted out of marketing messages", 131050
		}
		if cmd.WindowOpenUntil.IsZero() || now.After(cmd.WindowOpenUntil) {
			if reason := s.admit(cmd, now); reason != "" {
				return reason, 0
			}
		}
	}
	body, err := s.body(cmd, j.isRead)
	if err != nil {
		return err.Error(), 0
	}
	j.body = body
	return "", 0
}

// admit counts a business-initiated send against the portfolio's
// messaging limit: unique users per rolling 24 hours.
func (s *Sender) admit(cmd *schemas.SendCommand, now time.Time) string {
	n := s.number(cmd.PhoneNumberID)
	if n.MessagingLimit <= 0 {
		return ""
	}
	portfolio := n.Portfolio
	if portfolio == "" {
		portfolio = n.Tenant
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	users := s.reach[portfolio]
	if users == nil {
		users = map[string]time.Time{}
		s.reach[portfolio] = users
	}
	user := cmd.UserKey()
	if t, ok := users[user]; ok && now.Sub(t) < 24*time.Hour {
		return ""
	}
	if len(users) >= n.MessagingLimit {
		for u, t := range users {
			if now.Sub(t) >= 24*time.Hour {
				delete(users, u)
			}
		}
	}
	if len(users) >= n.MessagingLimit {
		return fmt.Sprintf("messaging limit reached: %d unique users in 24 hours outside the service window (tier %d)", len(users), n.MessagingLimit)
	}
	users[user] = now
	if err := s.ledger.recordReach(portfolio, user, now); err != nil {
		s.logger.Warn("cannot persist a messaging-limit count", "err", err)
	}
	return ""
}

// body builds the Graph body of a command: the command's message with the
// recipient and the callback data, checked against Meta's limits.
func (s *Sender) body(cmd *schemas.SendCommand, isRead bool) ([]byte, error) {
	if isRead {
		if err := ValidateBody(cmd.Message); err != nil {
			return nil, err
		}
		return CompleteBody(cmd.Message, Recipient{}, BodyOptions{})
	}
	return CompleteBody(cmd.Message, Recipient{Phone: cmd.To, BSUID: cmd.Recipient},
		BodyOptions{CallbackData: schemas.Callback{CommandID: cmd.ID, ReplyTo: cmd.ReplyTo}.Encode()})
}

func (s *Sender) number(id string) Number {
	if n, ok := s.cfg.Numbers[id]; ok {
		if n.Token == "" {
			n.Token = s.cfg.DefaultToken
		}
		return n
	}
	return Number{Token: s.cfg.DefaultToken}
}

func (s *Sender) forget(id string) {
	s.mu.Lock()
	delete(s.active, id)
	s.mu.Unlock()
}

// lane returns the number's lane, starting it on first use.
func (s *Sender) lane(ctx context.Context, number string) *lane {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes[number]
	if l == nil {
		n := s.number(number)
		mps := n.ThroughputMPS
		if mps == 0 {
			mps = s.cfg.ThroughputMPS
		}
		l = newLane(s, number, n.Token, mps)
		s.lanes[number] = l
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			l.run(ctx)
		}()
	}
	return l
}

// deadLetter builds the dead-letter record of a command.
func (s *Sender) deadLetter(r *stream.Record, cmd *schemas.SendCommand, reason string, code int) *stream.Record {
	hdrs := []stream.Header{
		{Key: schemas.HeaderReason, Value: []byte(reason)},
		{Key: schemas.HeaderSource, Value: []byte("sender")},
	}
	if code != 0 {
		hdrs = append(hdrs, stream.Header{Key: "code", Value: fmt.Append(nil, code)})
	}
	key := r.Key
	if cmd != nil && cmd.PhoneNumberID != "" {
		key = []byte(cmd.PhoneNumberID)
	}
	return &stream.Record{Topic: s.cfg.DLQTopic, Key: key, Value: r.Value, Headers: hdrs}
}

// event builds an event record about a job.
func (s *Sender) event(j *job, kind string, code int, wamid, reason string) *stream.Record {
	cmd := j.cmd
	e := schemas.Event{
		ID:   schemas.EventID(kind, cmd.ID, fmt.Sprint(j.attempt)),
		Kind: kind, Time: time.Now().UTC(), Tenant: s.number(cmd.PhoneNumberID).Tenant,
		PhoneNumberID: cmd.PhoneNumberID, User: cmd.UserKey(), Wamid: wamid, CommandID: cmd.ID,
		MessageType: j.typ, Origin: cmd.Origin, ErrorCode: code, Reason: reason,
		Attempt: j.attempt,
	}
	if code != 0 {
		e.ErrorClass = string(schemas.ClassOf(code))
	}
	if kind == schemas.EventSendAccepted {
		e.LatencyMs = time.Since(j.start).Milliseconds()
		if !cmd.ReceivedAt.IsZero() {
			e.ResponseMs = time.Since(cmd.ReceivedAt).Milliseconds()
		}
	}
	v, _ := json.Marshal(e)
	return &stream.Record{Topic: s.cfg.EventsTopic, Key: []byte(cmd.PhoneNumberID), Value: v}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
