package sim

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Send is one accepted send, as Sends returns it.
type Send struct {
	// Seq orders the sends of every number by acceptance, from 1.
	Seq           uint64 `json:"seq"`
	PhoneNumberID string `json:"phone_number_id"`
	// To is "to" as sent; WaID its digits. Recipient is the BSUID when the
	// send used "recipient".
	To        string `json:"to,omitempty"`
	WaID      string `json:"wa_id,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	Type      string `json:"type"`
	// Text is the words: a text's body, a caption, an interactive
	// message's body, a reaction's emoji, a location's name, the first
	// shared contact's name.
	Text string `json:"text,omitempty"`
	// Template is the template's name for type "template".
	Template              string `json:"template,omitempty"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
	// WAMID is the message id the simulator answered.
	WAMID string    `json:"wamid"`
	Time  time.Time `json:"time"`
	// Body is the request body as received.
	Body json.RawMessage `json:"body,omitempty"`
}

// Report is what the simulator saw since New or the last Reset.
type Report struct {
	Started time.Time `json:"started"`
	Now     time.Time `json:"now"`
	// Numbers by phone_number_id.
	Numbers map[string]NumberReport `json:"numbers"`
	// Errors counts every error answered, by code, on any endpoint (the
	// numbers' and those tied to no number: bad tokens, unknown ids).
	Errors map[int]int64 `json:"errors"`
	// HTTP5xx counts 503 answers; Timeouts, held answers.
	HTTP5xx  int64         `json:"http_5xx"`
	Timeouts int64         `json:"timeouts"`
	Inbound  InboundReport `json:"inbound"`
	Webhooks WebhookReport `json:"webhooks"`
	Media    MediaReport   `json:"media"`
}

// NumberReport is what one number saw.
type NumberReport struct {
	// Accepted counts the sends accepted, templates included; Templates
	// those of type template.
	Accepted  int64 `json:"accepted"`
	Templates int64 `json:"templates"`
	// Reads counts read receipts, Typing those with a typing indicator.
	Reads  int64 `json:"reads"`
	Typing int64 `json:"typing"`
	// Inbound counts the inbound messages generated for the number.
	Inbound int64 `json:"inbound"`
	// Errors counts the errors answered for the number, by code.
	Errors map[int]int64 `json:"errors"`
	// PerSecond counts accepted sends in each second since Started, up to
	// now.
	PerSecond []int64 `json:"per_second"`
	// MaxPerSecond is the most sends accepted in any one-second window
	// (sliding, not aligned to PerSecond's seconds): never above the
	// number's ThroughputMPS.
	MaxPerSecond int `json:"max_per_second"`
	// Recipients counts accepted sends per recipient (wa_id or BSUID).
	Recipients map[string]int64 `json:"recipients"`
	// NotKept counts accepted sends past Config.KeepSends.
	NotKept    int64 `json:"not_kept"`
	Registered bool  `json:"registered"`
}

// InboundReport counts the inbound messages generated.
type InboundReport struct {
	Generated int64            `json:"generated"`
	ByType    map[string]int64 `json:"by_type"`
	// FollowUps counts customers' answers to the bot (ReplyToBot).
	FollowUps int64 `json:"follow_ups"`
}

// WebhookReport counts the webhooks posted.
type WebhookReport struct {
	// Delivered counts POSTs answered 200 (duplicates included); Failed,
	// POSTs dropped after Webhook.MaxAttempts.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	// Attempts counts every POST; Errors those not answered 200; Retries
	// the POSTs queued again after one.
	Attempts int64 `json:"attempts"`
	Errors   int64 `json:"errors"`
	Retries  int64 `json:"retries"`
	// Duplicates counts deliberate second deliveries.
	Duplicates int64 `json:"duplicates"`
	// Dropped counts updates not sent: the queue was full or the WABA
	// unsubscribed.
	Dropped int64 `json:"dropped"`
	// Pending counts the updates and POSTs waiting.
	Pending int `json:"pending"`
	// Statuses counts the status updates delivered, by status; Messages
	// the inbound messages delivered (duplicates not counted).
	Statuses map[string]int64 `json:"statuses"`
	Messages int64            `json:"messages"`
}

// MediaReport counts media uploads and downloads.
type MediaReport struct {
	Uploads   int64 `json:"uploads"`
	Downloads int64 `json:"downloads"`
}

