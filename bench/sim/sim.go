// Package sim is the Meta simulator: an in-process stand-in for the WhatsApp
// Cloud API that answers like Meta does. It serves the Graph API endpoints
// wasp calls (send, read receipts, media, templates, phone numbers, business
// profile, webhook subscription), enforces Meta's limits (throughput per
// number, pair rate per recipient, the 24-hour customer service window,
// templates), injects faults (error codes, 5xx, timeouts, latency), and calls
// back the ingester with signed webhooks: statuses of the messages it
// accepted and inbound messages from simulated customers. A report tells what
// it saw.
//
// Tests start it on a random port:
//
//	s, err := sim.New(sim.Config{Tokens: []string{"t"}})
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")
//	go s.Serve(ctx, ln)
//	graph := "http://" + ln.Addr().String() // what s.URL() says once Serve runs
//	// point the sender at graph; script faults with s.FailNext(2, 131000)
//	// (sends) or s.FailNextCall(1, 133016) (management calls);
//	// assert with s.Report(), s.Sends() and s.Requests().
//
// The test controls are also served over HTTP under /_sim/ (see
// handleControl), for tests that drive a separate process.
//
// `wasp sim` runs it with Run. Everything about Meta it imitates comes from
// WHATSAPP-CLOUD-API.md and its fixtures; where that text is silent the
// choice made is documented on the field or function concerned.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"wasp/internal/logs"
)

// Config configures the simulator. The zero value works: one number, any
// token, Meta's default limits, no faults, no webhooks.
type Config struct {
	// Addr is where Run listens. Empty means "127.0.0.1:8090".
	Addr string
	// Tokens are the valid access tokens. Every Graph request needs
	// "Authorization: Bearer <token>"; a missing or unknown token gets error
	// 190. Empty means any token is accepted (one is still required).
	Tokens []string
	// Numbers are the business phone numbers. Empty means one number,
	// DefaultNumber. A request naming another id gets Graph's "object does
	// not exist" error (code 100, subcode 33).
	Numbers []Number
	// PairLimit limits sends from one number to one recipient (131056).
	PairLimit PairLimit
	// EnforceWindow answers 131047 to a free-form (non-template) message to
	// a user who has not written in WindowDuration. The window opens with
	// each inbound message the simulator generates for that user and with
	// OpenWindow.
	EnforceWindow bool
	// WindowDuration is the customer service window. Zero means 24 h.
	WindowDuration time.Duration
	// Templates are the approved message templates. Empty means any
	// template name and language is accepted with any parameters; otherwise
	// an unknown name or language gets 132001 and a body parameter count
	// other than Params gets 132000. Templates created through the API are
	// added to them.
	Templates []Template
	// Faults are injected into sends.
	Faults Faults
	// Webhook says where and how to call back the ingester.
	Webhook Webhook
	// Customers are simulated WhatsApp users who write to the numbers.
	Customers Customers
	// Track measures what a load test judges by: webhook acknowledgement
	// latency, and which accepted send answers which inbound message, how
	// fast (see Tracking). Off, nothing is kept.
	Track bool
	// KeepSends is how many accepted sends Sends returns (the first ones;
	// the report counts every one). Zero means 100,000; negative keeps none,
	// for load tests.
	KeepSends int
	// Logger receives failures (throttled); nil means slog.Default().
	// Nothing is logged per request, and never a token, a phone number or
	// message text.
	Logger *slog.Logger
}

// Number is a business phone number of the simulator.
type Number struct {
	// PhoneNumberID is the id sends are posted to; required.
	PhoneNumberID string
	// WABAID is its WhatsApp Business Account. Empty means DefaultWABAID.
	WABAID string
	// DisplayPhoneNumber is the number in digits, no "+". Empty means one
	// made up from the number's position.
	DisplayPhoneNumber string
	// VerifiedName is the approved display name. Empty means "Wasp Sim".
	VerifiedName string
	// ThroughputMPS is the most sends accepted in any one-second window
	// (130429 past it). Zero means the level's: 80 for STANDARD, 1,000 for
	// HIGH, 20 for COEXISTENCE. Negative means no limit. Meta counts
	// inbound messages too; the simulator counts accepted sends only.
	ThroughputMPS int
	// Level is the throughput level: "STANDARD" (default), "HIGH", or
	// "COEXISTENCE" (a number also on the WhatsApp Business app).
	Level string
	// MessagingLimitTier is whatsapp_business_manager_messaging_limit:
	// "TIER_250" (default), "TIER_2K", "TIER_10K", "TIER_100K",
	// "TIER_UNLIMITED". Reported, not enforced.
	MessagingLimitTier string
	// Quality is quality_rating: "GREEN" (default), "YELLOW", "RED".
	Quality string
	// PIN is the two-step verification PIN already set; empty means none,
	// and the first register sets it.
	PIN string
}

