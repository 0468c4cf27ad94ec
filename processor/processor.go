// Package processor is the stateful stage: it reads the webhooks topic,
// keeps each conversation's context, deduplicates Meta's at-least-once
// deliveries, tracks the 24-hour window and message statuses, asks a bot
// (or leaves the conversation to a human), and writes send commands and
// events. Conversations are processed concurrently, each strictly in
// order.
package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/stream"
)

// Store keeps conversations and what was already seen.
type Store interface {
	Seen(keys ...string) (map[string]bool, error)
	MarkSeen(keys ...string) error
	Find(number string, users ...string) (*Conversation, error)
	Get(id string) (*Conversation, error)
	Save(c *Conversation, prevUpdated time.Time, seen ...string) error
	List(tenant, mode, cursor string, limit int) ([]*Conversation, string, error)
	Advance(wamid, status, commandID string, code int) (bool, error)
	// Sync makes the writes so far durable; writes need not be before.
	Sync() error
	Close() error
}

// Tenant is one business: its numbers, its bot and what the bot may say.
type Tenant struct {
	ID      string
	Numbers []string
	// WABAID names the tenant of account-level webhooks (quality and
	// account updates); empty leaves them without a tenant.
	WABAID   string
	Business bot.Business
	// Bot answers the tenant's customers; nil means no automatic replies,
	// not even the acknowledgements (every conversation waits for a human).
	Bot bot.Bot
	// Acknowledgement answers media, locations and contacts; empty means
	// "¡Gracias! Lo recibimos." / "Thanks, we got it." by language.
	Acknowledgement string
	// Unreadable answers messages the Cloud API could not deliver (a
	// poll, say); empty means "Perdón, no pudimos abrir tu mensaje…" /
	// "Sorry, we couldn't open your message…" by language.
	Unreadable string
	// FallbackTemplate is sent instead of a free-form reply when the window
	// has closed, if set (a Graph template body).
	FallbackTemplate json.RawMessage
}

// Config configures the stage. The zero value works with DataDir and
// Tenants set.
type Config struct {
	Group                                       string // empty means "wasp-processor"
	Topic, OutboundTopic, EventsTopic, DLQTopic string // empty means the schemas defaults
	// DataDir holds the conversation store.
	DataDir string
	Tenants []Tenant
	// History is how many messages a conversation keeps. Zero means 10.
	History int
	// DedupeTTL is how long seen wamids are remembered; Meta retries for
	// up to 7 days. Zero means 8 days.
	DedupeTTL time.Duration
	// Concurrency bounds conversations processed at once. Zero means 256.
	Concurrency int
	// BatchSize is how many records one fetch takes. Zero means 256.
	BatchSize int
	Logger    *slog.Logger
}

// Processor is the stage.
type Processor struct {
	cfg     Config
	log     stream.Log
	store   Store
	logger  *slog.Logger
	track   *stream.Tracker
	tenants map[string]*Tenant // by phone_number_id
	wabas   map[string]*Tenant // by WABA id
	sem     chan struct{}

	mu     sync.Mutex
	queues map[string]*convQueue // by conversation key
	wg     sync.WaitGroup
}

var (
	inboundTotal  = metrics.NewCounter(`wasp_processor_messages_total{kind="inbound"}`)
	statusTotal   = metrics.NewCounter(`wasp_processor_messages_total{kind="status"}`)
	dupTotal      = metrics.NewCounter(`wasp_processor_duplicates_total`)
	deadLetters   = metrics.NewCounter(`wasp_processor_dead_letters_total`)
	repliesTotal  = metrics.NewCounter(`wasp_processor_replies_total`)
	handoffsTotal = metrics.NewCounter(`wasp_processor_handoffs_total`)
	recordSecs    = metrics.NewPrometheusHistogram(`wasp_processor_record_duration_seconds`)
)

// New checks cfg and opens the store.
func New(cfg Config, log stream.Log) (*Processor, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("cannot start the processor: no data directory (set WASP_DATA_DIR)")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.Group, "wasp-processor")
	def(&cfg.Topic, schemas.TopicWebhooks)
	def(&cfg.OutboundTopic, schemas.TopicOutbound)
	def(&cfg.EventsTopic, schemas.TopicEvents)
	def(&cfg.DLQTopic, schemas.TopicDLQ)
	if cfg.History <= 0 {
		cfg.History = 10
	}
	if cfg.DedupeTTL <= 0 {
		cfg.DedupeTTL = 8 * 24 * time.Hour
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 256
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	tenants, wabas := map[string]*Tenant{}, map[string]*Tenant{}
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		if t.WABAID != "" {
			wabas[t.WABAID] = t
		}
		for _, n := range t.Numbers {
			if other, ok := tenants[n]; ok {
				return nil, fmt.Errorf("cannot start the processor: phone_number_id %s belongs to tenants %q and %q", n, other.ID, t.ID)
			}
			tenants[n] = t
		}
	}
	st, err := openStore(cfg.DataDir, cfg.DedupeTTL, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Processor{cfg: cfg, log: log, store: st, logger: cfg.Logger, track: stream.NewTracker(),
		tenants: tenants, wabas: wabas, sem: make(chan struct{}, cfg.Concurrency), queues: map[string]*convQueue{}}, nil
}

