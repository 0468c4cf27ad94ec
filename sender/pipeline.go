package sender

import (
	"context"
	"errors"

	"wasp/stream"
)

// The lanes decide; two goroutines shared by all lanes do the synced
// writes, each for many jobs at once, so that a lane never waits on a disk:
// the marker records jobs in flight in the ledger before they are sent, and
// the applier makes the outcome of finished jobs durable (events, dead
// letters, the ledger) before their records may be committed.

// markBatch is jobs a lane wants sent.
type markBatch struct {
	l    *lane
	jobs []*job
}

// errLedger is the result of a job that could not be marked in flight: it
// was not sent and is tried again.
var errLedger = errors.New("cannot write the sender's ledger")

func (s *Sender) markLoop() {
	defer s.loops.Done()
	for b := range s.toMark {
		group := []markBatch{b}
	gather:
		for {
			select {
			case b, ok := <-s.toMark:
				if !ok {
					break gather
				}
				group = append(group, b)
			default:
				break gather
			}
		}
		marks := map[string]entry{}
		for _, b := range group {
			for _, j := range b.jobs {
				if !j.isRead { // no status settles a read receipt
					marks[j.cmd.ID] = entry{state: stateInFlight}
				}
			}
		}
		if err := s.ledger.mark(marks); err != nil {
			s.logger.Error("cannot write the ledger; holding sends", "err", err)
			for _, b := range group {
				go func() {
					for _, j := range b.jobs {
						b.l.results <- result{j: j, err: errLedger}
					}
				}()
			}
			continue
		}
		for _, b := range group {
			b.l.sendAll(b.jobs)
		}
	}
}

// effects is what finished jobs leave to make durable.
type effects struct {
	out      []*stream.Record
	marks    map[string]entry
	finished []*job
}

func (s *Sender) applyLoop() {
	defer s.loops.Done()
	for e := range s.toApply {
	gather:
		for len(e.out) < 10_000 {
			select {
			case more, ok := <-s.toApply:
				if !ok {
					break gather
				}
				e.out = append(e.out, more.out...)
				for id, m := range more.marks {
					e.marks[id] = m
				}
				e.finished = append(e.finished, more.finished...)
			default:
				break gather
			}
		}
		// Events first: if the process dies before the ledger write, the
		// send is settled by its status webhook and its event is already
		// out (with the same id, which analytics deduplicates).
		if len(e.out) > 0 {
			if err := s.log.Append(context.Background(), e.out...); err != nil {
				s.logger.Error("cannot write the sender's events and dead letters", "err", err)
			}
		}
		if err := s.ledger.mark(e.marks); err != nil {
			s.logger.Error("cannot record sends in the ledger; status webhooks will settle them", "err", err)
		}
		for _, j := range e.finished {
			s.finish(j)
		}
	}
}
