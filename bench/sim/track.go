package sim

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Tracking is what Config.Track measured since New or the last Reset: how
// fast the ingester acknowledges webhooks, and whether and how fast each
// inbound message was answered.
//
// An accepted send answers the inbound message whose wamid its
// context.message_id names, else the one its biz_opaque_callback_data
// ends with after the last ':' (wasp writes "wasp1:<command>:<wamid>").
// Read receipts are not sends and answer nothing.
type Tracking struct {
	// Acks holds, for every webhook POST answered 200 (inbound messages,
	// statuses, retries and duplicates), the time from the request to the
	// answer.
	Acks HistogramSnapshot
	// Replies holds, for every inbound message answered, the time from
	// its first POST to the first accepted send answering it.
	Replies HistogramSnapshot
	// Inbound counts the inbound messages by their kind (InboundTypes).
	Inbound map[string]InboundTally
	// Unmatched counts accepted sends that answer no tracked message.
	Unmatched int64
	// Statuses counts the status updates queued for accepted sends; the
	// report's Webhooks.Statuses counts those delivered.
	Statuses int64
	// LastReply is when the last answer arrived (zero before any).
	LastReply time.Time
}

// InboundTally counts the inbound messages of one kind.
type InboundTally struct {
	// Posted counts the messages whose first POST was made; Delivered
	// those answered 200 on some attempt.
	Posted    int64 `json:"posted"`
	Delivered int64 `json:"delivered"`
	// Answered counts the messages with at least one answer; Duplicated
	// those with more than one; Unanswered those delivered and not (yet)
	// answered.
	Answered   int64 `json:"answered"`
	Duplicated int64 `json:"duplicated"`
	Unanswered int64 `json:"unanswered"`
}

// tracker keeps Tracking. Inbound messages stay in it until Reset, so
// that a late second answer is still seen: about 150 bytes each.
type tracker struct {
	acks, replies Histogram
	unmatched     atomic.Int64
	statuses      atomic.Int64
	lastReply     atomic.Int64 // sim time

	mu      sync.Mutex
	inbound map[string]*trackedInbound // by wamid
	tally   map[string]*InboundTally   // by kind
}

type trackedInbound struct {
	kind      string
	posted    int64 // sim time of the first POST
	delivered bool
	answers   int32
}

func newTracker() *tracker {
	return &tracker{inbound: map[string]*trackedInbound{}, tally: map[string]*InboundTally{}}
}

func (t *tracker) reset() {
	t.acks.reset()
	t.replies.reset()
	t.unmatched.Store(0)
	t.statuses.Store(0)
	t.lastReply.Store(0)
	t.mu.Lock()
	t.inbound = map[string]*trackedInbound{}
	t.tally = map[string]*InboundTally{}
	t.mu.Unlock()
}

// kind returns the tally of kind; the caller holds mu.
func (t *tracker) kind(kind string) *InboundTally {
	k := t.tally[kind]
	if k == nil {
		k = &InboundTally{}
		t.tally[kind] = k
	}
	return k
}

// posting registers the inbound messages of a POST about to be made for
// the first time, at now: an answer may come before the POST returns.
func (t *tracker) posting(ins []*inbound, now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, in := range ins {
		if _, ok := t.inbound[in.wamid]; !ok {
			t.inbound[in.wamid] = &trackedInbound{kind: in.typ, posted: now}
			t.kind(in.typ).Posted++
		}
	}
}

// delivered marks the inbound messages of a POST answered 200.
func (t *tracker) delivered(ins []*inbound) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, in := range ins {
		m := t.inbound[in.wamid]
		if m == nil || m.delivered {
			continue
		}
		m.delivered = true
		k := t.kind(m.kind)
		k.Delivered++
		if m.answers == 0 {
			k.Unanswered++
		}
	}
}

// answer counts an accepted send that arrived at now, matched to its
// inbound message by context or callback data.
func (t *tracker) answer(contextID, callback string, now int64) {
	wamid := contextID
	t.mu.Lock()
	m := t.inbound[wamid]
	if m == nil {
		if i := strings.LastIndexByte(callback, ':'); i >= 0 {
			m = t.inbound[callback[i+1:]]
		}
	}
	if m == nil {
		t.mu.Unlock()
		t.unmatched.Add(1)
		return
	}
	m.answers++
	k := t.kind(m.kind)
	first := m.answers == 1
	switch {
	case first:
		k.Answered++
		if m.delivered {
			k.Unanswered--
		}
	case m.answers == 2:
		k.Duplicated++
	}
	posted := m.posted
	t.mu.Unlock()
	if first {
		t.replies.Record(time.Duration(now - posted))
	}
	for {
		last := t.lastReply.Load()
		if now <= last || t.lastReply.CompareAndSwap(last, now) {
			return
		}
	}
}

// Tracking returns what Config.Track measured; the zero Tracking without
// it.
func (s *Sim) Tracking() Tracking {
	t := s.track
	if t == nil {
		return Tracking{}
	}
	r := Tracking{Acks: t.acks.Snapshot(), Replies: t.replies.Snapshot(), Inbound: map[string]InboundTally{},
		Unmatched: t.unmatched.Load(), Statuses: t.statuses.Load()}
	if last := t.lastReply.Load(); last > 0 {
		r.LastReply = s.wall(last)
	}
	t.mu.Lock()
	for k, v := range t.tally {
		r.Inbound[k] = *v
	}
	t.mu.Unlock()
	return r
}
