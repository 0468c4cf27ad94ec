package processor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

// Conversations are stored in a binary form: a version byte, then each
// field in the order of the struct: strings as their uvarint length and
// bytes, numbers as varints, times as a presence byte, the Unix seconds and
// the nanoseconds. Decoding and encoding a conversation took a fifth of the
// processor's CPU as JSON. A value that starts with '{' is a conversation
// stored as JSON by an earlier wasp, and is read as such.
//
// Adding a field: append it to both functions and bump codecVersion;
// decodeConversation must keep reading the versions before it.
const codecVersion = 1

func encodeConversation(c *Conversation) []byte {
	n := 64 + len(c.ID) + len(c.Tenant) + len(c.PhoneNumberID) + len(c.User) + len(c.WaID) + len(c.BSUID) + len(c.ProfileName)
	for i := range c.Messages {
		m := &c.Messages[i]
		n += 32 + len(m.Dir) + len(m.Wamid) + len(m.Type) + len(m.Text) + len(m.CommandID) + len(m.Origin) + len(m.Status)
	}
	var w writer
	w.b = make([]byte, 0, n)
	w.b = append(w.b, codecVersion)
	w.strings(c.ID, c.Tenant, c.PhoneNumberID, c.User, c.WaID, c.BSUID, c.ProfileName)
	w.time(c.LastInbound)
	w.time(c.WindowUntil)
	w.uint(uint64(len(c.Messages)))
	for i := range c.Messages {
		m := &c.Messages[i]
		w.strings(m.Dir, m.Wamid, m.Type, m.Text)
		w.time(m.Time)
		w.strings(m.CommandID, m.Origin, m.Status)
		w.int(int64(m.ErrorCode))
	}
	w.strings(c.Handoff.Mode)
	w.time(c.Handoff.Since)
	w.strings(c.Handoff.By, c.Handoff.Reason)
	w.bool(c.MarketingOptOut)
	w.int(int64(c.Counters.Inbound))
	w.int(int64(c.Counters.Outbound))
	w.int(int64(c.Counters.BotReplies))
	w.int(int64(c.Counters.Handoffs))
	w.time(c.CreatedAt)
	w.time(c.UpdatedAt)
	return w.b
}

var errCorruptConversation = errors.New("corrupt conversation")

// decodeConversation reads what encodeConversation wrote, or JSON.
func decodeConversation(v []byte, c *Conversation) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, c)
	}
	if len(v) == 0 || v[0] != codecVersion {
		return errCorruptConversation
	}
	r := reader{b: v[1:]}
	*c = Conversation{
		ID: r.string(), Tenant: r.string(), PhoneNumberID: r.string(), User: r.string(),
		WaID: r.string(), BSUID: r.string(), ProfileName: r.string(),
		LastInbound: r.time(), WindowUntil: r.time(),
	}
	n := r.uint()
	if n > uint64(len(r.b)) { // each message takes more than a byte
		return errCorruptConversation
	}
	if n > 0 {
		c.Messages = make([]Message, n)
	}
	for i := range c.Messages {
		c.Messages[i] = Message{Dir: r.string(), Wamid: r.string(), Type: r.string(), Text: r.string(),
			Time: r.time(), CommandID: r.string(), Origin: r.string(), Status: r.string(), ErrorCode: int(r.int())}
	}
	c.Handoff = Handoff{Mode: r.string(), Since: r.time(), By: r.string(), Reason: r.string()}
	c.MarketingOptOut = r.bool()
	c.Counters = Counters{Inbound: int(r.int()), Outbound: int(r.int()), BotReplies: int(r.int()), Handoffs: int(r.int())}
	c.CreatedAt, c.UpdatedAt = r.time(), r.time()
	if r.bad || len(r.b) != 0 {
		return errCorruptConversation
	}
	return nil
}

type writer struct{ b []byte }

func (w *writer) uint(x uint64) { w.b = binary.AppendUvarint(w.b, x) }
func (w *writer) int(x int64)   { w.b = binary.AppendVarint(w.b, x) }

func (w *writer) strings(ss ...string) {
	for _, s := range ss {
		w.uint(uint64(len(s)))
		w.b = append(w.b, s...)
	}
}

func (w *writer) bool(x bool) {
	if x {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// time writes 0 for the zero time, else 1, the Unix seconds and the
// nanoseconds; the time's location is not kept (it reads back in UTC).
func (w *writer) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.int(t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

// reader reads what writer wrote; past the first error it reads zeros and
// sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uint() uint64 {
	x, n := binary.Uvarint(r.b)
	if !r.took(n) {
		return 0
	}
	return x
}

func (r *reader) int() int64 {
	x, n := binary.Varint(r.b)
	if !r.took(n) {
		return 0
	}
	return x
}

// took moves past a varint of n bytes, or marks r bad when there was none
// (n ≤ 0).
func (r *reader) took(n int) bool {
	if n <= 0 {
		r.fail()
		return false
	}
	r.b = r.b[n:]
	return true
}

func (r *reader) fail() { r.bad, r.b = true, nil }

func (r *reader) string() string {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) bool() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return false
	}
	x := r.b[0] == 1
	r.b = r.b[1:]
	return x
}

func (r *reader) time() time.Time {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return time.Time{}
	}
	present := r.b[0] == 1
	r.b = r.b[1:]
	if !present {
		return time.Time{}
	}
	sec, nsec := r.int(), r.uint()
	if nsec >= 1e9 {
		r.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
