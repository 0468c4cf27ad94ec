package main

// The reliability tests of `wasp run` as a user runs it, between the
// Meta simulator and the log: SIGKILL under load, Graph API faults, Kafka
// broker faults, a full or unwritable data directory. Short versions run
// in make test; WASP_TEST_LONG=1 runs them longer. (Bad input is
// ingest/hostile_test.go; ClickHouse stopped and started,
// analytics/clickhouse_restart_test.go.)
//
//	customers → sim → hooks tap → wasp run → graph tap → sim
//
// The taps are HTTP hops in the test process that record what passes: the
// webhooks the ingester acknowledged (hooks) and every Graph API request
// with its answer (graph). The simulator's own records say which sends it
// accepted.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sys/unix"

	"wasp/bench/sim"
	"wasp/ingest"
	"wasp/schemas"
	"wasp/stream"
)

// longRun is WASP_TEST_LONG=1: the long versions of the reliability tests.
var longRun = os.Getenv("WASP_TEST_LONG") == "1"

// quietLogger drops the simulator's log lines: wasp's restarts make it
// report failed webhooks, which the tests count themselves.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// tap is an HTTP hop that forwards every request to its target and records
// each one with the status it was answered (502 when the target did not
// answer, as when wasp is down). The target may change, as wasp's address
// does across restarts.
type tap struct {
	srv    *httptest.Server
	target atomic.Value // host:port
	client *http.Client
	mu     sync.Mutex
	seen   []exchange
}

// exchange is one request that passed a tap.
type exchange struct {
	path       string
	body       []byte
	status     int
	answer     []byte
	start, end time.Time
}

func newTap(t *testing.T, target string) *tap {
	tp := &tap{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	tp.target.Store(target)
	tp.srv = httptest.NewServer(http.HandlerFunc(tp.forward))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *tap) url() string { return tp.srv.URL }

func (tp *tap) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	status, answer := http.StatusBadGateway, []byte(nil)
	if err == nil {
		url := "http://" + tp.target.Load().(string) + r.URL.RequestURI()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, url, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		if resp, err := tp.client.Do(req); err == nil {
			answer, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				status = resp.StatusCode
				for k, v := range resp.Header {
					w.Header()[k] = v
				}
			}
		}
	}
	tp.mu.Lock()
	tp.seen = append(tp.seen, exchange{path: r.URL.Path, body: body, status: status, answer: answer, start: start, end: time.Now()})
	tp.mu.Unlock()
	w.WriteHeader(status)
	w.Write(answer)
}

func (tp *tap) exchanges() []exchange {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]exchange(nil), tp.seen...)
}

// acked returns the wamids of the inbound messages in webhooks answered
// 200.
func (tp *tap) acked() map[string]bool {
	out := map[string]bool{}
	for _, x := range tp.exchanges() {
		if x.status != http.StatusOK {
			continue
		}
		for _, id := range inboundIDs(x.body) {
			out[id] = true
		}
	}
	return out
}

// reads counts the read receipts Meta (the simulator) took, by wamid.
func (tp *tap) reads() map[string]int {
	out := map[string]int{}
	for _, x := range tp.exchanges() {
		var m struct {
			Status    string `json:"status"`
			MessageID string `json:"message_id"`
		}
		if x.status == http.StatusOK && json.Unmarshal(x.body, &m) == nil && m.Status == "read" {
			out[m.MessageID]++
		}
	}
	return out
}

// inboundIDs returns the wamids of the customer messages in a webhook.
func inboundIDs(body []byte) []string {
	w, err := schemas.ParseWebhook(body)
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range w.Messages() {
		ids = append(ids, m.ID)
	}
	return ids
}

// pipeline is `wasp run` between the simulator and two taps, restartable
// on the same data directory.
type pipeline struct {
	t       *testing.T
	sim     *sim.Sim
	hooks   *tap // sim → wasp
	graph   *tap // wasp → sim
	kv      map[string]string
	cfgFile string
	p       *proc
	cluster *kfake.Cluster // Kafka mode; lives in the test process across restarts
	settle  time.Duration
	// unsettled is when the last send of unknown outcome (in flight at a
	// kill, or timed out) is settled or sent again: a second send of one
	// command could come until then.
	unsettled time.Time
}