// Defaults of the number used when Config.Numbers is empty (the ids of
// Meta's documentation examples).
const (
	DefaultPhoneNumberID = "106540352242922"
	DefaultWABAID        = "102290129340398"
	DefaultDisplayNumber = "15550783881"
)

// DefaultNumber is the number of a Config without Numbers.
var DefaultNumber = Number{PhoneNumberID: DefaultPhoneNumberID, WABAID: DefaultWABAID, DisplayPhoneNumber: DefaultDisplayNumber}

// VerificationCode is the code every request_code "sends"; verify_code
// accepts only it.
const VerificationCode = "123456"

// PairLimit is a token bucket per (number, recipient): Burst sends at once,
// then one per Interval.
type PairLimit struct {
	// Burst is the bucket size. Zero means 45; negative turns the limit off.
	Burst int
	// Interval refills one send. Zero means 6 s.
	Interval time.Duration
}

// Template is an approved message template.
type Template struct {
	Name     string
	Language string // e.g. "en_US"
	// Category is "MARKETING", "UTILITY" or "AUTHENTICATION"; it sets the
	// pricing of the status webhooks. Empty means "MARKETING".
	Category string
	// Params is the number of body parameters a send must give.
	Params int
	// Named says the parameters are named (parameter_format NAMED): each
	// must carry parameter_name, else 132012.
	Named bool
	// WABAID limits the template to one account; empty means every one.
	WABAID string
}

// Faults are errors injected into sends (not read receipts); Latency
// applies to every Graph request. Rates are shares in [0, 1].
type Faults struct {
	// ErrorRate is the share of valid sends answered with one of Codes
	// instead of being accepted.
	ErrorRate float64
	// Codes to answer with. Empty means {131000}.
	Codes []int
	// HTTP5xxRate is the share of sends answered 503 with a non-JSON body,
	// as from a proxy; the send is not accepted.
	HTTP5xxRate float64
	// TimeoutRate is the share of sends whose answer is held for Hold,
	// past the client's timeout. The send is processed (and, unless
	// DropTimedOut, accepted, with its status webhooks) before the hold, as
	// Meta may deliver a message whose answer the client never saw.
	TimeoutRate float64
	// Hold is how long a timed-out answer is held. Zero means 30 s. Held
	// requests are released when the simulator stops.
	Hold time.Duration
	// DropTimedOut makes timed-out sends not accepted, as if the request
	// never reached Meta.
	DropTimedOut bool
	// Latency delays every Graph answer.
	Latency Latency
}

// Latency is a distribution of answer delays: Fixed plus a uniform jitter
// in [0, Jitter), or, when P50 is set, a lognormal with that median and
// P99 as its 99th percentile.
type Latency struct {
	Fixed, Jitter time.Duration
	P50, P99      time.Duration
}

// Range is a duration drawn uniformly from [Min, Max].
type Range struct {
	Min, Max time.Duration
}

