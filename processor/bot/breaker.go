package bot

import (
	"sync"
	"time"
)

// BreakerConfig configures the OpenAI bot's circuit breaker: after
// Failures failed replies in a row (each after its retries) it opens, and
// replies get the fallback and a handoff without calling the LLM; after
// Cooldown one reply tries the LLM again (the others still get the
// fallback): success closes the breaker, failure opens it for another
// Cooldown. Zero means 5 failures and 30 s; negative Failures turns the
// breaker off.
type BreakerConfig struct {
	Failures int
	Cooldown time.Duration
}

// breaker is the circuit breaker of one bot.
type breaker struct {
	max      int
	cooldown time.Duration

	mu        sync.Mutex
	failures  int       // in a row
	openUntil time.Time // while failures >= max
	probing   bool      // a trial call is in flight
}

// allow reports whether a call may go at now. A true answer must be
// followed by done or release.
func (b *breaker) allow(now time.Time) bool {
	if b.max <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.max {
		return true
	}
	if now.Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

// done records the outcome of an allowed call at now and reports whether
// it opened or closed the breaker.
func (b *breaker) done(now time.Time, ok bool) (opened, closed bool) {
	if b.max <= 0 {
		return false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := b.failures >= b.max
	b.probing = false
	if ok {
		b.failures = 0
		return false, wasOpen
	}
	b.failures++
	if b.failures >= b.max {
		b.openUntil = now.Add(b.cooldown)
		return !wasOpen, false
	}
	return false, false
}

// release ends an allowed call whose outcome does not count (the caller
// gave up).
func (b *breaker) release() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
