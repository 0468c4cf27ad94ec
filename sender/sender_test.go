package sender

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wasp/bench/sim"
	"wasp/schemas"
	"wasp/stream"
)

const testNumber = sim.DefaultPhoneNumberID

// rig is a sender on a real embedded log against the simulator.
type rig struct {
	t      testing.TB
	log    *stream.Badger
	sim    *sim.Sim
	sender *Sender
	stop   context.CancelFunc
	done   chan error
}

func newRig(t testing.TB, scfg sim.Config, cfg Config) *rig {
	t.Helper()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir(), Topics: stream.Topics{Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if scfg.Tokens == nil {
		scfg.Tokens = []string{"test-token"}
	}
	s, graphURL := startSim(t, scfg)
	cfg.DataDir = t.TempDir()
	if cfg.DefaultToken == "" {
		cfg.DefaultToken = "test-token"
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}
	if cfg.ThroughputMPS == 0 {
		cfg.ThroughputMPS = -1
	}
	snd, err := New(cfg, l, NewGraph(GraphConfig{BaseURL: graphURL, Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, log: l, sim: s, sender: snd, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- snd.Run(ctx) }()
	t.Cleanup(r.shutdown)
	return r
}

// startSim serves a simulator until the test ends and returns it with its
// URL (the listener's: s.URL() is set only once Serve runs).
func startSim(t testing.TB, cfg sim.Config) (*sim.Sim, string) {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, ln)
	t.Cleanup(cancel)
	return s, "http://" + ln.Addr().String()
}

func (r *rig) shutdown() {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	if err := <-r.done; err != nil {
		r.t.Errorf("sender: %v", err)
	}
}

func textCmd(id, to, text string) *schemas.SendCommand {
	msg, _ := json.Marshal(map[string]any{"type": "text", "text": map[string]string{"body": text}})
	return &schemas.SendCommand{ID: id, PhoneNumberID: testNumber, To: to, Message: msg, Origin: schemas.OriginBot}
}

func (r *rig) send(cmds ...*schemas.SendCommand) {
	r.t.Helper()
	var recs []*stream.Record
	for _, c := range cmds {
		v, _ := json.Marshal(c)
		recs = append(recs, &stream.Record{Topic: schemas.TopicOutbound, Key: []byte(c.PhoneNumberID), Value: v})
	}
	if err := r.log.Append(context.Background(), recs...); err != nil {
		r.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *rig) accepted() int64 { return r.sim.Report().Numbers[testNumber].Accepted }

// records reads everything a topic holds now.
func (r *rig) records(topic string, want int) []*stream.Record {
	r.t.Helper()
	c, err := r.log.Consume(fmt.Sprintf("check-%d", time.Now().UnixNano()), topic)
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	var got []*stream.Record
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for len(got) < want {
		rs, err := c.Fetch(ctx, 1000)
		if err != nil {
			r.t.Fatalf("%s: got %d records; want %d", topic, len(got), want)
		}
		got = append(got, rs...)
	}
	return got
}

func events(rs []*stream.Record) map[string][]schemas.Event {
	out := map[string][]schemas.Event{}
	for _, r := range rs {
		var e schemas.Event
		json.Unmarshal(r.Value, &e)
		out[e.Kind] = append(out[e.Kind], e)
	}
	return out
}

// TestPacedToTheNumbersLimit: a number limited to 40 messages/s gets 200
// commands to distinct users: no one-second window at the simulator holds
// more than 40 sends, none is refused with 130429, and the run takes no
// less than 90 % of the ideal 5 s. It may take longer on a machine loaded by
// parallel test packages; above 1.5 times the ideal the pacer is not
// keeping up. (The acceptance's 20 mps and 1,000 commands, scaled down with
// the same ratios; the pace itself is measured by the bench.)
func TestPacedToTheNumbersLimit(t *testing.T) {
	const mps, n = 40, 200
	r := newRig(t, sim.Config{Numbers: []sim.Number{{PhoneNumberID: testNumber, ThroughputMPS: mps}}},
		Config{ThroughputMPS: mps})
	var cmds []*schemas.SendCommand
	for i := range n {
		cmds = append(cmds, textCmd(fmt.Sprintf("pace-%d", i), fmt.Sprintf("5215550%06d", i), "hola"))
	}
	start := time.Now()
	r.send(cmds...)
	waitFor(t, 20*time.Second, "all sends", func() bool { return r.accepted() >= n })
	took := time.Since(start)
	rep := r.sim.Report().Numbers[testNumber]
	if rep.MaxPerSecond > mps {
		t.Fatalf("a one-second window held %d sends; want at most %d", rep.MaxPerSecond, mps)
	}
	// The pace keeps 5 % under the limit; on a quiet machine the simulator
	// answers no 130429. A machine loaded by parallel test packages can
	// bunch requests on their way, so one is tolerated here; the sender
	// then slows down and sends it once (checked below).
	if e := rep.Errors[130429]; e > 1 {
		t.Fatalf("simulator answered 130429 %d times; want none", e)
	}
	ideal := time.Duration(n/mps) * time.Second
	if took > ideal*3/2 || took < ideal*9/10 {
		t.Fatalf("took %v; want from 90 %% to 150 %% of %v", took, ideal)
	}
	if rep.Accepted != n {
		t.Fatalf("accepted %d; want %d", rep.Accepted, n)
	}
}

// TestPairLimit: 60 commands to one recipient pass 45 as a burst, then one
// per interval, while another recipient's commands are not held up.
func TestPairLimit(t *testing.T) {
	pl := PairLimit{Burst: 45, Interval: 300 * time.Millisecond}
	r := newRig(t, sim.Config{PairLimit: sim.PairLimit{Burst: pl.Burst, Interval: pl.Interval}},
		Config{PairLimit: pl, BackoffUnit: 50 * time.Millisecond})
	var cmds []*schemas.SendCommand
	for i := range 60 {
		cmds = append(cmds, textCmd(fmt.Sprintf("pair-%d", i), "5215550000001", fmt.Sprint(i)))
	}
	r.send(cmds...)
	time.Sleep(50 * time.Millisecond) // the burst is out, the tail is waiting
	var others []*schemas.SendCommand
	for i := range 10 {
		others = append(others, textCmd(fmt.Sprintf("other-%d", i), fmt.Sprintf("52155509%05d", i), "hi"))
	}
	r.send(others...)
	waitFor(t, 10*time.Second, "all sends", func() bool { return r.accepted() >= 70 })
	var one, rest []time.Time
	for _, s := range r.sim.Sends() {
		if s.WaID == "5215550000001" {
			one = append(one, s.Time)
		} else {
			rest = append(rest, s.Time)
		}
	}
	if burst := one[44].Sub(one[0]); burst > pl.Interval {
		t.Fatalf("the first 45 took %v; want a burst under %v", burst, pl.Interval)
	}
	// After the burst, one per interval: the n-th send after the burst
	// comes no sooner than n intervals after the first send.
	for i := 45; i < len(one); i++ {
		if since := one[i].Sub(one[0]); since < time.Duration(i-44)*pl.Interval*9/10 {
			t.Fatalf("send %d came %v after the first; want at least %v", i, since, time.Duration(i-44)*pl.Interval)
		}
	}
	// The other recipient's sends went out while the tail still waited.
	if last := rest[len(rest)-1]; !last.Before(one[len(one)-1]) {
		t.Fatalf("other recipients were held up until %v; the tail ended %v", last, one[len(one)-1])
	}
	// The sender paces a little under the limit; a 131056 can still come
	// when the burst's first request reaches the simulator late on a
	// loaded machine. It is then backed off and sent once.
	if e := r.sim.Report().Numbers[testNumber].Errors[131056]; e > 2 {
		t.Fatalf("simulator answered 131056 %d times; want at most 2", e)
	}
	if len(one) != 60 {
		t.Fatalf("%d sends to the recipient; want 60, each once", len(one))
	}
}

// TestRetriesTransientErrors: 131000 twice, or a 5xx twice, then success:
// the message is sent once, after two retries.
func TestRetriesTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*sim.Sim)
	}{
		{"131000", func(s *sim.Sim) { s.FailNext(2, 131000) }},
		{"5xx", func(s *sim.Sim) { s.FailNext5xx(2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, sim.Config{}, Config{})
			tc.fail(r.sim)
			r.send(textCmd("retry-1", "5215550000002", "hola"))
			waitFor(t, 5*time.Second, "the send", func() bool { return r.accepted() >= 1 })
			ev := events(r.records(schemas.TopicEvents, 3))
			if len(ev[schemas.EventSendRetried]) != 2 || len(ev[schemas.EventSendAccepted]) != 1 {
				t.Fatalf("events %v; want 2 retried and 1 accepted", ev)
			}
			time.Sleep(200 * time.Millisecond)
			if n := r.accepted(); n != 1 {
				t.Fatalf("sent %d times; want once", n)
			}
		})
	}
}