// Webhook configures the callbacks to the ingester. Nothing is sent while
// URL is empty.
type Webhook struct {
	// URL is the ingester's endpoint, e.g. "http://127.0.0.1:8080/webhook".
	URL string
	// AppSecret signs each body (X-Hub-Signature-256); required with URL.
	AppSecret string
	// AppID is the app that subscribed_apps lists. Empty means
	// "100000000000001".
	AppID string
	// Statuses sends status webhooks for accepted sends: sent, delivered,
	// read, and played for voice notes (audio sent with "voice": true);
	// reactions get sent only.
	Statuses bool
	// Unread is the share of messages never read (sent and delivered only).
	Unread float64
	// FailRate is the share of accepted sends that fail after all, with a
	// failed status carrying one of FailCodes (some after a sent status).
	FailRate float64
	// FailCodes for failed statuses. Empty means {131026}.
	FailCodes []int
	// Duplicates is the share of webhooks delivered a second time, byte for
	// byte, as Meta's retries to several apps do.
	Duplicates float64
	// OutOfOrder is the share of messages whose statuses are delivered in
	// shuffled order (each keeps its true timestamp).
	OutOfOrder float64
	// Delay separates an accepted send from its sent status, and each
	// status from the next. Zero means at once; then, with Concurrency
	// above one, statuses due together may arrive in any order, as Meta's
	// do.
	Delay Range
	// Conversation adds the conversation object (the v23 shape) to sent
	// and delivered statuses; without it statuses have the v24+ shape,
	// pricing only.
	Conversation bool
	// Batch is the share of webhook POSTs that carry several updates of one
	// number (up to MaxBatch) when several are due.
	Batch float64
	// MaxBatch caps updates per POST. Zero means 10.
	MaxBatch int
	// Concurrency is the number of POSTs in flight. Zero means 16.
	Concurrency int
	// Timeout of one POST. Zero means 10 s.
	Timeout time.Duration
	// MaxAttempts is how often a POST is tried before it is dropped and
	// counted failed. Like Meta, a non-200 answer is retried at once, then
	// with growing pauses. Zero means 10.
	MaxAttempts int
	// RetryBackoff is the pause before the third attempt, doubled for each
	// next one up to a minute. Zero means 1 s.
	RetryBackoff time.Duration
	// MaxPending caps the webhooks waiting to be sent; past it new ones are
	// dropped and counted. Zero means 1,048,576.
	MaxPending int
}

// Customers are simulated users who message the business numbers. Each
// inbound message is delivered as a webhook and opens the user's window.
// Users are spread over the numbers; most have only a phone number, some
// also a BSUID (user_id, from_user_id), and some are username users whose
// phone Meta withholds (BSUID only).
type Customers struct {
	// Rate is inbound messages per second across all users; zero means
	// none. Needs Webhook.URL.
	Rate float64
	// Users is how many distinct users write. Zero means 100.
	Users int
	// Types weighs the inbound message types, keyed by the names in
	// InboundTypes. Empty means text ten times as often as each other type.
	Types map[string]float64
	// ReplyToBot makes a customer answer each message the bot sends them
	// with a follow-up quoting it: the tapped button or list row for
	// interactive messages, the quick-reply button for templates, text
	// otherwise. A conversation a customer starts gets up to Turns
	// follow-ups.
	ReplyToBot bool
	// ReplyDelay is how long a customer takes to answer. Zero means at once.
	ReplyDelay Range
	// Turns caps follow-ups per conversation. Zero means 3.
	Turns int
}

// Sim is the simulator. Its methods are safe for concurrent use.
type Sim struct {
	cfg     Config
	logger  *slog.Logger
	tokens  map[string]struct{}
	numbers map[string]*number
	order   []*number
	wabas   map[string]*waba
	wabaIDs []string

	epoch   time.Time // monotonic base of every internal time
	started atomic.Int64
	idBase  uint64
	seq     atomic.Uint64 // wamids and other ids
	sendSeq atomic.Uint64

	templates  templateStore
	media      mediaStore
	faults     faultQueue
	callFaults faultQueue
	requests   requestLog
	stats      stats

	q      *queue // nil without Webhook.URL
	client *fasthttp.Client
	cust   *customers // nil without Customers.Rate
	track  *tracker   // nil without Track

	server  *fasthttp.Server
	addr    atomic.Value // net.Addr
	serving atomic.Bool
	done    chan struct{}
	wg      sync.WaitGroup
	failLog logs.Throttle
}

