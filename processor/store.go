package processor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"

	"wasp/stream"
)

// Conversation is what the processor keeps of one customer of one business
// number.
type Conversation struct {
	ID            string `json:"id"`
	Tenant        string `json:"tenant"`
	PhoneNumberID string `json:"phone_number_id"`
	// User is the key the conversation was created with: the BSUID when
	// Meta sent one, else the wa_id. WaID and BSUID are both kept when
	// known; either finds the conversation.
	User        string `json:"user"`
	WaID        string `json:"wa_id,omitzero"`
	BSUID       string `json:"bsuid,omitzero"`
	ProfileName string `json:"profile_name,omitzero"`
	// LastInbound is the customer's last message; WindowUntil closes the
	// 24-hour customer service window it opened.
	LastInbound time.Time `json:"last_inbound,omitzero"`
	WindowUntil time.Time `json:"window_until,omitzero"`
	// Messages are the last ones, oldest first.
	Messages []Message `json:"messages"`
	Handoff  Handoff   `json:"handoff"`
	// MarketingOptOut is the customer's stop from user_preferences.
	MarketingOptOut bool      `json:"marketing_opt_out,omitzero"`
	Counters        Counters  `json:"counters"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Message is one message of a conversation.
type Message struct {
	// Dir is "in" (the customer's) or "out" (ours).
	Dir   string    `json:"dir"`
	Wamid string    `json:"wamid,omitzero"`
	Type  string    `json:"type"`
	Text  string    `json:"text,omitzero"`
	Time  time.Time `json:"time"`
	// CommandID of an outbound message, Origin (bot, agent, api); Status
	// its place on the ladder, ErrorCode when it failed.
	CommandID string `json:"command_id,omitzero"`
	Origin    string `json:"origin,omitzero"`
	Status    string `json:"status,omitzero"`
	ErrorCode int    `json:"error_code,omitzero"`
}

// Handoff says who answers the conversation.
type Handoff struct {
	// Mode is ModeBot or ModeHuman.
	Mode   string    `json:"mode"`
	Since  time.Time `json:"since,omitzero"`
	By     string    `json:"by,omitzero"` // who decided: "bot", or the agent's name
	Reason string    `json:"reason,omitzero"`
}

// Handoff modes.
const (
	ModeBot   = "bot"
	ModeHuman = "human"
)

// Counters of a conversation.
type Counters struct {
	Inbound    int `json:"inbound"`
	Outbound   int `json:"outbound"`
	BotReplies int `json:"bot_replies"`
	Handoffs   int `json:"handoffs"`
}

// ConversationID is the id of the conversation of user with a number.
func ConversationID(phoneNumberID, user string) string {
	h := sha256.Sum256([]byte(phoneNumberID + "\x00" + user))
	return "c_" + hex.EncodeToString(h[:10])
}

// badgerStore keeps conversations and the deduplication keys in Badger.
//
// Keys:
//
//	'v' id                          → conversation (codec.go)
//	'a' number 0 user               → id (the wa_id and the BSUID both point at it)
//	'l' tenant 0 ^updated id        → nothing: conversations newest first
//	'k' key                         → nothing, with a TTL: seen inbound wamids and statuses
//	'r' wamid                       → status rank and code of our message (30 days)
type badgerStore struct {
	db        *badger.DB
	dedupeTTL time.Duration
}

var _ Store = (*badgerStore)(nil)

func openStore(dir string, dedupeTTL time.Duration, log *slog.Logger) (*badgerStore, error) {
	// Writes are not synced one by one: the processor syncs the store
	// before it commits the offsets of what it wrote (Sync), so a crash
	// loses only state that is rebuilt from records read again.
	db, err := badger.Open(stream.EdgeOptions(dir, 16<<20, log).WithSyncWrites(false))
	if err != nil {
		return nil, fmt.Errorf("cannot open the conversation store in %q: %w", dir, err)
	}
	return &badgerStore{db: db, dedupeTTL: dedupeTTL}, nil
}

func (s *badgerStore) Close() error { return s.db.Close() }

// Sync makes every write so far durable.
func (s *badgerStore) Sync() error { return s.db.Sync() }

func key(kind byte, parts ...string) []byte {
	k := []byte{kind}
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func listKey(c *Conversation) []byte {
	k := key('l', c.Tenant)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, ^uint64(c.UpdatedAt.UnixNano()))
	return append(k, c.ID...)
}

// Seen reports which of keys were marked seen.
func (s *badgerStore) Seen(keys ...string) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, k := range keys {
			_, err := txn.Get(key('k', k))
			if err == nil {
				out[k] = true
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Find returns the conversation of user (a wa_id or a BSUID) with number,
// or nil.
func (s *badgerStore) Find(number string, users ...string) (*Conversation, error) {
	var c *Conversation
	err := s.db.View(func(txn *badger.Txn) error {
		for _, u := range users {
			if u == "" {
				continue
			}
			item, err := txn.Get(key('a', number, u))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			id, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			c, err = get(txn, string(id))
			return err
		}
		return nil
	})
	return c, err
}

// Get returns the conversation id, or nil.
func (s *badgerStore) Get(id string) (*Conversation, error) {
	var c *Conversation
	err := s.db.View(func(txn *badger.Txn) (err error) {
		c, err = get(txn, id)
		return err
	})
	return c, err
}

func get(txn *badger.Txn, id string) (*Conversation, error) {
	item, err := txn.Get(key('v', id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &Conversation{}
	if err := item.Value(func(v []byte) error { return decodeConversation(v, c) }); err != nil {
		return nil, fmt.Errorf("conversation %s: %w", id, err)
	}
	return c, withDeliveries(txn, c)
}

// delivery is where one of our messages is on the status ladder, kept
// apart from its conversation ('q' command id) so that a status webhook
// does not rewrite the whole conversation.
type delivery struct {
	Wamid  string `json:"w"`
	Status string `json:"s"`
	Code   int    `json:"c,omitzero"`
}

// withDeliveries sets the wamid and status of c's outbound messages.
func withDeliveries(txn *badger.Txn, c *Conversation) error {
	for i := range c.Messages {
		m := &c.Messages[i]
		if m.Dir != "out" || m.CommandID == "" {
			continue
		}
		item, err := txn.Get(key('q', m.CommandID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var d delivery
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &d) }); err != nil {
			return err
		}
		m.Wamid, m.Status, m.ErrorCode = d.Wamid, d.Status, d.Code
	}
	return nil
}

// Save writes c, its aliases and list entry (replacing the one of
// prevUpdated), and marks seen keys, in one transaction.
func (s *badgerStore) Save(c *Conversation, prevUpdated time.Time, seen ...string) error {
	v := encodeConversation(c)
	return s.db.Update(func(txn *badger.Txn) error {
		if !prevUpdated.IsZero() && !prevUpdated.Equal(c.UpdatedAt) {
			old := *c
			old.UpdatedAt = prevUpdated
			if err := txn.Delete(listKey(&old)); err != nil {
				return err
			}
		}
		sets := [][2][]byte{{key('v', c.ID), v}, {listKey(c), nil}}
		for _, u := range []string{c.User, c.WaID, c.BSUID} {
			if u != "" {
				sets = append(sets, [2][]byte{key('a', c.PhoneNumberID, u), []byte(c.ID)})
			}
		}
		for _, kv := range sets {
			if err := txn.Set(kv[0], kv[1]); err != nil {
				return err
			}
		}
		for _, k := range seen {
			if err := txn.SetEntry(badger.NewEntry(key('k', k), nil).WithTTL(s.dedupeTTL)); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkSeen marks keys seen without a conversation change.
func (s *badgerStore) MarkSeen(keys ...string) error {
	return s.db.Update(func(txn *badger.Txn) error {
		for _, k := range keys {
			if err := txn.SetEntry(badger.NewEntry(key('k', k), nil).WithTTL(s.dedupeTTL)); err != nil {
				return err
			}
		}
		return nil
	})
}

// List returns up to limit conversations of tenant (all tenants when
// empty), newest first, starting after cursor; next is the cursor of the
// following page, empty at the end.
func (s *badgerStore) List(tenant, mode, cursor string, limit int) (out []*Conversation, next string, err error) {
	prefix := []byte{'l'}
	if tenant != "" {
		prefix = append(key('l', tenant), 0)
	}
	start := prefix
	if cursor != "" {
		b, err := hex.DecodeString(cursor)
		if err != nil || !bytes.HasPrefix(b, prefix) {
			return nil, "", errors.New("bad cursor")
		}
		start = append(b, 0)
	}
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			k := it.Item().Key()
			id := string(k[bytes.IndexByte(k[1:], 0)+1+9:]) // after 'l' tenant 0 and the time
			c, err := get(txn, id)
			if err != nil {
				return err
			}
			// An entry whose time is not the conversation's is stale.
			if c == nil || !bytes.Equal(listKey(c), k) || mode != "" && c.Handoff.Mode != mode {
				continue
			}
			if len(out) == limit {
				return nil
			}
			out = append(out, c)
			next = hex.EncodeToString(k)
		}
		next = ""
		return nil
	})
	return out, next, err
}

// deliveryTTL is how long a message's place on the status ladder is kept.
const deliveryTTL = 30 * 24 * time.Hour

// statusRank orders the status ladder; failed is terminal.
var statusRank = map[string]byte{"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 9}

// Advance moves our message wamid up the status ladder to status and
// reports whether it moved: sent < delivered < read < played, never
// backwards; failed is terminal and only follows sent.
//
// When it moves a message that carries commandID, the message's delivery
// (wamid, status, error code) is written with it, for its conversation.
func (s *badgerStore) Advance(wamid, status, commandID string, code int) (bool, error) {
	rank, ok := statusRank[status]
	if !ok {
		return false, nil
	}
	moved := false
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key('r', wamid))
		if err == nil {
			var cur byte
			item.Value(func(v []byte) error {
				if len(v) > 0 {
					cur = v[0]
				}
				return nil
			})
			// Never backwards; nothing after failed; and a message that was
			// delivered cannot fail any more (a late or shuffled failed).
			if cur == statusRank["failed"] || cur >= rank || rank == statusRank["failed"] && cur >= statusRank["delivered"] {
				return nil
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		moved = true
		if commandID != "" {
			v, _ := json.Marshal(delivery{Wamid: wamid, Status: status, Code: code})
			if err := txn.SetEntry(badger.NewEntry(key('q', commandID), v).WithTTL(deliveryTTL)); err != nil {
				return err
			}
		}
		return txn.SetEntry(badger.NewEntry(key('r', wamid), []byte{rank}).WithTTL(deliveryTTL))
	})
	return moved, err
}
