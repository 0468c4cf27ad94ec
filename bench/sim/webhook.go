package sim

import (
	"container/heap"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"wasp/ingest"
)

// Webhooks wait in one queue ordered by due time: statuses of accepted
// sends, inbound messages, customers' follow-ups, and posts to retry or to
// duplicate. One dispatcher pops what is due (batching several updates of
// one number into one POST when Webhook.Batch says so) and hands each POST
// to a fixed pool of workers. The send path only pushes; it starts no
// goroutine.

// Event kinds.
const (
	evStatus   = iota // one status of one accepted send
	evInbound         // one inbound message, already built
	evFollowUp        // a customer's answer, built when due
	evRaw             // a body to post as is (retry, duplicate, account-level update)
)

type event struct {
	due  int64
	seq  uint64
	kind uint8
	n    *number // the number the update is about (nil for account-level)
	w    *waba
	st   *statusEvent
	in   *inbound
	fu   *followUp
	raw  *rawPost
}

// outMessage is what every status of one accepted send shares.
type outMessage struct {
	wamid, waID, bsuid, callback string
	category                     string // pricing category
	free                         bool   // free_customer_service
	convID                       string // set with Webhook.Conversation
	convExp                      int64
}

type statusEvent struct {
	msg     *outMessage
	status  string
	ts      int64 // Unix seconds
	errCode int   // on failed
	pricing bool  // carries pricing (and conversation)
}

// inbound is a built inbound message and its sender's contacts[] entry
// (nil for system messages, which have none).
type inbound struct {
	msg, contact []byte
	typ, wamid   string
}

// rawPost is a built body, with what it holds for the report.
type rawPost struct {
	body    []byte
	attempt int
	dup     bool
	tally   tally
	in      []*inbound // the inbound messages it carries, with Config.Track
}

// tally counts the updates of a POST.
type tally struct {
	statuses [len(statusNames)]int32
	messages int32
}

var statusNames = [...]string{"sent", "delivered", "read", "played", "failed"}

func statusIndex(s string) int {
	for i, n := range statusNames {
		if n == s {
			return i
		}
	}
	return 0
}

// queue is a min-heap of events by due time.
type queue struct {
	mu      sync.Mutex
	h       eventHeap
	seq     uint64
	max     int
	wake    chan struct{}
	dropped atomic.Int64
}

func newQueue(max int) *queue {
	return &queue{max: max, wake: make(chan struct{}, 1)}
}

// push adds events; those past the queue's capacity are dropped and
// counted.
func (q *queue) push(evs ...*event) {
	q.mu.Lock()
	wake := false
	for _, e := range evs {
		if len(q.h) >= q.max {
			q.dropped.Add(1)
			continue
		}
		q.seq++
		e.seq = q.seq
		wake = wake || len(q.h) == 0 || e.due < q.h[0].due
		heap.Push(&q.h, e)
	}
	q.mu.Unlock()
	if wake {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// next pops the events of the next POST when one is due at now; else it
// returns how long until the first is due (negative when none waits).
func (q *queue) next(now int64, batch float64, maxBatch int) ([]*event, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) == 0 {
		return nil, -1
	}
	if d := q.h[0].due - now; d > 0 {
		return nil, time.Duration(d)
	}
	first := heap.Pop(&q.h).(*event)
	g := []*event{first}
	if first.kind == evRaw || batch <= 0 || rand.Float64() >= batch || first.isSystem() {
		return g, 0
	}
	for len(g) < maxBatch && len(q.h) > 0 {
		e := q.h[0]
		if e.due > now || e.n != first.n || e.kind == evRaw || (e.kind == evStatus) != (first.kind == evStatus) || e.isSystem() {
			break
		}
		g = append(g, heap.Pop(&q.h).(*event))
	}
	return g, 0
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}

func (q *queue) clear() {
	q.mu.Lock()
	q.h = nil
	q.mu.Unlock()
	q.dropped.Store(0)
}

func (e *event) isSystem() bool { return e.kind == evInbound && e.in.contact == nil }

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].due < h[j].due || h[i].due == h[j].due && h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// startWebhooks starts the dispatcher and the workers.
func (s *Sim) startWebhooks() {
	work := make(chan []*event, s.cfg.Webhook.Concurrency)
	s.wg.Add(1 + s.cfg.Webhook.Concurrency)
	go func() {
		defer s.wg.Done()
		s.dispatch(work)
	}()
	for range s.cfg.Webhook.Concurrency {
		go func() {
			defer s.wg.Done()
			for {
				select {
				case g := <-work:
					s.deliver(g)
				case <-s.done:
					return
				}
			}
		}()
	}
}

// dispatch hands due POSTs to the workers until the simulator stops.
func (s *Sim) dispatch(work chan<- []*event) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wh := &s.cfg.Webhook
	for {
		g, wait := s.q.next(s.now(), wh.Batch, wh.MaxBatch)
		if g != nil {
			select {
			case work <- g:
			case <-s.done:
				return
			}
			continue
		}
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-s.q.wake:
		case <-timer.C:
		case <-s.done:
			return
		}
		timer.Stop()
	}
}