// New checks cfg and builds a simulator; Run or Serve start it.
func New(cfg Config) (*Sim, error) {
	if err := applyDefaults(&cfg); err != nil {
		return nil, fmt.Errorf("cannot create the simulator: %w", err)
	}
	s := &Sim{
		cfg:     cfg,
		logger:  cfg.Logger,
		tokens:  make(map[string]struct{}, len(cfg.Tokens)),
		numbers: make(map[string]*number, len(cfg.Numbers)),
		wabas:   make(map[string]*waba),
		epoch:   time.Now(),
		idBase:  rand.Uint64(),
		done:    make(chan struct{}),
		failLog: logs.Throttle{Every: 10 * time.Second},
	}
	for _, t := range cfg.Tokens {
		s.tokens[t] = struct{}{}
	}
	for _, nc := range cfg.Numbers {
		if _, dup := s.numbers[nc.PhoneNumberID]; dup {
			return nil, fmt.Errorf("cannot create the simulator: phone_number_id %q is listed twice", nc.PhoneNumberID)
		}
		w := s.wabas[nc.WABAID]
		if w == nil {
			w = &waba{id: nc.WABAID}
			s.wabas[nc.WABAID] = w
			s.wabaIDs = append(s.wabaIDs, nc.WABAID)
		}
		n := newNumber(nc, w, &s.cfg)
		w.numbers = append(w.numbers, n)
		s.numbers[nc.PhoneNumberID] = n
		s.order = append(s.order, n)
	}
	for _, t := range cfg.Templates {
		if t.WABAID != "" && s.wabas[t.WABAID] == nil {
			return nil, fmt.Errorf("cannot create the simulator: template %q names WABA %q, which has no number", t.Name, t.WABAID)
		}
	}
	s.templates.init(s)
	s.media.init()
	for _, w := range s.wabas {
		w.reset(cfg.Webhook.URL != "")
	}
	if cfg.Webhook.URL != "" {
		s.q = newQueue(cfg.Webhook.MaxPending)
		s.client = &fasthttp.Client{
			Name:                "facebookexternalua",
			MaxConnsPerHost:     cfg.Webhook.Concurrency,
			ReadTimeout:         cfg.Webhook.Timeout,
			WriteTimeout:        cfg.Webhook.Timeout,
			MaxIdleConnDuration: time.Minute,
		}
	}
	if cfg.Customers.Rate > 0 || cfg.Customers.ReplyToBot {
		c, err := newCustomers(s, cfg.Customers)
		if err != nil {
			return nil, fmt.Errorf("cannot create the simulator: %w", err)
		}
		s.cust = c
	}
	if cfg.Track {
		s.track = newTracker()
	}
	s.server = &fasthttp.Server{
		Handler:               s.handle,
		Name:                  "sim",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    128 << 20, // documents up to 100 MB
		ReadTimeout:           60 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           60 * time.Second,
		CloseOnShutdown:       true,
		Logger:                logs.Fasthttp{L: cfg.Logger, Prefix: "sim: fasthttp: "},
	}
	return s, nil
}

