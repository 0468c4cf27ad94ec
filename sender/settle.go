package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"wasp/schemas"
	"wasp/stream"
)

// settlePoll is how often the settle loop checks how far it has read, and
// how long a job waiting for it waits before it looks again.
const settlePoll = 500 * time.Millisecond

var sendsAwaitingStatuses = metrics.NewCounter(`wasp_sender_rechecks_awaiting_statuses_total`)

// settleProgress tracks how far the settle loop has read the webhooks
// topic: caughtUp is a time T such that every webhook appended before T
// has been read. It is taken from a snapshot of the partitions' ends at T,
// reached once the loop has read past each of them.
type settleProgress struct {
	at     atomic.Int64 // caughtUp, Unix nanoseconds
	wanted atomic.Int64 // when a job last waited for it, Unix nanoseconds

	mu      sync.Mutex
	read    map[int32]int64 // next offset to read, per partition
	target  map[int32]int64 // the snapshot's ends not yet read past
	takenAt time.Time
}

func (p *settleProgress) caughtUp() time.Time { return time.Unix(0, p.at.Load()) }

// want says that a job waits for caughtUp to move: the log's positions
// are read only while some job does.
func (p *settleProgress) want() { p.wanted.Store(time.Now().UnixNano()) }

// waitedFor reports whether a job waited for caughtUp within d of now.
func (p *settleProgress) waitedFor(now time.Time, d time.Duration) bool {
	return now.Sub(time.Unix(0, p.wanted.Load())) < d
}

// advance records that the loop read up to next in partition.
func (p *settleProgress) advance(partition int32, next int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.read == nil {
		p.read = map[int32]int64{}
	}
	p.read[partition] = max(p.read[partition], next)
}

// check takes a new snapshot with positions when there is none, and
// moves caughtUp to the snapshot's time once every end in it was read.
func (p *settleProgress) check(now time.Time, positions func() ([]stream.Position, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target == nil {
		ps, err := positions()
		if err != nil {
			return err
		}
		p.target, p.takenAt = map[int32]int64{}, now
		for _, pos := range ps {
			if pos.End > max(pos.Committed, p.read[pos.Partition]) {
				p.target[pos.Partition] = pos.End
			}
		}
	}
	for part, end := range p.target {
		if p.read[part] >= end {
			delete(p.target, part)
		}
	}
	if len(p.target) == 0 {
		p.at.Store(p.takenAt.UnixNano())
		p.target = nil
	}
	return nil
}

// settleLoop reads the webhooks topic for what the sender needs from Meta's
// callbacks: status webhooks echoing a command id settle sends whose
// outcome was unknown, and user_preferences webhooks record marketing
// opt-outs. It has its own consumer group and reads only records that
// mention either.
func (s *Sender) settleLoop(ctx context.Context) error {
	group := s.cfg.Group + "-settle"
	c, err := s.log.Consume(group, s.cfg.WebhooksTopic)
	if err != nil {
		s.logger.Error("cannot read status webhooks; unknown sends are resent after the settle delay", "err", err)
		s.settled.at.Store(1<<63 - 1) // nothing to wait for
		return err
	}
	defer c.Close()
	// How far the loop has read: from the log's positions when it can tell
	// them, else (a log without them) whatever was fetched counts as now.
	lagger, _ := s.log.(stream.Lagger)
	go func() {
		t := time.NewTicker(settlePoll)
		defer t.Stop()
		var failing time.Time // since when positions cannot be read
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if lagger == nil {
					s.settled.at.Store(now.UnixNano())
					continue
				}
				if !s.settled.waitedFor(now, 10*settlePoll) {
					continue // nobody waits: no need to ask the log
				}
				err := s.settled.check(now, func() ([]stream.Position, error) {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					return lagger.Positions(pctx, group, s.cfg.WebhooksTopic)
				})
				switch {
				case err == nil:
					failing = time.Time{}
				case failing.IsZero():
					failing = now
				case now.Sub(failing) > time.Minute:
					// Rather than hold sends of unknown outcome forever,
					// go back to waiting the settle delay alone.
					s.logger.Warn("cannot tell how far status webhooks were read; unknown sends are resent after the settle delay", "err", err)
					s.settled.at.Store(now.UnixNano())
					failing = now
				}
			}
		}
	}()
	for {
		recs, err := c.Fetch(ctx, 1024)
		if err != nil {
			return nil // ctx ended, or the log closed
		}
		var offs []stream.Offset
		for _, r := range recs {
			s.settleRecord(r)
			offs = append(offs, r.NextOffset())
		}
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.Commit(cctx, offs...)
		cancel()
		for _, o := range offs {
			s.settled.advance(o.Partition, o.Next)
		}
	}
}

var (
	callbackField    = []byte(`"biz_opaque_callback_data"`)
	preferencesField = []byte(`"user_preferences"`)
)

// settleWebhook is the part of a webhook the settle loop reads: decoding
// only these fields costs a fraction of a full parse, and every status
// webhook comes through here.
type settleWebhook struct {
	Entry []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Statuses []struct {
					ID       string `json:"id"`
					Status   string `json:"status"`
					Callback string `json:"biz_opaque_callback_data"`
				} `json:"statuses"`
				UserPreferences []struct {
					WaID     string `json:"wa_id"`
					UserID   string `json:"user_id"`
					Category string `json:"category"`
					Value    string `json:"value"`
				} `json:"user_preferences"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

func (s *Sender) settleRecord(r *stream.Record) {
	if !bytes.Contains(r.Value, callbackField) && !bytes.Contains(r.Value, preferencesField) {
		return
	}
	var w settleWebhook
	if json.Unmarshal(r.Value, &w) != nil {
		return // the processor dead-letters it
	}
	for _, e := range w.Entry {
		for _, ch := range e.Changes {
			v := &ch.Value
			for _, st := range v.Statuses {
				cb, ok := schemas.ParseCallback(st.Callback)
				if !ok || st.Status == schemas.StatusFailed {
					continue
				}
				if settled, err := s.ledger.settle(cb.CommandID, st.ID); err != nil {
					s.logger.Warn("cannot settle a send", "err", err)
				} else if settled {
					sendsSettled.Inc()
				}
			}
			if ch.Field != schemas.FieldUserPreferences {
				continue
			}
			number := v.Metadata.PhoneNumberID
			for _, p := range v.UserPreferences {
				if p.Category != "marketing_messages" {
					continue
				}
				stop := p.Value == "stop"
				if !stop && p.Value != "resume" && p.Value != "signup" {
					continue
				}
				// Commands name the user by phone or by BSUID: record both.
				for _, user := range []string{p.WaID, p.UserID} {
					if user != "" {
						if err := s.ledger.setOptOut(number, user, stop); err != nil {
							s.logger.Warn("cannot record a marketing opt-out", "err", err)
						}
					}
				}
			}
		}
	}
}