// pipelineConfig says how the pipeline runs.
type pipelineConfig struct {
	kafka  bool
	faults sim.Faults
	// rate is the customers' inbound messages per second; zero means none
	// (the test posts its own).
	rate float64
	// statuses makes the simulator send status webhooks.
	statuses bool
	// settle is send.settle_delay; zero means 2s.
	settle time.Duration
	// yaml is added to wasp's config file.
	yaml string
}

const (
	pipelineSecret = "s3cret"
	pipelineToken  = "tok"
)

func newPipeline(t *testing.T, pc pipelineConfig) *pipeline {
	t.Helper()
	pl := &pipeline{t: t, settle: cmp.Or(pc.settle, 2*time.Second)}
	pl.hooks = newTap(t, "127.0.0.1:1") // wasp is not up yet: 502
	s, err := sim.New(sim.Config{
		Addr:   "127.0.0.1:0",
		Tokens: []string{pipelineToken},
		Faults: pc.faults,
		Webhook: sim.Webhook{URL: pl.hooks.url() + "/webhook", AppSecret: pipelineSecret, Statuses: pc.statuses,
			// Like Meta: retry what was not answered 200, for long
			// enough to outlast a restart.
			MaxAttempts: 200, RetryBackoff: 50 * time.Millisecond, Timeout: 10 * time.Second},
		// One text per customer, nearly always: a second unclear message
		// from the same customer would hand the conversation to a human,
		// who does not answer.
		Customers: sim.Customers{Rate: pc.rate, Users: 1_000_000, Types: map[string]float64{"text": 1}},
		Track:     true,
		Logger:    quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Run(t.Context()) }() // until the test ends
	t.Cleanup(func() {
		if err := <-served; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); s.URL() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the simulator does not listen")
		}
	}
	pl.sim = s
	pl.graph = newTap(t, strings.TrimPrefix(s.URL(), "http://"))

	dir := t.TempDir()
	pl.cfgFile = filepath.Join(dir, "wasp.yaml")
	yaml := fmt.Sprintf("send:\n  settle_delay: %s\n  max_attempts: 10\n%s", pl.settle, pc.yaml)
	if err := os.WriteFile(pl.cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	pl.kv = map[string]string{"WASP_APP_SECRET": pipelineSecret, "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir,
		"WASP_GRAPH_URL": pl.graph.url(), "WASP_ACCESS_TOKEN": pipelineToken, "WASP_PHONE_NUMBER_ID": sim.DefaultPhoneNumberID}
	if pc.kafka {
		pl.cluster, err = kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pl.cluster.Close)
		pl.kv["WASP_KAFKA_BROKERS"] = strings.Join(pl.cluster.ListenAddrs(), ",")
	}
	return pl
}

// start starts wasp on a new address and points the hooks tap at it.
func (pl *pipeline) start() {
	pl.t.Helper()
	pl.p = startWaspAt(pl.t, pl.kv, freeAddr(pl.t), "--config", pl.cfgFile)
	pl.hooks.target.Store(pl.p.webhook)
}

// kill SIGKILLs wasp. The sends it had in flight are settled, or sent
// again, up to the settle delay after it.
func (pl *pipeline) kill() {
	pl.t.Helper()
	if err := pl.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		pl.t.Fatal(err)
	}
	pl.p.cmd.Wait()
	pl.unsettled = time.Now().Add(pl.settle)
}

// stop stops wasp gracefully.
func (pl *pipeline) stop() { stopWasp(pl.t, pl.p) }

// output kills wasp, for a failure message: its output may be read once
// it has exited.
func output(p *proc) string {
	p.cmd.Process.Kill()
	p.cmd.Wait()
	return p.out.String()
}

// replies counts the accepted sends answering each inbound wamid, and
// each command id's accepted sends.
func (pl *pipeline) replies() (byInbound, byCommand map[string]int) {
	byInbound, byCommand = map[string]int{}, map[string]int{}
	for _, s := range pl.sim.Sends() {
		cb, ok := schemas.ParseCallback(s.BizOpaqueCallbackData)
		if !ok {
			continue
		}
		byCommand[cb.CommandID]++
		if cb.ReplyTo != "" {
			byInbound[cb.ReplyTo]++
		}
	}
	return byInbound, byCommand
}

