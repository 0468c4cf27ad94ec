package sender

import (
	"math"
	"time"
)

// pacer spaces a number's sends so that no one-second window holds more
// than its limit. It is a GCRA: each send takes 1/rate of time, with a
// small allowance for sends that arrive together. On 130429 (Meta says the
// number is over its throughput) it slows down, then recovers step by step.
type pacer struct {
	limit float64       // configured messages per second; 0 means no pacing
	rate  float64       // current rate, ≤ limit
	tat   time.Time     // theoretical arrival time of the next send
	slack time.Duration // how far ahead of tat a send may go
	calm  time.Time     // when the rate may next step up
}

// paceMargin keeps the pace just under Meta's limit, so that jitter on the
// way to Meta does not push a window over it.
const paceMargin = 0.95

func newPacer(mps float64) *pacer {
	p := &pacer{limit: mps * paceMargin}
	p.rate = p.limit
	p.setSlack()
	return p
}

func (p *pacer) setSlack() {
	if p.rate > 0 {
		// A hundredth of a second's worth, at least one send.
		p.slack = time.Duration(math.Max(1, p.rate/100) * float64(time.Second) / p.rate)
	}
}

// wait returns how long to wait before the next send may go; zero means
// now.
func (p *pacer) wait(now time.Time) time.Duration {
	if p.limit <= 0 || !p.tat.After(now.Add(p.slack)) {
		return 0
	}
	return p.tat.Sub(now.Add(p.slack))
}

// take accounts for one send at now; the caller checked wait first.
func (p *pacer) take(now time.Time) {
	if p.limit <= 0 {
		return
	}
	p.recover(now)
	if p.tat.Before(now) {
		p.tat = now
	}
	p.tat = p.tat.Add(time.Duration(float64(time.Second) / p.rate))
}

// throttled slows the pace after Meta answered 130429.
func (p *pacer) throttled(now time.Time) {
	if p.limit <= 0 {
		return
	}
	p.rate = math.Max(1, p.rate*0.7)
	p.calm = now.Add(time.Second)
	p.tat = now.Add(time.Second) // let the window Meta counts drain
	p.setSlack()
}

// recover steps the rate back up by a tenth of the limit per calm second.
func (p *pacer) recover(now time.Time) {
	if p.rate >= p.limit || now.Before(p.calm) {
		return
	}
	p.rate = math.Min(p.limit, p.rate+p.limit/10)
	p.calm = now.Add(time.Second)
	p.setSlack()
}

// pairLimit is Meta's per-recipient limit: a burst, then one message per
// interval (a token bucket), and after a 131056 a backoff of 4^X seconds
// for that recipient alone.
type pairLimit struct {
	Burst    int
	Interval time.Duration
}

// pairMargin and pairSlack stretch the interval a little, so that jitter
// between the sender and Meta does not make Meta see a send early.
const (
	pairMargin = 1.05
	pairSlack  = 50 * time.Millisecond
)

func (pl pairLimit) interval() time.Duration {
	return time.Duration(float64(pl.Interval)*pairMargin) + pairSlack
}

// bucket is one recipient's state under the pair limit.
type bucket struct {
	tokens  float64
	at      time.Time // when tokens was computed
	blocked time.Time // no send before this (backoff after 131056)
	strikes int       // 131056 answers in a row
}

// ready returns when the recipient may next be sent to (now or later).
func (b *bucket) ready(now time.Time, pl pairLimit) time.Time {
	b.refill(now, pl)
	t := now
	if b.tokens < 1 {
		t = now.Add(time.Duration((1 - b.tokens) * float64(pl.interval())))
	}
	if b.blocked.After(t) {
		t = b.blocked
	}
	return t
}

func (b *bucket) refill(now time.Time, pl pairLimit) {
	if b.at.IsZero() {
		b.tokens, b.at = float64(pl.Burst), now
		return
	}
	if pl.Interval > 0 {
		b.tokens = math.Min(float64(pl.Burst), b.tokens+float64(now.Sub(b.at))/float64(pl.interval()))
	}
	b.at = now
}

func (b *bucket) take(now time.Time, pl pairLimit) {
	b.refill(now, pl)
	b.tokens--
}

// hit records a 131056: back off 1, 4, 16, 64, 256… seconds, and empty the
// bucket, since Meta counts what it let through.
func (b *bucket) hit(now time.Time, unit time.Duration) {
	b.blocked = now.Add(time.Duration(math.Pow(4, float64(min(b.strikes, 6)))) * unit)
	b.strikes++
	b.tokens = 0
	b.at = now
}

// passed resets the backoff after a send went through.
func (b *bucket) passed() { b.strikes = 0 }
