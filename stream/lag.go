package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Position is how far a consumer group has come in one partition.
type Position struct {
	Topic     string
	Partition int32
	// End is the offset the partition's next record gets; Committed the
	// group's committed offset (where it resumes).
	End, Committed int64
}

// Lagger is a Log that can tell how far a consumer group is behind.
type Lagger interface {
	// Positions returns the group's position in each partition of topics
	// that it consumes or has committed.
	Positions(ctx context.Context, group string, topics ...string) ([]Position, error)
}

var (
	_ Lagger = (*Badger)(nil)
	_ Lagger = (*Kafka)(nil)
)

// Lag is how many records of ps were appended and not yet committed.
func Lag(ps []Position) int64 {
	var n int64
	for _, p := range ps {
		n += max(p.End-p.Committed, 0)
	}
	return n
}

// Positions implements Lagger: each partition's synced end and the group's
// committed offset (0 when it has none).
func (l *Badger) Positions(_ context.Context, group string, topics ...string) ([]Position, error) {
	var out []Position
	for _, topic := range topics {
		ps, err := l.loadTopic(topic)
		if err != nil {
			return nil, err
		}
		err = l.db.View(func(txn *badger.Txn) error {
			for i, p := range ps {
				pos := Position{Topic: topic, Partition: int32(i)}
				item, err := txn.Get(commitKey(group, topic, int32(i)))
				switch {
				case err == nil:
					err = item.Value(func(v []byte) error {
						if len(v) != 8 {
							return errors.New("corrupt committed offset")
						}
						pos.Committed = int64(binary.BigEndian.Uint64(v))
						return nil
					})
					if err != nil {
						return err
					}
				case !errors.Is(err, badger.ErrKeyNotFound):
					return err
				}
				l.mu.Lock()
				pos.End = p.next
				l.mu.Unlock()
				out = append(out, pos)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("cannot read the position of group %q on %s: %w", group, topic, err)
		}
	}
	return out, nil
}

// Positions implements Lagger with the brokers' end offsets and the
// group's commits; a partition the group never committed counts from its
// start.
func (k *Kafka) Positions(ctx context.Context, group string, topics ...string) ([]Position, error) {
	lags, err := k.adm.Lag(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("cannot read the position of group %q: %w", group, err)
	}
	gl := lags[group]
	if err := gl.Error(); err != nil {
		return nil, fmt.Errorf("cannot read the position of group %q: %w", group, err)
	}
	var out []Position
	for _, topic := range topics {
		for p, m := range gl.Lag[topic] {
			if m.Err != nil || m.Lag < 0 {
				return nil, fmt.Errorf("cannot read the position of group %q on %s/%d: %v", group, topic, p, m.Err)
			}
			out = append(out, Position{Topic: topic, Partition: p, End: m.End.Offset, Committed: m.End.Offset - m.Lag})
		}
	}
	return out, nil
}
