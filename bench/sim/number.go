package sim

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// number is the state of one business phone number. Everything below mu is
// guarded by it; the send path takes it once per send.
type number struct {
	cfg  Number
	waba *waba
	sim  *Config

	mu sync.Mutex

	// Limits.
	tput    timeRing         // accepted sends of the last second
	pairs   map[string]int64 // recipient → GCRA theoretical arrival time
	pairOps int
	windows map[string]int64 // user → last inbound message

	// Report.
	seriesBase int64
	series     []int64 // accepted sends per second since seriesBase
	maxWindow  int     // most accepted sends in any one-second window
	accepted   int64
	templates  int64
	reads      int64
	typing     int64
	inbound    int64
	errors     map[int]int64
	recipients map[string]int64
	sends      []Send
	notKept    int64

	// Registration and profile.
	registered  bool
	pin         string
	regAttempts []int64
	code        string // requested verification code, "" when none
	codeStatus  string
	nameStatus  string
	newName     string
	profile     profile

	// override is webhook_configuration.override_callback_uri; read by the
	// webhook sender without mu.
	override atomic.Pointer[string]
}

// profile is the WhatsApp business profile of a number.
type profile struct {
	About, Address, Description, Email, ProfilePictureURL, Vertical string
	Websites                                                        []string
}

func newNumber(cfg Number, w *waba, sim *Config) *number {
	n := &number{cfg: cfg, waba: w, sim: sim}
	n.reset(0)
	return n
}

// reset clears the state; the caller holds mu (or owns n).
func (n *number) reset(now int64) {
	n.tput = timeRing{}
	n.pairs = make(map[string]int64)
	n.pairOps = 0
	n.windows = make(map[string]int64)
	n.seriesBase = now
	n.series = nil
	n.maxWindow = 0
	n.accepted, n.templates, n.reads, n.typing, n.inbound = 0, 0, 0, 0, 0
	n.errors = make(map[int]int64)
	n.recipients = make(map[string]int64)
	n.sends = nil
	n.notKept = 0
	n.registered = true
	n.pin = n.cfg.PIN
	n.regAttempts = nil
	n.code = ""
	n.codeStatus = "VERIFIED"
	n.nameStatus = "APPROVED"
	n.newName = ""
	n.override.Store(nil)
	n.profile = profile{About: "Hey there! I am using WhatsApp.", Vertical: "OTHER"}
}

// admit applies the number's limits to a send to the recipient key at now.
// It returns the error code, or 0 when the send passes, in which case it
// is counted against the throughput and pair limits. inWindow reports
// whether the customer service window is open (for pricing). The caller
// holds mu.
func (n *number) admit(now int64, key string, template bool) (code int, inWindow bool) {
	if !n.registered {
		return 133010, false
	}
	last, ok := n.windows[key]
	inWindow = ok && now-last < int64(n.sim.WindowDuration)
	if n.sim.EnforceWindow && !template && !inWindow {
		return 131047, false
	}
	n.tput.expire(now - int64(time.Second))
	if n.cfg.ThroughputMPS > 0 && n.tput.len() >= n.cfg.ThroughputMPS {
		return 130429, inWindow
	}
	if pl := n.sim.PairLimit; pl.Burst > 0 {
		interval := int64(pl.Interval)
		tat := n.pairs[key]
		if tat-now > int64(pl.Burst-1)*interval {
			return 131056, inWindow
		}
		n.pairs[key] = max(tat, now) + interval
		n.sweepPairs(now)
	}
	n.tput.push(now)
	if l := n.tput.len(); l > n.maxWindow {
		n.maxWindow = l
	}
	return 0, inWindow
}

// sweepPairs drops, now and then, recipients whose bucket is full again,
// so the map holds only recipients still limited.
func (n *number) sweepPairs(now int64) {
	n.pairOps++
	if n.pairOps < 4096 || len(n.pairs) < 4096 {
		return
	}
	n.pairOps = 0
	for k, tat := range n.pairs {
		if tat <= now {
			delete(n.pairs, k)
		}
	}
}

// record counts an accepted send and keeps it, with a copy of its body,
// for Sends. The caller holds mu.
func (n *number) record(now int64, key string, sd *Send, body []byte) {
	n.accepted++
	if sd.Template != "" {
		n.templates++
	}
	n.recipients[key]++
	i := int((now - n.seriesBase) / int64(time.Second))
	if i >= 0 {
		for len(n.series) <= i {
			n.series = append(n.series, 0)
		}
		n.series[i]++
	}
	if keep := n.sim.KeepSends; keep > 0 && len(n.sends) < keep {
		sd.Body = append(json.RawMessage(nil), body...)
		n.sends = append(n.sends, *sd)
	} else {
		n.notKept++
	}
}

// countError counts an error answered for this number.
func (n *number) countError(code int) {
	n.mu.Lock()
	n.errors[code]++
	n.mu.Unlock()
}

// registerAttempt counts a register or deregister request and reports
// whether it is allowed: at most 10 in any 72 hours (133016 past that).
// The caller holds mu.
func (n *number) registerAttempt(now int64) bool {
	const window = int64(72 * time.Hour)
	kept := n.regAttempts[:0]
	for _, t := range n.regAttempts {
		if now-t < window {
			kept = append(kept, t)
		}
	}
	n.regAttempts = kept
	if len(kept) >= 10 {
		return false
	}
	n.regAttempts = append(n.regAttempts, now)
	return true
}

// timeRing holds the times of the sends accepted in the last second, oldest
// first. Its length is the count in the sliding window.
type timeRing struct {
	buf  []int64 // power-of-two length
	head int
	n    int
}

func (r *timeRing) len() int { return r.n }

// expire drops times at or before t.
func (r *timeRing) expire(t int64) {
	mask := len(r.buf) - 1
	for r.n > 0 && r.buf[r.head] <= t {
		r.head = (r.head + 1) & mask
		r.n--
	}
}

// push appends t, growing the ring when full.
func (r *timeRing) push(t int64) {
	if r.n == len(r.buf) {
		size := max(64, 2*len(r.buf))
		buf := make([]int64, size)
		for i := 0; i < r.n; i++ {
			buf[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
		}
		r.buf, r.head = buf, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = t
	r.n++
}

// waba is a WhatsApp Business Account: its numbers and its webhook
// subscription.
type waba struct {
	id         string
	numbers    []*number
	subscribed atomic.Bool
	override   atomic.Pointer[string] // override_callback_uri
}

func (w *waba) reset(subscribed bool) {
	w.subscribed.Store(subscribed)
	w.override.Store(nil)
}

// isPIN reports whether s is a two-step verification PIN: 6 digits.
func isPIN(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