// Store is the stage's conversation store, for the admin API.
func (p *Processor) Store() Store { return p.store }

// Run consumes webhooks until ctx ends, then finishes the conversations in
// progress, commits and closes the store.
func (p *Processor) Run(ctx context.Context) error {
	defer p.store.Close()
	c, err := p.log.Consume(p.cfg.Group, p.cfg.Topic)
	if err != nil {
		return fmt.Errorf("cannot consume %s: %w", p.cfg.Topic, err)
	}
	defer c.Close()
	err = stream.Pump(ctx, c, p.cfg.BatchSize, 200*time.Millisecond,
		func(recs []*stream.Record) {
			for _, r := range recs {
				p.track.Add(r)
				p.record(r)
			}
		},
		func() { p.commit(ctx, c) })
	var runErr error
	if err != nil {
		runErr = fmt.Errorf("cannot fetch webhooks: %w", err)
	}
	p.wg.Wait()
	p.commit(context.Background(), c)
	return runErr
}

func (p *Processor) commit(ctx context.Context, c stream.Consumer) {
	if err := stream.CommitDone(ctx, c, p.track, p.store.Sync); err != nil && ctx.Err() == nil {
		p.logger.Warn("cannot commit the processor's offsets; they are committed again later", "err", err)
	}
}

// item is one unit of work of a record, done in its conversation's order.
type item struct {
	rec      *recordWork
	tenant   *Tenant
	number   string
	value    *schemas.MessagesValue
	msg      *schemas.Message
	status   *schemas.Status
	prefs    *schemas.UserPreference
	run      func() // an admin action on the conversation, run in its order
	received time.Time
}

// recordWork counts a record's items; the record is done with the last.
type recordWork struct {
	rec  *stream.Record
	left int32
	mu   sync.Mutex
}

func (w *recordWork) done(p *Processor) {
	w.mu.Lock()
	w.left--
	last := w.left == 0
	w.mu.Unlock()
	if last {
		p.track.Done(w.rec)
	}
}

// record splits a webhook record into items per conversation.
func (p *Processor) record(r *stream.Record) {
	start := time.Now()
	defer recordSecs.UpdateDuration(start)
	w := &recordWork{rec: r, left: 1} // the splitter's hold
	defer w.done(p)
	hook, err := schemas.ParseWebhook(r.Value)
	if err != nil {
		p.deadLetter(r, "cannot parse the webhook: "+err.Error())
		return
	}
	received := time.Now()
	if ms, err := strconv.ParseInt(string(r.Header(schemas.HeaderReceivedAt)), 10, 64); err == nil {
		received = time.UnixMilli(ms)
	}
	var events []*stream.Record
	unknown := map[string]bool{}
	add := func(key string, it *item) {
		w.mu.Lock()
		w.left++
		w.mu.Unlock()
		it.rec, it.received = w, received
		p.enqueue(key, it)
	}
	var misfits []string
	for entry, ch := range hook.Changes() {
		if ch.Err != nil {
			// A value that does not fit its type: the other changes go on,
			// the record is kept as a dead letter saying which.
			misfits = append(misfits, ch.Field+": "+ch.Err.Error())
			continue
		}
		switch v := ch.Value.(type) {
		case *schemas.MessagesValue:
			number := v.Metadata.PhoneNumberID
			t := p.tenants[number]
			if t == nil {
				unknown[number] = true
				continue
			}
			for i := range v.Messages {
				m := &v.Messages[i]
				add(queueKey(number, m.From, m.FromUserID), &item{tenant: t, number: number, value: v, msg: m})
			}
			for i := range v.Statuses {
				st := &v.Statuses[i]
				add(queueKey(number, st.RecipientID, st.RecipientUserID), &item{tenant: t, number: number, value: v, status: st})
			}
			for _, e := range v.Errors {
				events = append(events, p.event(schemas.Event{Kind: schemas.EventAlert, Tenant: t.ID, PhoneNumberID: number,
					ErrorCode: e.Code, ErrorClass: string(schemas.ClassOf(e.Code)), Reason: "webhook error: " + e.Title,
					ID: schemas.EventID("werr", string(r.Key), strconv.FormatInt(r.Offset, 10), strconv.Itoa(e.Code))}))
			}
		case *schemas.UserPreferencesValue:
			number := v.Metadata.PhoneNumberID
			t := p.tenants[number]
			if t == nil {
				unknown[number] = true
				continue
			}
			for i := range v.UserPreferences {
				pr := &v.UserPreferences[i]
				add(queueKey(number, pr.WaID, pr.UserID), &item{tenant: t, number: number, prefs: pr})
			}
		case *schemas.PhoneNumberQualityUpdate:
			events = append(events, p.accountEvent(r, entry.ID, v.Downgrade(), v.Summary()))
		case *schemas.AccountUpdate:
			events = append(events, p.accountEvent(r, entry.ID, v.Adverse(), v.Summary()))
		default:
			// Other account-level fields (templates, name reviews) are
			// kept in the log.
		}
	}
	for number := range unknown {
		p.deadLetter(r, "unknown phone_number_id "+number+": no tenant has it (add it to a tenant's phone_number_ids)")
	}
	if len(misfits) > 0 {
		p.deadLetter(r, "a change's value does not fit Meta's shape, so it was skipped: "+strings.Join(misfits, "; "))
	}
	if len(events) > 0 {
		if err := p.log.Append(context.Background(), events...); err != nil {
			p.logger.Error("cannot write events", "err", err)
		}
	}
}