// deliver builds (if need be) and posts one body; on failure it queues a
// retry, on success maybe a duplicate.
func (s *Sim) deliver(g []*event) {
	first := g[0]
	w := first.w
	if first.n != nil {
		w = first.n.waba
	}
	if !w.subscribed.Load() {
		s.q.dropped.Add(int64(len(g)))
		return
	}
	rp := first.raw
	if first.kind != evRaw {
		rp = s.build(g)
	}
	wh := &s.cfg.Webhook
	hs := &s.stats.hooks
	hs.attempts.Add(1)
	if rp.dup {
		hs.duplicates.Add(1)
	}
	if s.track != nil && rp.attempt == 0 && len(rp.in) > 0 {
		s.track.posting(rp.in, s.now())
	}
	start := time.Now()
	if s.post(s.hookURL(first.n, w), rp.body) {
		if s.track != nil {
			s.track.acks.Record(time.Since(start))
			s.track.delivered(rp.in)
		}
		hs.posts.Add(1)
		if !rp.dup {
			for i, c := range rp.tally.statuses {
				hs.statuses[i].Add(int64(c))
			}
			hs.messages.Add(int64(rp.tally.messages))
			if wh.Duplicates > 0 && rand.Float64() < wh.Duplicates {
				dup := &rawPost{body: rp.body, dup: true}
				s.q.push(&event{due: s.now() + int64(wh.Delay.sample()), kind: evRaw, n: first.n, w: w, raw: dup})
			}
		}
		return
	}
	hs.errors.Add(1)
	rp.attempt++
	if rp.attempt >= wh.MaxAttempts {
		hs.failed.Add(1)
		return
	}
	hs.retries.Add(1)
	s.q.push(&event{due: s.now() + int64(s.backoff(rp.attempt)), kind: evRaw, n: first.n, w: w, raw: rp})
}

// backoff is the pause before retry number attempt (1 for the first):
// at once, then RetryBackoff doubling up to a minute.
func (s *Sim) backoff(attempt int) time.Duration {
	if attempt <= 1 {
		return 0
	}
	d := s.cfg.Webhook.RetryBackoff << min(attempt-2, 20)
	return min(d, time.Minute)
}

// hookURL is where webhooks about n (or w) go: the number's override, the
// WABA's, or Webhook.URL.
func (s *Sim) hookURL(n *number, w *waba) string {
	if n != nil {
		if o := n.override.Load(); o != nil {
			return *o
		}
	}
	if o := w.override.Load(); o != nil {
		return *o
	}
	return s.cfg.Webhook.URL
}

// post sends one signed webhook and reports whether it was answered 200.
func (s *Sim) post(url string, body []byte) bool {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Hub-Signature-256", ingest.Sign(s.cfg.Webhook.AppSecret, body))
	req.SetBodyRaw(body)
	err := s.client.DoTimeout(req, resp, s.cfg.Webhook.Timeout)
	if err == nil && resp.StatusCode() == fasthttp.StatusOK {
		return true
	}
	if s.failLog.Allow() {
		if err != nil {
			s.logger.Warn("sim: webhook not delivered, will retry", "err", err)
		} else {
			s.logger.Warn("sim: webhook not accepted, will retry", "status", resp.StatusCode())
		}
	}
	return false
}

// build writes the body of a POST of statuses or inbound messages of one
// number.
func (s *Sim) build(g []*event) *rawPost {
	n := g[0].n
	rp := &rawPost{}
	b := make([]byte, 0, 512*len(g))
	b = append(b, `{"object":"whatsapp_business_account","entry":[{"id":`...)
	b = appendString(b, n.waba.id)
	b = append(b, `,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":`...)
	b = appendString(b, n.cfg.DisplayPhoneNumber)
	b = append(b, `,"phone_number_id":`...)
	b = appendString(b, n.cfg.PhoneNumberID)
	b = append(b, '}', ',')
	if g[0].kind == evStatus {
		b = append(b, `"statuses":[`...)
		for i, e := range g {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStatus(b, e.st)
			rp.tally.statuses[statusIndex(e.st.status)]++
		}
	} else {
		ins := make([]*inbound, len(g))
		for i, e := range g {
			ins[i] = e.in
			if e.kind == evFollowUp {
				ins[i] = s.cust.followUpMessage(e.fu)
			}
		}
		if ins[0].contact != nil {
			b = append(b, `"contacts":[`...)
			seen := make(map[string]bool, len(ins))
			for _, in := range ins {
				if seen[string(in.contact)] {
					continue
				}
				if len(seen) > 0 {
					b = append(b, ',')
				}
				seen[string(in.contact)] = true
				b = append(b, in.contact...)
			}
			b = append(b, `],`...)
		}
		b = append(b, `"messages":[`...)
		for i, in := range ins {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, in.msg...)
		}
		rp.tally.messages = int32(len(ins))
		if s.track != nil {
			rp.in = ins
		}
	}
	b = append(b, `]},"field":"messages"}]}]}`...)
	rp.body = b
	return rp
}