// quiesce stops the customers and waits until every webhook was delivered
// and every acknowledged message has its outcome (done says so), then
// until the sends of unknown outcome are settled and a little more, so
// that a late second send would show.
func (pl *pipeline) quiesce(d time.Duration, done func() bool) {
	pl.t.Helper()
	pl.sim.SetRate(0) // fails when there are no customers: nothing to stop
	deadline := time.Now().Add(d)
	for pl.sim.Report().Webhooks.Pending > 0 || !done() {
		if time.Now().After(deadline) {
			r := pl.sim.Report()
			pl.t.Fatalf("no quiescence within %v: %d webhooks pending, %d posts failed for good\n%s",
				d, r.Webhooks.Pending, r.Webhooks.Failed, output(pl.p))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(max(time.Second, time.Until(pl.unsettled)+time.Second))
}

// answeredOnce checks that every inbound message the ingester acknowledged
// got exactly one reply and at least one read receipt, that no command
// was sent twice, and that the simulator's own tracking agrees; it
// returns the acknowledged count.
func (pl *pipeline) answeredOnce() int {
	t := pl.t
	t.Helper()
	acked := pl.hooks.acked()
	byInbound, byCommand := pl.replies()
	reads := pl.graph.reads()
	var missing, twice, unread, extraReads int
	for wamid := range acked {
		switch n := byInbound[wamid]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
		if reads[wamid] == 0 {
			unread++
		}
		extraReads += max(reads[wamid]-1, 0)
	}
	for id, n := range byCommand {
		if n > 1 {
			t.Errorf("command %s was accepted %d times; want once", id, n)
		}
	}
	if missing > 0 || twice > 0 || unread > 0 {
		t.Errorf("of %d acknowledged inbound messages, %d got no reply, %d more than one, %d no read receipt",
			len(acked), missing, twice, unread)
	}
	tr := pl.sim.Tracking()
	if in := tr.Inbound["text"]; in.Duplicated > 0 || in.Unanswered > 0 || tr.Unmatched > 0 {
		t.Errorf("the simulator's tracking: %+v, %d sends answering nothing; want none duplicated or unanswered", in, tr.Unmatched)
	}
	if extraReads > 0 {
		// A read receipt enters the sender's ledger once done, never in
		// flight (no status settles it; marking a message read twice is
		// harmless): one in flight when the process died is sent again.
		t.Logf("%d read receipts sent more than once", extraReads)
	}
	return len(acked)
}

// allAnswered reports whether every acknowledged inbound message has a
// reply.
func (pl *pipeline) allAnswered() bool {
	byInbound, _ := pl.replies()
	for wamid := range pl.hooks.acked() {
		if byInbound[wamid] == 0 {
			return false
		}
	}
	return true
}

// TestReliabilityKillPipeline: `wasp run` is SIGKILLed at random moments
// while customers write and the bot answers, and started again on the same
// data each time. At the end every inbound message the ingester
// acknowledged got exactly one reply and a read receipt, and no reply was
// sent twice: on the embedded log and on Kafka (kfake, which outlives the
// restarts).
func TestReliabilityKillPipeline(t *testing.T) {
	for _, mode := range []string{"embedded", "kafka"} {
		t.Run(mode, func(t *testing.T) {
			kills, rate := 3, 30.0
			if longRun {
				kills, rate = 10, 60
			}
			pc := pipelineConfig{kafka: mode == "kafka", rate: rate, statuses: true}
			if pc.kafka {
				// The restarted process takes back its partitions at once
				// (static group members); a kill while a group rebalanced
				// holds it for the session timeout at most. A settle
				// delay shorter than that must not resend the sends that
				// were in flight before their status webhooks are read
				// (the sender waits for its settle consumer to catch up).
				pc.yaml = "kafka:\n  session_timeout: 6s\n"
				kills = max(kills-1, 2)
			}
			pl := newPipeline(t, pc)
			start := time.Now()
			pl.start()
			for i := range kills {
				before := len(pl.sim.Sends())
				// A random moment once replies flow again.
				for deadline := time.Now().Add(60 * time.Second); len(pl.sim.Sends()) < before+10; time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("no replies after restart %d:\n%s", i, output(pl.p))
					}
				}
				time.Sleep(time.Duration(rand.Int64N(int64(1500 * time.Millisecond))))
				pl.kill()
				t.Logf("kill %d at %v: %d inbound acknowledged, %d sends accepted so far",
					i+1, time.Since(start).Round(time.Millisecond), len(pl.hooks.acked()), len(pl.sim.Sends()))
				pl.start()
			}
			// Restarts take a moment: let traffic go on after the last
			// until there is enough to count.
			for deadline := time.Now().Add(60 * time.Second); len(pl.hooks.acked()) < 60; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("only %d inbound messages acknowledged after a minute:\n%s", len(pl.hooks.acked()), output(pl.p))
				}
			}
			pl.quiesce(90*time.Second, pl.allAnswered)
			n := pl.answeredOnce()
			if n < 50 {
				t.Errorf("only %d inbound messages acknowledged; the test needs traffic across the kills", n)
			}
			t.Logf("%s: %d kills, %d inbound acknowledged, each answered once, in %v",
				mode, kills, n, time.Since(start).Round(time.Millisecond))
		})
	}
}