// applyDefaults fills the zero values of cfg and checks the rest.
func applyDefaults(cfg *Config) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8090"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Numbers) == 0 {
		cfg.Numbers = []Number{DefaultNumber}
	} else {
		cfg.Numbers = append([]Number(nil), cfg.Numbers...)
	}
	for i := range cfg.Numbers {
		n := &cfg.Numbers[i]
		if n.PhoneNumberID == "" {
			return fmt.Errorf("number %d has no PhoneNumberID", i)
		}
		if n.WABAID == "" {
			n.WABAID = DefaultWABAID
		}
		if n.DisplayPhoneNumber == "" {
			n.DisplayPhoneNumber = fmt.Sprintf("1555%07d", 783881+i)
		}
		if n.VerifiedName == "" {
			n.VerifiedName = "Wasp Sim"
		}
		n.Level = strings.ToUpper(n.Level)
		switch n.Level {
		case "":
			n.Level = "STANDARD"
		case "STANDARD", "HIGH", "COEXISTENCE":
		default:
			return fmt.Errorf("number %q has Level %q (want STANDARD, HIGH or COEXISTENCE)", n.PhoneNumberID, n.Level)
		}
		if n.ThroughputMPS == 0 {
			n.ThroughputMPS = map[string]int{"STANDARD": 80, "HIGH": 1000, "COEXISTENCE": 20}[n.Level]
		}
		if n.MessagingLimitTier == "" {
			n.MessagingLimitTier = "TIER_250"
		}
		if n.Quality == "" {
			n.Quality = "GREEN"
		}
		if n.PIN != "" && !isPIN(n.PIN) {
			return fmt.Errorf("number %q has a PIN that is not 6 digits", n.PhoneNumberID)
		}
	}
	if cfg.PairLimit.Burst == 0 {
		cfg.PairLimit.Burst = 45
	}
	if cfg.PairLimit.Interval <= 0 {
		cfg.PairLimit.Interval = 6 * time.Second
	}
	if cfg.WindowDuration <= 0 {
		cfg.WindowDuration = 24 * time.Hour
	}
	if cfg.KeepSends == 0 {
		cfg.KeepSends = 100_000
	}
	for i, t := range cfg.Templates {
		if t.Name == "" || t.Language == "" {
			return fmt.Errorf("template %d has no Name or Language", i)
		}
		if t.Params < 0 {
			return fmt.Errorf("template %q has negative Params", t.Name)
		}
		switch strings.ToUpper(t.Category) {
		case "", "MARKETING", "UTILITY", "AUTHENTICATION":
		default:
			return fmt.Errorf("template %q has Category %q (want MARKETING, UTILITY or AUTHENTICATION)", t.Name, t.Category)
		}
	}

	f := &cfg.Faults
	if len(f.Codes) == 0 {
		f.Codes = []int{131000}
	}
	if f.Hold <= 0 {
		f.Hold = 30 * time.Second
	}
	if f.Latency.P50 > 0 && f.Latency.P99 < f.Latency.P50 {
		return errors.New("Faults.Latency.P99 is below P50")
	}

	w := &cfg.Webhook
	if w.URL != "" && w.AppSecret == "" {
		return errors.New("Webhook.URL is set but Webhook.AppSecret is empty (the ingester rejects unsigned webhooks)")
	}
	if w.AppID == "" {
		w.AppID = "100000000000001"
	}
	if len(w.FailCodes) == 0 {
		w.FailCodes = []int{131026}
	}
	if w.MaxBatch <= 0 {
		w.MaxBatch = 10
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 16
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 10
	}
	if w.RetryBackoff <= 0 {
		w.RetryBackoff = time.Second
	}
	if w.MaxPending <= 0 {
		w.MaxPending = 1 << 20
	}
	if w.Delay.Max < w.Delay.Min {
		return errors.New("Webhook.Delay.Max is below Min")
	}

	c := &cfg.Customers
	if (c.Rate > 0 || c.ReplyToBot) && w.URL == "" {
		return errors.New("Customers need Webhook.URL to deliver their messages")
	}
	if c.Users <= 0 {
		c.Users = 100
	}
	if c.Users > maxUsers {
		return fmt.Errorf("Customers.Users is over %d", maxUsers)
	}
	if c.Turns <= 0 {
		c.Turns = 3
	}
	if c.ReplyDelay.Max < c.ReplyDelay.Min {
		return errors.New("Customers.ReplyDelay.Max is below Min")
	}

	for name, r := range map[string]float64{
		"Faults.ErrorRate": f.ErrorRate, "Faults.HTTP5xxRate": f.HTTP5xxRate, "Faults.TimeoutRate": f.TimeoutRate,
		"Webhook.Unread": w.Unread, "Webhook.FailRate": w.FailRate, "Webhook.Duplicates": w.Duplicates,
		"Webhook.OutOfOrder": w.OutOfOrder, "Webhook.Batch": w.Batch,
	} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s is %v, not a share in [0, 1]", name, r)
		}
	}
	return nil
}