// appendStatus writes one status object in the order Meta does.
func appendStatus(b []byte, st *statusEvent) []byte {
	m := st.msg
	b = append(b, `{"id":`...)
	b = appendString(b, m.wamid)
	b = appendField(b, false, "status", st.status)
	b = append(b, `,"timestamp":`...)
	b = appendUnixString(b, st.ts)
	if m.waID != "" {
		b = appendField(b, false, "recipient_id", m.waID)
	}
	if m.bsuid != "" {
		b = appendField(b, false, "recipient_user_id", m.bsuid)
	}
	if m.callback != "" {
		b = appendField(b, false, "biz_opaque_callback_data", m.callback)
	}
	if st.pricing && m.convID != "" {
		b = append(b, `,"conversation":{"id":`...)
		b = appendString(b, m.convID)
		if st.status == "sent" {
			b = append(b, `,"expiration_timestamp":`...)
			b = appendUnixString(b, m.convExp)
		}
		b = append(b, `,"origin":{"type":`...)
		b = appendString(b, m.category)
		b = append(b, `}}`...)
	}
	if st.pricing {
		b = append(b, `,"pricing":{"billable":`...)
		b = strconv.AppendBool(b, !m.free)
		b = append(b, `,"pricing_model":"PMP","type":`...)
		if m.free {
			b = appendString(b, "free_customer_service")
		} else {
			b = appendString(b, "regular")
		}
		b = appendField(b, false, "category", m.category)
		b = append(b, '}')
	}
	if st.status == "failed" {
		b = append(b, `,"errors":[`...)
		b = appendWebhookError(b, st.errCode)
		b = append(b, ']')
	}
	return append(b, '}')
}

// afterAccept queues what follows an accepted send: its statuses and the
// customer's answer.
func (s *Sim) afterAccept(a *accepted) {
	wh := &s.cfg.Webhook
	if a.reply != nil {
		a.reply.context = a.wamid
		s.q.push(&event{due: a.at + int64(s.cfg.Customers.ReplyDelay.sample()), kind: evFollowUp, n: a.n, fu: a.reply})
	}
	if !wh.Statuses {
		return
	}
	m := &outMessage{wamid: a.wamid, waID: a.waID, bsuid: a.bsuid, callback: a.callback, category: a.category, free: a.free}
	if m.waID == "" && s.cust != nil {
		m.waID = s.cust.phoneOf(a.bsuid)
	}
	if wh.Conversation {
		var id [16]byte
		for i := range 2 {
			v := rand.Uint64()
			for j := range 8 {
				id[i*8+j] = byte(v >> (8 * j))
			}
		}
		m.convID = hex.EncodeToString(id[:])
		m.convExp = s.unix(a.at) + 24*3600
	}
	var ladder []string
	switch {
	case wh.FailRate > 0 && rand.Float64() < wh.FailRate:
		ladder = []string{"failed"}
		if rand.IntN(2) == 0 {
			ladder = []string{"sent", "failed"}
		}
	case a.typ == "reaction":
		ladder = []string{"sent"}
	default:
		ladder = []string{"sent", "delivered"}
		if wh.Unread == 0 || rand.Float64() >= wh.Unread {
			ladder = append(ladder, "read")
			if a.voice {
				ladder = append(ladder, "played")
			}
		}
	}
	evs := make([]*event, len(ladder))
	t := a.at
	for i, st := range ladder {
		t += int64(wh.Delay.sample())
		se := &statusEvent{msg: m, status: st, ts: s.unix(t), pricing: st == "sent" || st == "delivered"}
		if st == "failed" {
			se.errCode = wh.FailCodes[rand.IntN(len(wh.FailCodes))]
		}
		evs[i] = &event{due: t, kind: evStatus, n: a.n, st: se}
	}
	if s.track != nil {
		s.track.statuses.Add(int64(len(evs)))
	}
	if len(evs) > 1 && wh.OutOfOrder > 0 && rand.Float64() < wh.OutOfOrder {
		dues := make([]int64, len(evs))
		for i, e := range evs {
			dues[i] = e.due
		}
		// Reverse the arrival order, strictly: the last status arrives
		// first even when all are due at once.
		for i, e := range evs {
			e.due = dues[len(dues)-1-i] + int64(len(evs)-1-i)
		}
	}
	s.q.push(evs...)
}

// templateStatusWebhook queues a message_template_status_update for t.
func (s *Sim) templateStatusWebhook(w *waba, t *template, status string) {
	if s.q == nil {
		return
	}
	now := s.now()
	b := make([]byte, 0, 384)
	b = append(b, `{"entry":[{"id":`...)
	b = appendString(b, w.id)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, s.unix(now), 10)
	b = append(b, `,"changes":[{"value":{"event":`...)
	b = appendString(b, status)
	b = append(b, `,"message_template_id":`...)
	b = append(b, t.id...)
	b = appendField(b, false, "message_template_name", t.name)
	b = appendField(b, false, "message_template_language", t.language)
	b = append(b, `,"reason":"NONE"`...)
	b = appendField(b, false, "message_template_category", t.category)
	b = append(b, `},"field":"message_template_status_update"}]}],"object":"whatsapp_business_account"}`...)
	s.q.push(&event{due: now, kind: evRaw, w: w, raw: &rawPost{body: b}})
}
