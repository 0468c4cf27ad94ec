package bot

import (
	"sync"
	"time"
)

// Budget keeps the LLM tokens each tenant used per UTC day, for
// OpenAIConfig.DailyTokenBudget. Implementations must be safe for
// concurrent use and quick: they are asked before and told after every LLM
// call (a persistent one should keep the counts in memory and write them
// behind). Calls in flight together may overshoot a budget by their own
// tokens.
type Budget interface {
	// Used returns the tokens tenant used on the UTC day of now.
	Used(tenant string, now time.Time) int
	// Add records n more tokens used by tenant on the UTC day of now.
	Add(tenant string, now time.Time, n int)
}

// MemoryBudget is a Budget in memory; its zero value is ready. A tenant's
// count restarts at 0 on each UTC day.
type MemoryBudget struct {
	mu   sync.Mutex
	used map[string]dayCount
}

var _ Budget = (*MemoryBudget)(nil)

type dayCount struct {
	day  int64 // days since the Unix epoch, UTC
	used int
}

func utcDay(t time.Time) int64 {
	d := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		d--
	}
	return d
}

// Used implements Budget.
func (b *MemoryBudget) Used(tenant string, now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.used[tenant]; ok && c.day == utcDay(now) {
		return c.used
	}
	return 0
}

// Add implements Budget.
func (b *MemoryBudget) Add(tenant string, now time.Time, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = make(map[string]dayCount)
	}
	day := utcDay(now)
	c := b.used[tenant]
	if c.day != day {
		c = dayCount{day: day}
	}
	c.used += n
	b.used[tenant] = c
}