// accountEvent records an account-level webhook of the WABA wabaID; the
// alert rules raise the adverse ones.
func (p *Processor) accountEvent(r *stream.Record, wabaID string, adverse bool, summary string) *stream.Record {
	e := schemas.Event{Kind: schemas.EventAccount, Status: schemas.StatusInfo, Reason: summary,
		ID: schemas.EventID("account", r.Topic, strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.Offset, 10), summary)}
	if adverse {
		e.Status = schemas.StatusAdverse
	}
	if t := p.wabas[wabaID]; t != nil {
		e.Tenant = t.ID
		if len(t.Numbers) == 1 {
			e.PhoneNumberID = t.Numbers[0]
		}
	}
	return p.event(e)
}

func (p *Processor) deadLetter(r *stream.Record, reason string) {
	deadLetters.Inc()
	d := &stream.Record{Topic: p.cfg.DLQTopic, Key: r.Key, Value: r.Value, Headers: []stream.Header{
		{Key: schemas.HeaderReason, Value: []byte(reason)},
		{Key: schemas.HeaderSource, Value: []byte("processor")},
		{Key: "offset", Value: []byte(fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset))},
	}}
	if err := p.log.Append(context.Background(), d); err != nil {
		p.logger.Error("cannot write a dead letter", "err", err)
	}
}

func (p *Processor) event(e schemas.Event) *stream.Record {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	v, _ := json.Marshal(e)
	return &stream.Record{Topic: p.cfg.EventsTopic, Key: []byte(e.PhoneNumberID), Value: v}
}

// queueKey orders a conversation's items: by the phone when Meta sends it
// (messages, statuses and preferences of one user all carry it), else by
// the BSUID. A key names at most one conversation, so no two items of a
// conversation run at once.
func queueKey(number, phone, bsuid string) string {
	if phone != "" {
		return number + "|" + phone
	}
	return number + "|" + bsuid
}

// convQueue runs one conversation's items in order, one at a time.
type convQueue struct {
	items   []*item
	running bool
}

// enqueue adds an item to its conversation's queue and starts a worker
// for the conversation if none runs. Different conversations run
// concurrently, up to Concurrency.
func (p *Processor) enqueue(key string, it *item) {
	p.mu.Lock()
	q := p.queues[key]
	if q == nil {
		q = &convQueue{}
		p.queues[key] = q
	}
	q.items = append(q.items, it)
	start := !q.running
	q.running = true
	p.mu.Unlock()
	if start {
		p.wg.Add(1)
		go p.drain(key, q)
	}
}

func (p *Processor) drain(key string, q *convQueue) {
	defer p.wg.Done()
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	for {
		p.mu.Lock()
		if len(q.items) == 0 {
			q.running = false
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		it := q.items[0]
		q.items = q.items[1:]
		p.mu.Unlock()
		p.handle(it)
	}
}

// handle runs one item until its effects are durable, retrying what failed
// for lack of the log or the store; the record is done after.
func (p *Processor) handle(it *item) {
	if it.run != nil {
		it.run()
		return
	}
	for attempt := 0; ; attempt++ {
		var err error
		switch {
		case it.msg != nil:
			err = p.inbound(it)
		case it.status != nil:
			err = p.statusUpdate(it)
		case it.prefs != nil:
			err = p.preference(it)
		}
		if err == nil {
			break
		}
		if attempt%20 == 0 {
			p.logger.Error("cannot process a webhook item; trying again", "err", err, "attempt", attempt+1)
		}
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
	}
	if it.rec != nil {
		it.rec.done(p)
	}
}
