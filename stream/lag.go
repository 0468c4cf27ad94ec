package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Lagger is a Log that can tell how far a consumer group is behind.
type Lagger interface {
	// Lag returns how many records of topics were appended and not yet
	// committed by group.
	Lag(ctx context.Context, group string, topics ...string) (int64, error)
}

var (
	_ Lagger = (*Badger)(nil)
	_ Lagger = (*Kafka)(nil)
)

// Lag implements Lagger: each partition's synced end less the group's
// committed offset.
func (l *Badger) Lag(_ context.Context, group string, topics ...string) (int64, error) {
	var lag int64
	for _, topic := range topics {
		ps, err := l.loadTopic(topic)
		if err != nil {
			return 0, err
		}
		err = l.db.View(func(txn *badger.Txn) error {
			for i, p := range ps {
				var committed int64
				item, err := txn.Get(commitKey(group, topic, int32(i)))
				switch {
				case err == nil:
					err = item.Value(func(v []byte) error {
						if len(v) != 8 {
							return errors.New("corrupt committed offset")
						}
						committed = int64(binary.BigEndian.Uint64(v))
						return nil
					})
					if err != nil {
						return err
					}
				case !errors.Is(err, badger.ErrKeyNotFound):
					return err
				}
				l.mu.Lock()
				end := p.next
				l.mu.Unlock()
				lag += max(end-committed, 0)
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("cannot read the lag of group %q on %s: %w", group, topic, err)
		}
	}
	return lag, nil
}

// Lag implements Lagger with the brokers' end offsets and the group's
// commits; partitions the group never committed count from their start.
func (k *Kafka) Lag(ctx context.Context, group string, topics ...string) (int64, error) {
	lags, err := k.adm.Lag(ctx, group)
	if err != nil {
		return 0, fmt.Errorf("cannot read the lag of group %q: %w", group, err)
	}
	gl := lags[group]
	if err := gl.Error(); err != nil {
		return 0, fmt.Errorf("cannot read the lag of group %q: %w", group, err)
	}
	var lag int64
	for _, topic := range topics {
		for _, m := range gl.Lag[topic] {
			if m.Err == nil && m.Lag > 0 {
				lag += m.Lag
			}
		}
	}
	return lag, nil
}