// sendAnswer is how the Graph API answered one send attempt.
type sendAnswer struct {
	status int // 502: no answer (wasp gave up waiting, or the simulator held it)
	code   int // Meta's error code, 0 without one
}

// sendAnswers returns the answers to the sends (not read receipts) that
// passed the tap, by command id.
func (tp *tap) sendAnswers() map[string][]sendAnswer {
	out := map[string][]sendAnswer{}
	for _, x := range tp.exchanges() {
		var req struct {
			Callback string `json:"biz_opaque_callback_data"`
		}
		var ans struct {
			Error struct{ Code int } `json:"error"`
		}
		if json.Unmarshal(x.body, &req) != nil || req.Callback == "" {
			continue
		}
		cb, ok := schemas.ParseCallback(req.Callback)
		if !ok {
			continue
		}
		json.Unmarshal(x.answer, &ans)
		out[cb.CommandID] = append(out[cb.CommandID], sendAnswer{status: x.status, code: ans.Error.Code})
	}
	return out
}

// permanent reports whether the answer says never to send again.
func (a sendAnswer) permanent() bool {
	c := schemas.ClassOf(a.code)
	return a.code != 0 && (c == schemas.ClassNever || c == schemas.ClassFixFirst)
}

// replyCommand is the id of the bot's reply to an inbound message of the
// default tenant (processor/actions.go).
func replyCommand(wamid string) string { return schemas.CommandID("default", wamid, "reply") }

// topicRecords reads every record of topic from the embedded log in the
// data directory dir (wasp stopped).
func topicRecords(t *testing.T, dir, topic string) []*stream.Record {
	t.Helper()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return readTopic(t, l, topic, nil)
}

// readTopic reads topic from its start, as a new group, until enough
// says so or nothing more comes for a while.
func readTopic(t *testing.T, l stream.Log, topic string, enough func([]*stream.Record) bool) []*stream.Record {
	t.Helper()
	c, err := l.Consume(fmt.Sprintf("reliability-check-%d", time.Now().UnixNano()), topic)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []*stream.Record
	idle := 2 * time.Second // Kafka's first fetch waits for the group
	for enough == nil || !enough(out) {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		more, _ := c.Fetch(ctx, 10_000)
		cancel()
		if len(more) == 0 {
			break
		}
		out, idle = append(out, more...), 500*time.Millisecond
	}
	return out
}