// Run listens on Config.Addr and serves until ctx ends.
func (s *Sim) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the Graph API on ln and starts the webhook sender and the
// customers; when ctx ends it releases held requests, stops serving and
// waits for its goroutines. Webhooks still pending are dropped. A Sim
// serves once.
func (s *Sim) Serve(ctx context.Context, ln net.Listener) error {
	if !s.serving.CompareAndSwap(false, true) {
		ln.Close()
		return errors.New("cannot serve the simulator: it is already serving")
	}
	s.addr.Store(ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- s.server.Serve(ln) }()
	if s.q != nil {
		s.startWebhooks()
	}
	if s.cust != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.cust.run(s.done)
		}()
	}

	var err error
	served := false
	select {
	case err = <-errc:
		served = true
		if err != nil {
			err = fmt.Errorf("cannot serve the simulator: %w", err)
		}
	case <-ctx.Done():
	}
	close(s.done)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := s.server.ShutdownWithContext(sctx); serr != nil && err == nil {
		err = fmt.Errorf("cannot stop the simulator cleanly: %w", serr)
	}
	// Shutdown closes only the listeners fasthttp has registered; a stop
	// right after the start may come before that.
	ln.Close()
	if !served {
		if serr := <-errc; serr != nil && !errors.Is(serr, net.ErrClosed) && err == nil {
			err = fmt.Errorf("cannot serve the simulator: %w", serr)
		}
	}
	s.wg.Wait()
	return err
}

// URL is the base URL of the simulator, e.g. "http://127.0.0.1:8090" (the
// Graph base; requests go to URL()+"/v25.0/…"), or "" before it serves.
func (s *Sim) URL() string {
	a, _ := s.addr.Load().(net.Addr)
	if a == nil {
		return ""
	}
	return "http://" + a.String()
}

// Handler returns the request handler, for serving the simulator from
// another fasthttp server or an in-memory listener. Webhooks and customers
// run only under Serve or Run.
func (s *Sim) Handler() fasthttp.RequestHandler { return s.handle }

// now is the time since the simulator started, in nanoseconds, on the
// monotonic clock.
func (s *Sim) now() int64 { return int64(time.Since(s.epoch)) }

// wall converts a simulator time to wall-clock time.
func (s *Sim) wall(t int64) time.Time { return s.epoch.Add(time.Duration(t)) }

// unix is the Unix time in seconds of a simulator time.
func (s *Sim) unix(t int64) int64 { return s.wall(t).Unix() }

// Reset brings the simulator back to its state right after New: counters,
// sends, requests, tracking, limits, windows, scripted faults, registration,
// profiles, media, templates created through the API, and pending webhooks
// are cleared. It keeps serving.
func (s *Sim) Reset() {
	now := s.now()
	s.started.Store(now)
	for _, n := range s.order {
		n.mu.Lock()
		n.reset(now)
		n.mu.Unlock()
	}
	for _, w := range s.wabas {
		w.reset(s.cfg.Webhook.URL != "")
	}
	s.templates.init(s)
	s.media.init()
	s.faults.clear()
	s.callFaults.clear()
	s.requests.clear()
	s.stats.reset()
	if s.q != nil {
		s.q.clear()
	}
	if s.cust != nil {
		s.cust.reset()
	}
	if s.track != nil {
		s.track.reset()
	}
}

// OpenWindow opens the customer service window of user (a phone number in
// any format, or a BSUID) on the number phoneNumberID, as an inbound message
// from them would.
func (s *Sim) OpenWindow(phoneNumberID, user string) error {
	n := s.numbers[phoneNumberID]
	if n == nil {
		return fmt.Errorf("cannot open the window: no number %q", phoneNumberID)
	}
	key, _, _ := recipientKey(user, "")
	if key == "" {
		key = user
	}
	now := s.now()
	n.mu.Lock()
	n.windows[key] = now
	n.mu.Unlock()
	return nil
}

// FailNext makes the next n valid sends (on any number; read receipts are
// not sends) fail with code, before any limit is checked and instead of
// the random faults: FailNext(2, 131000) scripts "131000 twice, then
// success". Scripted faults queue in call order.
func (s *Sim) FailNext(n int, code int) { s.faults.push(n, fault{kind: faultCode, code: code}) }

// FailNext5xx makes the next n sends answer 503 with a non-JSON body; they
// are not accepted.
func (s *Sim) FailNext5xx(n int) { s.faults.push(n, fault{kind: fault5xx}) }

// FailNextTimeout makes the next n sends time out: each is processed (and
// accepted unless Faults.DropTimedOut) and its answer held for Faults.Hold.
func (s *Sim) FailNextTimeout(n int) { s.faults.push(n, fault{kind: faultTimeout}) }
