package stream

import (
	"context"
	"sort"
	"sync"
	"time"
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
	offsets   []int64
	done      map[int64]bool
	next      int64 // one past the highest offset added
	committed int64 // the offset last handed out by Commits
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{parts: map[tp]*pending{}} }

// Add registers a fetched record as unfinished.
func (t *Tracker) Add(r *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[tp{r.Topic, r.Partition}]
	if p == nil {
		p = &pending{done: map[int64]bool{}, committed: r.Offset}
		t.parts[tp{r.Topic, r.Partition}] = p
	}
	p.offsets = append(p.offsets, r.Offset)
	p.next = max(p.next, r.Offset+1)
}

// Done marks a record finished.
func (t *Tracker) Done(r *Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.parts[tp{r.Topic, r.Partition}]; p != nil {
		p.done[r.Offset] = true
	}
}

// Commits returns, for each partition where the committable offset moved
// since the last call, the offset to commit: the lowest unfinished record,
// or one past the highest record added when all are finished.
func (t *Tracker) Commits() []Offset {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Offset
	for k, p := range t.parts {
		i := 0
		for i < len(p.offsets) && p.done[p.offsets[i]] {
			delete(p.done, p.offsets[i])
			i++
		}
		p.offsets = p.offsets[i:]
		next := p.next
		if len(p.offsets) > 0 {
			next = p.offsets[0]
		}
		if next > p.committed {
			p.committed = next
			out = append(out, Offset{Topic: k.topic, Partition: k.part, Next: next})
		}
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

// Pump fetches batches of up to max records from c and calls handle with
// each, and tick every interval, until ctx ends or a fetch fails. handle
// and tick run on the caller's goroutine, one at a time, while the next
// batch is being fetched. It returns nil when ctx ended, else the fetch's
// error.
func Pump(ctx context.Context, c Consumer, max int, every time.Duration, handle func([]*Record), tick func()) error {
	fetched := make(chan []*Record)
	failed := make(chan error, 1)
	go func() {
		for {
			recs, err := c.Fetch(ctx, max)
			if err != nil {
				failed <- err
				return
			}
			select {
			case fetched <- recs:
			case <-ctx.Done():
				failed <- ctx.Err()
				return
			}
		}
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case recs := <-fetched:
			handle(recs)
		case <-t.C:
			tick()
		case err := <-failed:
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// CommitDone commits what t says is done; a failure is returned for the
// caller to log, and the same offsets are committed again next time.
// flush, when set, runs between taking the offsets and committing them:
// a stage whose effects are written without a sync of their own makes them
// durable there, so that no offset is committed ahead of its effects.
func CommitDone(ctx context.Context, c Consumer, t *Tracker, flush func() error) error {
	offs := t.Commits()
	if len(offs) == 0 {
		return nil
	}
	if flush != nil {
		if err := flush(); err != nil {
			t.retry(offs)
			return err
		}
	}
	if err := c.Commit(ctx, offs...); err != nil {
		t.retry(offs)
		return err
	}
	return nil
}

// retry hands offs out again at the next Commits, after a failed commit.
func (t *Tracker) retry(offs []Offset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range offs {
		if p := t.parts[tp{o.Topic, o.Partition}]; p != nil {
			p.committed = min(p.committed, o.Next-1)
		}
	}
}