func header(r *stream.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// metric reads one series' value from wasp's /metrics, -1 when absent.
func metric(t *testing.T, p *proc, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		var v float64
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// TestReliabilityGraphFaults: `wasp run` against a Graph API that answers
// with errors (retryable and permanent), bare 503s, held answers past the
// sender's timeout, and latency. Every inbound message the ingester
// acknowledged gets its reply accepted exactly once, or, when Meta
// refused it for good, no reply and a dead letter in wa.dlq: retryable
// failures are retried, permanent ones are not, and a send whose answer
// never came is settled by its status webhook rather than sent again.
func TestReliabilityGraphFaults(t *testing.T) {
	traffic := 5 * time.Second
	if longRun {
		traffic = 60 * time.Second
	}
	const hold = 16 * time.Second // past the sender's 15s timeout
	pl := newPipeline(t, pipelineConfig{rate: 20, statuses: true, faults: sim.Faults{
		ErrorRate: 0.15, Codes: []int{131000, 131016, 131026}, HTTP5xxRate: 0.05,
		Hold: hold, Latency: sim.Latency{Jitter: 20 * time.Millisecond},
	}})
	// The first sends: a retryable error twice, a bare 503, a permanent
	// error, and an answer held past the timeout (Meta took the message).
	pl.sim.FailNext(2, 131000)
	pl.sim.FailNext5xx(1)
	pl.sim.FailNext(1, 131026)
	pl.sim.FailNextTimeout(1)
	start := time.Now()
	pl.start()
	time.Sleep(traffic)
	// The held send times out at 15s, then waits the settle delay.
	pl.unsettled = start.Add(hold + pl.settle)
	const failedSeries = `wasp_sender_sends_total{outcome="failed"}`
	// Finished: each reply accepted, or refused and dead-lettered.
	finished := func() bool {
		byInbound, _ := pl.replies()
		answers := pl.graph.sendAnswers()
		refused := 0
		for wamid := range pl.hooks.acked() {
			if byInbound[wamid] > 0 {
				continue
			}
			as := answers[replyCommand(wamid)]
			if len(as) == 0 || as[len(as)-1].status == http.StatusOK {
				return false
			}
			refused++
		}
		return metric(t, pl.p, failedSeries) >= float64(refused)
	}
	pl.quiesce(60*time.Second, finished)
	failedMetric := metric(t, pl.p, failedSeries)
	pl.stop()

	acked := pl.hooks.acked()
	_, byCommand := pl.replies()
	answers := pl.graph.sendAnswers()
	reads := pl.graph.reads()
	deadLettered := map[string]bool{}
	var retried, timedOut, badReads int
	for wamid := range acked {
		id := replyCommand(wamid)
		as, accepted := answers[id], byCommand[id]
		var permanent, retryable, unanswered int
		for _, a := range as {
			switch {
			case a.permanent():
				permanent++
			case a.status == http.StatusBadGateway:
				unanswered++
			case a.status != http.StatusOK:
				retryable++
			}
		}
		switch {
		case accepted == 1 && permanent == 0:
			if retryable > 0 {
				retried++
			}
			if unanswered > 0 {
				timedOut++
			}
		case accepted == 0 && permanent == 1 && as[len(as)-1].permanent():
			deadLettered[id] = true
		default:
			t.Errorf("reply %s: accepted %d times after %d attempts (%d permanent errors); want accepted once, or refused once for good",
				id, accepted, len(as), permanent)
		}
		if reads[wamid] != 1 {
			badReads++
		}
	}
	if badReads > 0 {
		t.Errorf("%d of %d acknowledged messages did not get exactly one read receipt", badReads, len(acked))
	}
	if retried == 0 || len(deadLettered) == 0 || timedOut == 0 {
		t.Errorf("%d replies retried, %d dead-lettered, %d timed out; the faults should have caused each", retried, len(deadLettered), timedOut)
	}
	// The dead letters are exactly the refused replies, each once.
	inDLQ := map[string]int{}
	for _, r := range topicRecords(t, pl.kv["WASP_DATA_DIR"], schemas.TopicDLQ) {
		var cmd schemas.SendCommand
		if header(r, schemas.HeaderSource) == "sender" && json.Unmarshal(r.Value, &cmd) == nil {
			inDLQ[cmd.ID]++
			if !deadLettered[cmd.ID] {
				t.Errorf("command %s is in wa.dlq (%s) but was not refused for good", cmd.ID, header(r, schemas.HeaderReason))
			}
		}
	}
	for id := range deadLettered {
		if inDLQ[id] != 1 {
			t.Errorf("refused reply %s is %d times in wa.dlq; want once", id, inDLQ[id])
		}
	}
	if int(failedMetric) != len(deadLettered) {
		t.Errorf("wasp_sender_sends_total{outcome=\"failed\"} = %v; want %d", failedMetric, len(deadLettered))
	}
	r := pl.sim.Report()
	t.Logf("%d inbound acknowledged: %d replies retried, %d timed out and settled, %d dead-lettered; simulator: errors %v, %d bare 503s, %d held answers, in %v",
		len(acked), retried, timedOut, len(deadLettered), r.Errors, r.HTTP5xx, r.Timeouts, time.Since(start).Round(time.Millisecond))
}

// inboundInLog reads wa.webhooks until every wamid of want is found, and
// returns how many were not.
func inboundInLog(t *testing.T, l stream.Log, want map[string]bool) (missing int) {
	t.Helper()
	found, scanned := map[string]bool{}, 0
	readTopic(t, l, schemas.TopicWebhooks, func(rs []*stream.Record) bool {
		for _, r := range rs[scanned:] {
			for _, id := range inboundIDs(r.Value) {
				if want[id] {
					found[id] = true
				}
			}
		}
		scanned = len(rs)
		return len(found) == len(want)
	})
	return len(want) - len(found)
}

// TestReliabilityKafkaFaults: `wasp run` on Kafka (kfake) while the
// brokers misbehave under traffic: partition leaders move, produce
// requests to wa.webhooks fail for seconds, fetches fail, and produce
// requests are answered with an error after the records were written.
// While appends fail the ingester answers 503, never 200; after the
// faults every webhook it acknowledged is in wa.webhooks and answered
// exactly once.
func TestReliabilityKafkaFaults(t *testing.T) {
	outage := 6 * time.Second
	if longRun {
		outage = 30 * time.Second
	}
	pl := newPipeline(t, pipelineConfig{kafka: true, rate: 30, statuses: true})
	cl := pl.cluster
	start := time.Now()
	pl.start()
	waitReplies := func(what string, n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); len(pl.sim.Sends()) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d replies; want %d:\n%s", what, len(pl.sim.Sends()), n, output(pl.p))
			}
		}
	}
	waitReplies("at start", 10)

	// Leaders move to another broker: clients follow, nothing stops.
	for _, topic := range []string{schemas.TopicWebhooks, schemas.TopicOutbound, schemas.TopicEvents} {
		for p := range int32(8) {
			if err := cl.MoveTopicPartition(topic, p, (p+1)%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitReplies("after the leaders moved", len(pl.sim.Sends())+10)

	// wa.webhooks takes no appends for a while.
	down := time.Now()
	produce := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: schemas.TopicWebhooks,
		Err: kerr.NotEnoughReplicas, Count: -1})
	time.Sleep(outage)
	up := time.Now()
	produce.Remove()
	if produce.Hits() == 0 {
		t.Error("the produce fault failed no request")
	}
	var refused, okDuring int
	for _, x := range pl.hooks.exchanges() {
		if x.path != "/webhook" || x.start.Before(down) || x.end.After(up) {
			continue
		}
		switch x.status {
		case http.StatusOK:
			okDuring++
		case http.StatusServiceUnavailable:
			refused++
		}
	}
	if okDuring > 0 || refused == 0 {
		t.Errorf("while wa.webhooks took no appends: %d webhooks answered 200 and %d answered 503; want none and some", okDuring, refused)
	}
	waitReplies("after the produce outage", len(pl.sim.Sends())+10)

	// Fetches fail for a while: the consumers stall, the ingester does not.
	fetch := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: kerr.NotLeaderForPartition, Count: -1})
	time.Sleep(outage / 2)
	fetch.Remove()
	// Produce requests answered with an error after the records were
	// written: the idempotent producer retries them.
	after := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicasAfterAppend, Count: 5})
	waitReplies("after the fetch outage", len(pl.sim.Sends())+10)
	if fetch.Hits() == 0 || after.Hits() == 0 {
		t.Errorf("the fetch fault failed %d requests and the after-append fault %d; want some of each", fetch.Hits(), after.Hits())
	}

	pl.quiesce(60*time.Second, pl.allAnswered)
	n := pl.answeredOnce()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := stream.NewKafka(ctx, stream.KafkaConfig{Brokers: cl.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if missing := inboundInLog(t, l, pl.hooks.acked()); missing > 0 {
		t.Errorf("%d of %d acknowledged inbound messages are not in wa.webhooks", missing, n)
	}
	pl.stop()
	t.Logf("%d inbound acknowledged, each in the log and answered once; %d webhooks answered 503 during the produce outage; consumers told of lost records %d times; in %v",
		n, refused, strings.Count(pl.p.out.String(), "kafka reports lost records"), time.Since(start).Round(time.Millisecond))
}

// spawn starts `wasp run` and returns at once.
func spawn(t *testing.T, kv map[string]string, args ...string) *proc {
	t.Helper()
	return spawnAt(t, kv, freeAddr(t), args...)
}

// spawnAt starts `wasp run` with its webhook listener on addr and returns
// at once.
func spawnAt(t *testing.T, kv map[string]string, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{webhook: addr, admin: freeAddr(t), out: &bytes.Buffer{}}
	env := maps.Clone(kv)
	env["WASP_LISTEN"], env["WASP_ADMIN_LISTEN"] = p.webhook, p.admin
	p.cmd = exec.Command(waspBin, append([]string{"run"}, args...)...)
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// launch starts `wasp run` and waits only for it to be alive (/healthz),
// not ready: a wasp whose disk is full is alive and not ready.
func launch(t *testing.T, kv map[string]string, args ...string) *proc {
	t.Helper()
	p := spawn(t, kv, args...)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get(p, "/healthz"); code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("wasp is not alive:\n%s", output(p))
		}
	}
}

