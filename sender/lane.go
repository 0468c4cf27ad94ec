package sender

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// lane sends one number's commands. One goroutine owns its state: the
// pace, each recipient's pair-limit bucket and queue, and the timers of
// commands that wait (retries, backoffs, unknown outcomes). Requests run
// concurrently, up to MaxInFlight; a recipient that must wait never holds
// up the others.
type lane struct {
	s       *Sender
	number  string
	token   string
	pace    *pacer
	in      chan *job
	results chan result

	recips   map[string]*recipient
	runnable []*recipient // recipients with queued jobs that may be ready
	timers   timerHeap
	inflight int
}

// recipient is one user of the number: its pair-limit bucket and its
// commands in order.
type recipient struct {
	key      string
	b        bucket
	queue    []*job
	runnable bool // in lane.runnable
	waiting  bool // a timer will make it runnable
}

type result struct {
	j    *job
	resp *SendResponse
	err  error
}

func newLane(s *Sender, number, token string, mps float64) *lane {
	return &lane{s: s, number: number, token: token, pace: newPacer(max(mps, 0)),
		in: make(chan *job, 1024), results: make(chan result, 1024), recips: map[string]*recipient{}}
}

func (l *lane) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastPrune := time.Now()
	for {
		now := time.Now()
		if now.Sub(lastPrune) > 10*time.Second {
			l.prune(now)
			lastPrune = now
		}
		l.fire(now)
		if batch := l.pick(now); len(batch) > 0 {
			l.launch(batch)
		}
		timer.Reset(l.nextWake(now))
		select {
		case j := <-l.in:
			l.enqueue(j)
		case r := <-l.results:
			rs := []result{r}
			for len(rs) < 1024 {
				select {
				case r := <-l.results:
					rs = append(rs, r)
					continue
				default:
				}
				break
			}
			l.handle(rs)
		case <-timer.C:
		case <-ctx.Done():
			// Let the requests in flight finish and record them; what is
			// queued stays unfinished and is read again after a restart.
			for l.inflight > 0 {
				l.handle([]result{<-l.results})
			}
			return
		}
	}
}

// enqueue puts a job on its recipient's queue, or on a timer if it is not
// due yet.
func (l *lane) enqueue(j *job) {
	if j.due.After(time.Now()) {
		heap.Push(&l.timers, timed{at: j.due, j: j})
		return
	}
	if j.isRead {
		// Read receipts are neither paced nor pair-limited.
		l.launch([]*job{j})
		return
	}
	r := l.recips[j.cmd.UserKey()]
	if r == nil {
		r = &recipient{key: j.cmd.UserKey()}
		l.recips[r.key] = r
	}
	r.queue = append(r.queue, j)
	l.makeRunnable(r)
}

func (l *lane) makeRunnable(r *recipient) {
	if !r.runnable && !r.waiting && len(r.queue) > 0 {
		r.runnable = true
		l.runnable = append(l.runnable, r)
	}
}

// fire moves what became due off the timers.
func (l *lane) fire(now time.Time) {
	for len(l.timers) > 0 && !l.timers[0].at.After(now) {
		t := heap.Pop(&l.timers).(timed)
		if t.r != nil {
			t.r.waiting = false
			l.makeRunnable(t.r)
			continue
		}
		t.j.due = time.Time{}
		l.enqueue(t.j)
	}
}

// pick takes the jobs that may go now: within the pace, the in-flight
// bound and each recipient's bucket, one recipient after another.
func (l *lane) pick(now time.Time) []*job {
	var out []*job
	pl := l.s.cfg.PairLimit
	for len(l.runnable) > 0 && l.inflight+len(out) < l.s.cfg.MaxInFlight && l.pace.wait(now) == 0 {
		r := l.runnable[0]
		l.runnable = l.runnable[1:]
		r.runnable = false
		if len(r.queue) == 0 {
			continue
		}
		if t := r.b.ready(now, pl); t.After(now) {
			r.waiting = true
			heap.Push(&l.timers, timed{at: t, r: r})
			throttled.Inc()
			continue
		}
		j := r.queue[0]
		r.queue = r.queue[1:]
		r.b.take(now, pl)
		l.pace.take(now)
		out = append(out, j)
		l.makeRunnable(r)
	}
	return out
}