// stats are the counters not kept per number.
type stats struct {
	mu            sync.Mutex
	errors        map[int]int64
	inboundByType map[string]int64
	inbound       atomic.Int64
	followUps     atomic.Int64
	http5xx       atomic.Int64
	timeouts      atomic.Int64
	hooks         struct {
		posts, failed, attempts, errors, retries, duplicates, messages atomic.Int64
		statuses                                                       [len(statusNames)]atomic.Int64
	}
}

func (st *stats) countError(code int) {
	st.mu.Lock()
	if st.errors == nil {
		st.errors = make(map[int]int64)
	}
	st.errors[code]++
	st.mu.Unlock()
}

func (st *stats) countInbound(kind string) {
	st.inbound.Add(1)
	st.mu.Lock()
	if st.inboundByType == nil {
		st.inboundByType = make(map[string]int64)
	}
	st.inboundByType[kind]++
	st.mu.Unlock()
}

func (st *stats) reset() {
	st.mu.Lock()
	st.errors, st.inboundByType = nil, nil
	st.mu.Unlock()
	for _, c := range []*atomic.Int64{
		&st.inbound, &st.followUps, &st.http5xx, &st.timeouts,
		&st.hooks.posts, &st.hooks.failed, &st.hooks.attempts, &st.hooks.errors,
		&st.hooks.retries, &st.hooks.duplicates, &st.hooks.messages,
	} {
		c.Store(0)
	}
	for i := range st.hooks.statuses {
		st.hooks.statuses[i].Store(0)
	}
}

// Report returns what the simulator saw since New or the last Reset.
func (s *Sim) Report() Report {
	now := s.now()
	r := Report{
		Started:  s.wall(s.started.Load()),
		Now:      s.wall(now),
		Numbers:  make(map[string]NumberReport, len(s.order)),
		Errors:   map[int]int64{},
		HTTP5xx:  s.stats.http5xx.Load(),
		Timeouts: s.stats.timeouts.Load(),
		Inbound: InboundReport{
			Generated: s.stats.inbound.Load(),
			ByType:    map[string]int64{},
			FollowUps: s.stats.followUps.Load(),
		},
		Media: MediaReport{Uploads: s.media.uploads.Load(), Downloads: s.media.downloads.Load()},
	}
	s.stats.mu.Lock()
	for c, v := range s.stats.errors {
		r.Errors[c] += v
	}
	for k, v := range s.stats.inboundByType {
		r.Inbound.ByType[k] = v
	}
	s.stats.mu.Unlock()
	for _, n := range s.order {
		n.mu.Lock()
		nr := NumberReport{
			Accepted: n.accepted, Templates: n.templates, Reads: n.reads, Typing: n.typing, Inbound: n.inbound,
			Errors: make(map[int]int64, len(n.errors)), MaxPerSecond: n.maxWindow,
			Recipients: make(map[string]int64, len(n.recipients)), NotKept: n.notKept, Registered: n.registered,
		}
		for c, v := range n.errors {
			nr.Errors[c] = v
			r.Errors[c] += v
		}
		for k, v := range n.recipients {
			nr.Recipients[k] = v
		}
		secs := int((now-n.seriesBase)/int64(time.Second)) + 1
		nr.PerSecond = make([]int64, max(secs, len(n.series)))
		copy(nr.PerSecond, n.series)
		n.mu.Unlock()
		r.Numbers[n.cfg.PhoneNumberID] = nr
	}
	hs := &s.stats.hooks
	r.Webhooks = WebhookReport{
		Delivered: hs.posts.Load(), Failed: hs.failed.Load(), Attempts: hs.attempts.Load(), Errors: hs.errors.Load(),
		Retries: hs.retries.Load(), Duplicates: hs.duplicates.Load(), Messages: hs.messages.Load(),
		Statuses: map[string]int64{},
	}
	for i, name := range statusNames {
		if v := hs.statuses[i].Load(); v > 0 {
			r.Webhooks.Statuses[name] = v
		}
	}
	if s.q != nil {
		r.Webhooks.Pending = s.q.len()
		r.Webhooks.Dropped = s.q.dropped.Load()
	}
	return r
}

// Sends returns the accepted sends kept (Config.KeepSends), of every
// number, in the order they were accepted.
func (s *Sim) Sends() []Send {
	var out []Send
	for _, n := range s.order {
		n.mu.Lock()
		out = append(out, n.sends...)
		n.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