// get asks wasp's admin listener; code 0 when it does not answer.
func get(p *proc, path string) (int, string) {
	resp, err := http.Get("http://" + p.admin + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post sends a signed webhook and returns the answer's status and
// Retry-After.
func post(t *testing.T, p *proc, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+p.webhook+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", ingest.Sign(pipelineSecret, body))
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// stopWasp stops wasp with SIGTERM and checks that it stopped cleanly.
func stopWasp(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.out)
	}
}

// webhooksIn returns the values of every record of wa.webhooks in the
// data directory dir, as a set.
func webhooksIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range topicRecords(t, dir, schemas.TopicWebhooks) {
		out[string(r.Value)] = true
	}
	return out
}

// TestReliabilityDiskFull: with log.min_free_bytes above the disk's free
// space, the embedded log refuses appends: a webhook gets 503 with
// Retry-After (Meta retries it), /readyz says why, and wasp keeps
// running. Restarted with a reserve the disk has, the same webhook gets
// 200 and is in the log.
func TestReliabilityDiskFull(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	cfgFile := filepath.Join(dir, "wasp.yaml")
	reserve := func(n int64) {
		if err := os.WriteFile(cfgFile, fmt.Appendf(nil, "log:\n  min_free_bytes: %d\n", n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kv := map[string]string{"WASP_APP_SECRET": pipelineSecret, "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir}
	body := textWebhook(sim.DefaultPhoneNumberID, "5215550009999", "wamid.full.1", "hola")

	reserve(free + 1<<30)
	p := launch(t, kv, "--config", cfgFile)
	if code, retry := post(t, p, body); code != http.StatusServiceUnavailable || retry == "" {
		t.Errorf("webhook with the disk below the reserve: %d, Retry-After %q; want 503 with Retry-After", code, retry)
	}
	if code, why := get(p, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(why, "reserve") {
		t.Errorf("/readyz with the disk below the reserve: %d %q; want 503 naming the reserve", code, why)
	}
	if code, _ := get(p, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d; want 200, wasp keeps running", code)
	}
	stopWasp(t, p)

	reserve(1 << 20)
	p = startWaspAt(t, kv, freeAddr(t), "--config", cfgFile) // waits for /readyz
	if code, _ := post(t, p, body); code != http.StatusOK {
		t.Errorf("webhook with the disk above the reserve: %d; want 200", code)
	}
	stopWasp(t, p)
	if !webhooksIn(t, dir)[string(body)] {
		t.Error("the webhook acknowledged after the restart is not in wa.webhooks")
	}
}

// makeUnwritable makes dir refuse new entries until undo: by its mode, or,
// for root, whom modes do not stop, by the immutable attribute. It skips
// the test where neither works.
func makeUnwritable(t *testing.T, dir string) (undo func()) {
	t.Helper()
	writable := func() bool {
		f, err := os.CreateTemp(dir, "probe")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if !writable() {
		undo = func() { os.Chmod(dir, 0o750) }
	} else {
		os.Chmod(dir, 0o750)
		if err := setImmutable(dir, true); err != nil || writable() {
			t.Skipf("cannot make a directory unwritable here: modes do not stop root, and the immutable attribute did not take (%v)", err)
		}
		undo = func() { setImmutable(dir, false) }
	}
	t.Cleanup(undo) // before t.TempDir removes it
	return undo
}

// fsImmutable is FS_IMMUTABLE_FL of linux/fs.h.
const fsImmutable = 0x10

// setImmutable sets or clears a file's immutable attribute (chattr +i),
// which stops even root from adding entries to a directory.
func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	if on {
		flags |= fsImmutable
	} else {
		flags &^= fsImmutable
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
}

// TestReliabilityUnwritableDataDir: a data directory that cannot be
// written stops wasp at start with an error naming WASP_DATA_DIR; a log
// directory that becomes unwritable while wasp runs makes the ingester
// answer 503 once the log needs a new file, and 200 again once it can
// write, with every acknowledged webhook in the log byte for byte.
func TestReliabilityUnwritableDataDir(t *testing.T) {
	// At start: a new data directory, or one whose log directory exists,
	// that cannot be written.
	for _, sub := range []string{"", "log"} {
		t.Run("at start "+cmp.Or(sub, "new"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
				t.Fatal(err)
			}
			makeUnwritable(t, filepath.Join(dir, sub))
			p := spawn(t, map[string]string{"WASP_APP_SECRET": "s", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir})
			exited := make(chan error, 1)
			go func() { exited <- p.cmd.Wait() }()
			select {
			case err := <-exited:
				msg := p.out.String()
				if p.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(msg, "WASP_DATA_DIR="+dir) || strings.Contains(msg, "panic") {
					t.Errorf("wasp on an unwritable data directory: %v\n%s\nwant exit 1 and an error naming WASP_DATA_DIR", err, msg)
				}
			case <-time.After(20 * time.Second):
				p.cmd.Process.Kill()
				<-exited
				t.Fatalf("wasp kept running on an unwritable data directory:\n%s", p.out)
			}
		})
	}

	t.Run("while running", func(t *testing.T) {
		dir := t.TempDir()
		kv := map[string]string{"WASP_APP_SECRET": pipelineSecret, "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir}
		p := startWasp(t, kv)
		var acked [][]byte
		postOK := func(body []byte) int {
			code, _ := post(t, p, body)
			if code == http.StatusOK {
				acked = append(acked, body)
			}
			return code
		}
		if code := postOK(textWebhook(sim.DefaultPhoneNumberID, "5215550009999", "wamid.ro.0", "hola")); code != http.StatusOK {
			t.Fatalf("first webhook: %d", code)
		}
		undo := makeUnwritable(t, filepath.Join(dir, "log", "segments"))
		// Webhooks of 3.5 MB fill the 64 MiB segment within 19; the next
		// one needs a new file, which cannot be made.
		refused := 0
		for i := range 40 {
			if postOK(bigWebhook(i)) == http.StatusServiceUnavailable {
				refused = i + 1
				break
			}
		}
		if refused == 0 {
			t.Fatal("40 webhooks of 3.5 MB were stored in a log directory that takes no new file")
		}
		// Meta retries: still refused while the log cannot grow; a small
		// webhook that fits the current file is taken meanwhile.
		if code, _ := post(t, p, bigWebhook(refused-1)); code != http.StatusServiceUnavailable {
			t.Errorf("the refused webhook again while the log cannot grow: %d; want 503", code)
		}
		if code := postOK(textWebhook(sim.DefaultPhoneNumberID, "5215550009999", "wamid.ro.1", "hola")); code != http.StatusOK {
			t.Errorf("a small webhook that fits the current file: %d; want 200", code)
		}
		undo()
		if code := postOK(bigWebhook(refused - 1)); code != http.StatusOK {
			t.Fatalf("the refused webhook once the log directory is writable again: %d; want 200\n%s", code, output(p))
		}
		stopWasp(t, p)
		stored := webhooksIn(t, dir)
		for i, b := range acked {
			if !stored[string(b)] {
				t.Errorf("acknowledged webhook %d of %d is not in wa.webhooks byte for byte", i+1, len(acked))
			}
		}
		t.Logf("webhook %d refused with 503 when the log needed a new file; %d acknowledged, all in the log", refused, len(acked))
	})
}

// bigWebhook is a signed-size webhook of about 3.5 MB for one number:
// one message with a long text.
func bigWebhook(i int) []byte {
	return textWebhook(sim.DefaultPhoneNumberID, "5215550009999", fmt.Sprintf("wamid.big.%d", i), strings.Repeat("a", 3500<<10))
}