func (l *lane) nextWake(now time.Time) time.Duration {
	d := time.Hour
	if len(l.timers) > 0 {
		d = l.timers[0].at.Sub(now)
	}
	if len(l.runnable) > 0 && l.inflight < l.s.cfg.MaxInFlight {
		d = min(d, max(l.pace.wait(now), time.Millisecond))
	}
	return max(d, 0)
}

// launch hands the jobs to the marker, which records them in flight in the
// ledger and then sends them. A job whose outcome was unknown is first
// looked up again: a status webhook may have settled it meanwhile.
//
// A status webhook is only seen once the settle loop has read it: a job
// waits until every webhook that came before its settle time was read (after
// a restart on Kafka that is the session timeout later), so that it is not
// sent again for want of reading.
func (l *lane) launch(batch []*job) {
	var rechecks []string
	var unread []*job
	caughtUp := l.s.settled.caughtUp()
	kept := batch[:0]
	for _, j := range batch {
		switch {
		case j.recheck && caughtUp.Before(j.settleBy):
			l.s.settled.want()
			unread = append(unread, j)
			continue
		case j.recheck:
			rechecks = append(rechecks, j.cmd.ID)
		}
		kept = append(kept, j)
	}
	batch = kept
	if len(unread) > 0 {
		sendsAwaitingStatuses.Add(len(unread))
		l.retryLater(unread, settlePoll)
	}
	if len(rechecks) > 0 {
		known, err := l.s.ledger.lookup(rechecks)
		if err != nil {
			l.retryLater(batch, time.Second)
			return
		}
		kept := batch[:0]
		for _, j := range batch {
			if e := known[j.cmd.ID]; j.recheck && (e.state == stateSent || e.state == stateFailed) {
				sendsSettled.Inc()
				l.s.finish(j)
				continue
			}
			kept = append(kept, j)
		}
		batch = kept
	}
	if len(batch) == 0 {
		return
	}
	for _, j := range batch {
		j.recheck = false
	}
	l.inflight += len(batch)
	l.s.toMark <- markBatch{l: l, jobs: batch}
}

// sendAll posts each job, concurrently; the answers come back on results.
func (l *lane) sendAll(batch []*job) {
	for _, j := range batch {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), l.s.cfg.SendTimeout)
			start := time.Now()
			resp, err := l.s.graph.Send(ctx, l.token, l.number, j.body)
			cancel()
			sendLatency.UpdateDuration(start)
			l.results <- result{j: j, resp: resp, err: err}
		}()
	}
}

func (l *lane) retryLater(batch []*job, d time.Duration) {
	for _, j := range batch {
		j.due = time.Now().Add(d)
		heap.Push(&l.timers, timed{at: j.due, j: j})
	}
}