// TestDeadLettersWhatMustNotBeRetried: 131026 and 131047 are not retried
// and land in the dead-letter topic with their code, and so does 190.
func TestDeadLettersWhatMustNotBeRetried(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	for i, code := range []int{131026, 131047, 190} {
		r.sim.FailNext(1, code)
		r.send(textCmd(fmt.Sprintf("nope-%d", code), "5215550000003", "hola"))
		dl := r.records(schemas.TopicDLQ, i+1)[i]
		if got := string(dl.Header("code")); got != fmt.Sprint(code) {
			t.Fatalf("dead letter code %q; want %d", got, code)
		}
		if !strings.Contains(string(dl.Value), fmt.Sprintf("nope-%d", code)) || len(dl.Header(schemas.HeaderReason)) == 0 {
			t.Fatalf("dead letter %s has no command or reason", dl.Value)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := r.accepted(); n != 0 {
		t.Fatalf("sent %d; want none", n)
	}
	// The failures carry their codes; the alert rules raise the 190.
	ev := events(r.records(schemas.TopicEvents, 3))
	var codes []int
	for _, e := range ev[schemas.EventSendFailed] {
		codes = append(codes, e.ErrorCode)
	}
	if slices.Sort(codes); !slices.Equal(codes, []int{190, 131026, 131047}) {
		t.Fatalf("events %v; want failures 190, 131026, 131047", ev)
	}
	if len(ev[schemas.EventSendRetried]) != 0 {
		t.Fatalf("retried %d; want none", len(ev[schemas.EventSendRetried]))
	}
}

// TestCommandSentOnce: the same command read twice, or again after a
// restart of the stage, is sent once.
func TestCommandSentOnce(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	c := textCmd("once-1", "5215550000004", "hola")
	r.send(c, c)
	waitFor(t, 5*time.Second, "the send", func() bool { return r.accepted() >= 1 })
	r.send(c)
	time.Sleep(300 * time.Millisecond)
	if n := r.accepted(); n != 1 {
		t.Fatalf("sent %d times; want once", n)
	}
}

// TestReadReceiptSentOnce: a read receipt done is not sent again when
// its command is read again (after a restart, say).
func TestReadReceiptSentOnce(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	msg, _ := json.Marshal(map[string]any{"status": "read", "message_id": "wamid.read-once"})
	c := &schemas.SendCommand{ID: "read-once", PhoneNumberID: testNumber, To: "5215550000005", Message: msg, Origin: schemas.OriginBot}
	reads := func() int64 { return r.sim.Report().Numbers[testNumber].Reads }
	r.send(c)
	waitFor(t, 5*time.Second, "the read receipt", func() bool { return reads() >= 1 })
	time.Sleep(200 * time.Millisecond) // its job finished and forgotten
	r.send(c)
	marker := textCmd("read-once-after", "5215550000005", "hola")
	r.send(marker)
	waitFor(t, 5*time.Second, "the send after it", func() bool { return r.accepted() >= 1 })
	if n := reads(); n != 1 {
		t.Fatalf("read receipt sent %d times; want once", n)
	}
}

// TestLocalChecks: what is refused before any call.
func TestLocalChecks(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	long := textCmd("long", "5215550000005", strings.Repeat("a", 4097))
	closed := textCmd("closed", "5215550000005", "hola")
	closed.WindowOpenUntil = time.Now().Add(-time.Minute)
	r.send(long, closed)
	reasons := map[string]string{}
	for _, dl := range r.records(schemas.TopicDLQ, 2) {
		var c schemas.SendCommand
		json.Unmarshal(dl.Value, &c)
		reasons[c.ID] = string(dl.Header(schemas.HeaderReason))
	}
	if !strings.Contains(reasons["long"], "4,096") {
		t.Fatalf("reason for a 4,097-character text: %q", reasons["long"])
	}
	if !strings.Contains(reasons["closed"], "24-hour") {
		t.Fatalf("reason for a closed window: %q", reasons["closed"])
	}
	if n := r.accepted(); n != 0 {
		t.Fatalf("sent %d; want none", n)
	}
}

// TestConcurrentCommandsAcrossRecipients sends many commands at once: all
// go out once each, and offsets are committed (a new stage reads none).
func TestConcurrentCommandsAcrossRecipients(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r.send(textCmd(fmt.Sprintf("c-%d-%d", p, i), fmt.Sprintf("52155501%02d%03d", p, i%7), "hi"))
			}
		}()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "200 sends", func() bool { return r.accepted() >= 200 })
	seen := map[string]bool{}
	for _, s := range r.sim.Sends() {
		cb, ok := schemas.ParseCallback(s.BizOpaqueCallbackData)
		if !ok || seen[cb.CommandID] {
			t.Fatalf("callback %q missing or repeated", s.BizOpaqueCallbackData)
		}
		seen[cb.CommandID] = true
	}
	waitFor(t, 5*time.Second, "offsets committed", func() bool { return r.sender.track.Pending() == 0 })
}

// TestEveryBodyPassesTheSimulator posts each message body the client
// builds (the golden files of testdata/bodies) to the simulator, which
// validates it as Meta does: each is accepted.
func TestEveryBodyPassesTheSimulator(t *testing.T) {
	_, graphURL := startSim(t, sim.Config{Tokens: []string{"tok"}, PairLimit: sim.PairLimit{Burst: -1}})
	g := NewGraph(GraphConfig{BaseURL: graphURL})
	files, _ := filepath.Glob("testdata/bodies/*.json")
	if len(files) < 20 {
		t.Fatalf("%d golden bodies; want one per message type", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateBody(body); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := g.Send(context.Background(), "tok", testNumber, body); err != nil {
			t.Fatalf("%s: the simulator refused it: %v", filepath.Base(f), err)
		}
	}
}
