package sender

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"

	"wasp/stream"
)

// ledger is the sender's memory of what it sent, in its own Badger
// database: a command id marked in flight before its request goes out, and
// sent (with the wamid) or failed after. A command found sent or failed is
// never sent again. One found in flight was being sent when the process
// died: its outcome is unknown until a status webhook echoing its id
// settles it, or the settle delay passes without one. Read receipts are
// marked once done but never in flight: no status settles them, and
// marking a message read twice does no harm.
//
// Keys:
//
//	's' command id           → state, run, time, wamid   (7 days)
//	'o' phone number 0 user  → marketing opt-out
//	'u' portfolio 0 user     → first business-initiated send (24 hours)
type ledger struct {
	db  *badger.DB
	run uint64 // this process's run, to tell its own sends in flight from a dead one's
	ttl time.Duration
}

type sendState byte

const (
	stateUnknown  sendState = 0 // never seen
	stateInFlight sendState = 1
	stateSent     sendState = 2
	stateFailed   sendState = 3
)

type entry struct {
	state sendState
	run   uint64
	at    time.Time
	wamid string
}

func openLedger(dir string, ttl time.Duration, log *slog.Logger) (*ledger, error) {
	db, err := badger.Open(stream.EdgeOptions(dir, 8<<20, log))
	if err != nil {
		return nil, fmt.Errorf("cannot open the sender's ledger in %q: %w", dir, err)
	}
	return &ledger{db: db, run: uint64(time.Now().UnixNano()), ttl: ttl}, nil
}

func (l *ledger) close() error { return l.db.Close() }

func sentKey(id string) []byte { return append([]byte{'s'}, id...) }

func encodeEntry(e entry) []byte {
	b := []byte{byte(e.state)}
	b = binary.BigEndian.AppendUint64(b, e.run)
	b = binary.BigEndian.AppendUint64(b, uint64(e.at.UnixMilli()))
	return append(b, e.wamid...)
}

func decodeEntry(v []byte) (entry, error) {
	if len(v) < 17 {
		return entry{}, errors.New("corrupt ledger entry")
	}
	return entry{state: sendState(v[0]), run: binary.BigEndian.Uint64(v[1:]),
		at: time.UnixMilli(int64(binary.BigEndian.Uint64(v[9:]))), wamid: string(v[17:])}, nil
}

// lookup returns the entries of ids that the ledger knows.
func (l *ledger) lookup(ids []string) (map[string]entry, error) {
	out := map[string]entry{}
	err := l.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			item, err := txn.Get(sentKey(id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := item.Value(func(v []byte) error {
				e, err := decodeEntry(v)
				out[id] = e
				return err
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read the sender's ledger: %w", err)
	}
	return out, nil
}

// mark writes the states of several commands in one synced transaction.
func (l *ledger) mark(states map[string]entry) error {
	if len(states) == 0 {
		return nil
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for id, e := range states {
		if e.run == 0 {
			e.run = l.run
		}
		if e.at.IsZero() {
			e.at = time.Now()
		}
		if err := wb.SetEntry(badger.NewEntry(sentKey(id), encodeEntry(e)).WithTTL(l.ttl)); err != nil {
			return fmt.Errorf("cannot write the sender's ledger: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot write the sender's ledger: %w", err)
	}
	return nil
}

// settle records that Meta reported a status for the command: it was
// sent, whatever the sender saw. It never turns sent or failed back.
func (l *ledger) settle(id, wamid string) (bool, error) {
	settled := false
	err := l.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(sentKey(id))
		if err == nil {
			var e entry
			if err := item.Value(func(v []byte) (err error) { e, err = decodeEntry(v); return err }); err != nil {
				return err
			}
			if e.state == stateSent || e.state == stateFailed {
				return nil
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		settled = true
		return txn.SetEntry(badger.NewEntry(sentKey(id),
			encodeEntry(entry{state: stateSent, run: l.run, at: time.Now(), wamid: wamid})).WithTTL(l.ttl))
	})
	if err != nil {
		return false, fmt.Errorf("cannot settle a send in the ledger: %w", err)
	}
	return settled, nil
}

func userKey(kind byte, scope, user string) []byte {
	k := append([]byte{kind}, scope...)
	return append(append(k, 0), user...)
}

// setOptOut records a user's marketing preference for a number.
func (l *ledger) setOptOut(number, user string, stop bool) error {
	return l.db.Update(func(txn *badger.Txn) error {
		if stop {
			return txn.Set(userKey('o', number, user), []byte{1})
		}
		return txn.Delete(userKey('o', number, user))
	})
}

func (l *ledger) optedOut(number, user string) bool {
	if user == "" {
		return false
	}
	out := false
	l.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(userKey('o', number, user))
		out = err == nil
		return nil
	})
	return out
}

// recordReach persists a business-initiated send to user in portfolio,
// for the messaging limit's rolling 24 hours.
func (l *ledger) recordReach(portfolio, user string, at time.Time) error {
	return l.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(userKey('u', portfolio, user), nil).
			WithTTL(time.Until(at.Add(24 * time.Hour))))
	})
}

// loadReach returns, per portfolio, the users reached in the last 24 hours
// and when.
func (l *ledger) loadReach() (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'u'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()[1:]
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				continue
			}
			p, u := string(k[:i]), string(k[i+1:])
			if out[p] == nil {
				out[p] = map[string]time.Time{}
			}
			out[p][u] = time.Unix(int64(it.Item().ExpiresAt()), 0).Add(-24 * time.Hour)
		}
		return nil
	})
	return out, err
}