// handle applies the answers of finished requests: the ledger, events and
// dead letters, the limits, and retries.
func (l *lane) handle(rs []result) {
	now := time.Now()
	var out []*stream.Record
	marks := map[string]entry{}
	var finished []*job
	for _, r := range rs {
		l.inflight--
		j := r.j
		rc := l.recips[j.cmd.UserKey()]
		if r.err == errLedger {
			heap.Push(&l.timers, timed{at: now.Add(time.Second), j: j})
			continue
		}
		if r.err == nil {
			sendsAccepted.Inc()
			wamid := r.resp.WAMID()
			marks[j.cmd.ID] = entry{state: stateSent, wamid: wamid}
			if !j.isRead {
				out = append(out, l.s.event(j, schemas.EventSendAccepted, 0, wamid, ""))
				if rc != nil {
					rc.b.passed()
				}
			}
			finished = append(finished, j)
			continue
		}
		code := errorCode(r.err)
		class := Classify(r.err)
		if class == "" {
			class = schemas.ClassRetry // the lane's own deadline: a timeout
		}
		j.attempt++
		switch {
		case code == 131056 && rc != nil:
			// Pair limit: this recipient waits 4^X s, the others go on.
			throttled.Inc()
			rc.b.hit(now, l.s.cfg.BackoffUnit)
			rc.queue = append([]*job{j}, rc.queue...)
			if !rc.waiting {
				rc.waiting = true
				heap.Push(&l.timers, timed{at: rc.b.blocked, r: rc})
			}
			out = append(out, l.s.event(j, schemas.EventThrottled, code, "", "pair rate limit"))
		case code == 130429:
			throttled.Inc()
			l.pace.throttled(now)
			j.due = now.Add(time.Second)
			heap.Push(&l.timers, timed{at: j.due, j: j})
			out = append(out, l.s.event(j, schemas.EventThrottled, code, "", "throughput limit"))
		case class == schemas.ClassRetry && j.attempt < l.s.cfg.MaxAttempts:
			sendsRetried.Inc()
			if unknownOutcome(r.err) {
				// Meta may have taken it: wait for a status webhook to
				// settle it before sending again.
				j.recheck = true
				j.due = now.Add(l.s.cfg.SettleDelay)
				j.settleBy = j.due
			} else {
				j.due = now.Add(l.backoff(j.attempt))
			}
			heap.Push(&l.timers, timed{at: j.due, j: j})
			out = append(out, l.s.event(j, schemas.EventSendRetried, code, "", r.err.Error()))
		default:
			sendsFailed.Inc()
			reason := r.err.Error()
			if class == schemas.ClassRetry {
				reason = "gave up after " + strconv.Itoa(j.attempt) + " attempts: " + reason
			}
			out = append(out, l.s.deadLetter(j.rec, j.cmd, reason, code),
				l.s.event(j, schemas.EventSendFailed, code, "", reason))
			marks[j.cmd.ID] = entry{state: stateFailed}
			finished = append(finished, j)
		}
	}
	if len(out) > 0 || len(marks) > 0 || len(finished) > 0 {
		l.s.toApply <- effects{out: out, marks: marks, finished: finished}
	}
}

// prune forgets recipients with nothing queued whose bucket is full again,
// so that a number's memory follows its active recipients.
func (l *lane) prune(now time.Time) {
	full := time.Duration(l.s.cfg.PairLimit.Burst) * l.s.cfg.PairLimit.Interval
	for key, rc := range l.recips {
		if len(rc.queue) == 0 && !rc.waiting && !rc.runnable && rc.b.strikes == 0 && now.Sub(rc.b.at) > full {
			delete(l.recips, key)
		}
	}
}

// backoff is exponential with full jitter, between RetryBase and RetryMax.
func (l *lane) backoff(attempt int) time.Duration {
	d := l.s.cfg.RetryBase << min(attempt-1, 20)
	d = min(d, l.s.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// finish marks a job's record done.
func (s *Sender) finish(j *job) {
	s.forget(j.cmd.ID)
	s.track.Done(j.rec)
}

// errorCode is Meta's error code in err, or 0.
func errorCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// unknownOutcome reports whether the request may have reached Meta
// although no answer came back: a timeout or a broken connection, as
// opposed to an answer that said no.
func unknownOutcome(err error) bool {
	var ae *APIError
	return !errors.As(err, &ae)
}

// timed is a timer entry: a job that becomes due, or a recipient whose
// bucket or backoff lets it send again.
type timed struct {
	at time.Time
	j  *job
	r  *recipient
}

type timerHeap []timed

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, k int) bool { return h[i].at.Before(h[k].at) }
func (h timerHeap) Swap(i, k int)      { h[i], h[k] = h[k], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timed)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
