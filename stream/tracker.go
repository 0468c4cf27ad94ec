package stream

import (
	"sort"
	"sync"
)

// Tracker finds what a consumer may commit when records finish out of
// order: for each partition, everything before the lowest record still
// unfinished. Stages that work on records concurrently (the processor per
// conversation, the sender per recipient) add each fetched record, mark it
// done when its effects are durable, and commit what Commits returns.
type Tracker struct {
	mu    sync.Mutex
	parts map[tp]*pending
}

type tp struct {
	topic string
	part  int32
}

// pending holds a partition's unfinished offsets in fetch order, which is
// offset order; done ones are removed lazily from the front.
type pending struct {
	offsets []int64
	done    map[int64]bool
	next    int64 // one past the highest offset added
	dirty   bool  // something finished since the last Commits
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{parts: map[tp]*pending{}} }

// Add registers a fetched record as unfinished.
func (t *Tracker) Add(r *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[tp{r.Topic, r.Partition}]
	if p == nil {
		p = &pending{done: map[int64]bool{}}
		t.parts[tp{r.Topic, r.Partition}] = p
	}
	p.offsets = append(p.offsets, r.Offset)
	p.next = max(p.next, r.Offset+1)
}

// Done marks a record finished.
func (t *Tracker) Done(r *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[tp{r.Topic, r.Partition}]
	if p == nil {
		return
	}
	p.done[r.Offset] = true
	p.dirty = true
}

// Commits returns, for each partition where something finished since the
// last call, the offset to commit: the lowest unfinished record, or one
// past the highest record added when all are finished.
func (t *Tracker) Commits() []Offset {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Offset
	for k, p := range t.parts {
		if !p.dirty {
			continue
		}
		p.dirty = false
		i := 0
		for i < len(p.offsets) && p.done[p.offsets[i]] {
			delete(p.done, p.offsets[i])
			i++
		}
		if i == 0 {
			continue
		}
		p.offsets = p.offsets[i:]
		next := p.next
		if len(p.offsets) > 0 {
			next = p.offsets[0]
		}
		out = append(out, Offset{Topic: k.topic, Partition: k.part, Next: next})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Pending is the number of records added and not yet finished.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.parts {
		n += len(p.offsets) - len(p.done)
	}
	return n
}
