package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kfake"

	"wasp/analytics"
	"wasp/bench/sim"
	"wasp/ingest"
	"wasp/internal/chtest"
	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/stream"
)

// waspBin is the binary built once for the tests that run it as a user
// would.
var waspBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasp-bin")
	if err != nil {
		panic(err)
	}
	waspBin = filepath.Join(dir, "wasp")
	out, err := exec.Command("go", "build", "-o", waspBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot build wasp: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	f := func(kv map[string]string, args []string, want string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(args, env(kv), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), want) {
			t.Fatalf("wasp %v with %v: exit %d, stderr %q; want exit 2 naming %q", args, kv, code, errb.String(), want)
		}
	}
	f(nil, []string{"run"}, "cannot start: WASP_APP_SECRET is empty (set it, or run with --demo)")
	f(map[string]string{"WASP_APP_SECRET": "s"}, []string{"run"}, "WASP_VERIFY_TOKEN is empty")
	ok := map[string]string{"WASP_APP_SECRET": "s", "WASP_VERIFY_TOKEN": "v"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range ok {
			m[a] = b
		}
		return m
	}
	f(with("WASP_ADMIN_LISTEN", "0.0.0.0:9090"), []string{"run"}, "WASP_API_TOKEN is empty")
	f(with("WASP_LISTEN", "8080"), []string{"run"}, "WASP_LISTEN=\"8080\" is not host:port")
	f(with("WASP_PAIR_LIMIT", "45"), []string{"run"}, "WASP_PAIR_LIMIT")
	f(with("WASP_THROUGHPUT_MPS", "fast"), []string{"run"}, "WASP_THROUGHPUT_MPS")
	f(with("WASP_GRAPH_VERSION", "25"), []string{"run"}, "WASP_GRAPH_VERSION")
	f(ok, []string{"run", "--nope"}, "flag provided but not defined")
	f(ok, []string{"frobnicate"}, "unknown command")

	cfgFile := filepath.Join(t.TempDir(), "wasp.yaml")
	os.WriteFile(cfgFile, []byte("listen: ':8080'\nlisten_port: 9\n"), 0o600)
	f(ok, []string{"run", "--config", cfgFile}, `line 2: unknown setting "listen_port" (every setting is in deploy/wasp.example.yaml)`)
}

func TestCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--check", "--demo"}, env(nil), &out, &errb); code != 0 {
		t.Fatalf("--check --demo: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "configuration is valid: embedded log") || strings.Contains(out.String(), "warning") {
		t.Fatalf("--check printed %q", out.String())
	}
	// What a valid configuration leaves undone is said, with the setting.
	for _, c := range []struct {
		kv   map[string]string
		cmd  string
		want string
	}{
		{map[string]string{}, "run", "warning: no tenant has a phone number"},
		{map[string]string{"WASP_PHONE_NUMBER_ID": "1065"}, "run", `warning: tenant "default" has no access token`},
		{map[string]string{"WASP_PHONE_NUMBER_ID": "1065"}, "process", ""},
		{map[string]string{"WASP_PHONE_NUMBER_ID": "1065", "WASP_ACCESS_TOKEN": "t"}, "send", ""},
		{map[string]string{}, "ingest", ""},
	} {
		c.kv["WASP_APP_SECRET"], c.kv["WASP_VERIFY_TOKEN"] = "s", "v"
		out.Reset()
		code := run([]string{c.cmd, "--check"}, env(c.kv), &out, &errb)
		if got := out.String(); code != 0 || c.want == "" && strings.Contains(got, "warning") || !strings.Contains(got, c.want) {
			t.Errorf("wasp %s --check with %v: exit %d, printed %q; want a warning %q", c.cmd, c.kv, code, got, c.want)
		}
	}
	cfgFile := filepath.Join(t.TempDir(), "wasp.yaml")
	os.WriteFile(cfgFile, []byte(`
apps:
  - {id: "1", secret: from-file}
verify_token: v
log: {partitions: 16, retention: 72h, retention_bytes: 2GiB}
kafka: {brokers: [k1:9092]}
`), 0o600)
	out.Reset()
	if code := run([]string{"run", "--check", "--config", cfgFile}, env(nil), &out, &errb); code != 0 {
		t.Fatalf("--check with a file: exit %d: %s", code, errb.String())
	}
	cfg, err := loadConfig(cfgFile, env(map[string]string{"WASP_KAFKA_BROKERS": "a:1, b:2", "WASP_APP_SECRET": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v %v %v %v %v", cfg.Kafka.Brokers, cfg.Apps[0].Secret, cfg.Log.Partitions, cfg.Log.Retention, cfg.Log.RetentionBytes); got != "[a:1 b:2] from-env 16 72h0m0s 2147483648" {
		t.Fatalf("config = %s", got)
	}
}

// proc is a wasp process started from the built binary.
type proc struct {
	cmd     *exec.Cmd
	webhook string
	admin   string
	out     *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startWasp(t *testing.T, kv map[string]string) *proc {
	t.Helper()
	return startWaspAt(t, kv, freeAddr(t))
}

// startWaspAt starts `wasp run` with its webhook listener on addr and
// waits until it is ready.
func startWaspAt(t *testing.T, kv map[string]string, addr string, args ...string) *proc {
	t.Helper()
	p := spawnAt(t, kv, addr, args...)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get(p, "/readyz"); code == http.StatusOK {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("wasp did not become ready:\n%s", output(p))
		}
	}
}

var numbers = []string{"106540352242922", "106540352242923", "106540352242924"}

// burst posts signed webhooks from several clients until stop is closed
// (or n were acknowledged each), and returns the wamids answered 200, by
// phone number.
func burst(addr, secret string, clients, n int, stop <-chan struct{}) map[string]string {
	var mu sync.Mutex
	acked := map[string]string{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := range n {
				select {
				case <-stop:
					return
				default:
				}
				number := numbers[(c+i)%len(numbers)]
				wamid := fmt.Sprintf("wamid.kill.%d.%d", c, i)
				body := webhookBody(number, wamid)
				req, _ := http.NewRequest("POST", "http://"+addr+"/webhook", bytes.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", ingest.Sign(secret, body))
				resp, err := client.Do(req)
				if err != nil {
					return // killed
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[wamid] = number
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

func webhookBody(number, wamid string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5215550001111"}],"messages":[{"from":"5215550001111","id":%q,"timestamp":"1751247548","text":{"body":"hola"},"type":"text"}]},"field":"messages"}]}]}`, number, wamid)
}

// killDuringBurst posts webhooks and SIGKILLs wasp once some were
// acknowledged, while the others are in flight.
func killDuringBurst(t *testing.T, p *proc, secret string) map[string]string {
	t.Helper()
	stop := make(chan struct{})
	result := make(chan map[string]string, 1)
	go func() { result <- burst(p.webhook, secret, 16, 100_000, stop) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if n := appendedRecords(t, p); n >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no burst got through:\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	close(stop)
	acked := <-result
	if len(acked) < 2000 {
		t.Fatalf("only %d webhooks acknowledged before the kill", len(acked))
	}
	return acked
}

// appendedRecords reads the ingester's counter from /metrics.
func appendedRecords(t *testing.T, p *proc) int {
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "wasp_ingest_appended_records_total %d", &n); err == nil {
			return n
		}
	}
	return 0
}

// checkLog reads every webhook record and checks that each acknowledged
// wamid is there, under its phone number.
func checkLog(t *testing.T, l stream.Log, acked map[string]string) {
	t.Helper()
	c, err := l.Consume("check", schemas.TopicWebhooks)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	found := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	missing := len(acked)
	for missing > 0 {
		rs, err := c.Fetch(ctx, 10_000)
		if err != nil {
			t.Fatalf("%d of %d acknowledged webhooks are not in the log: %v", missing, len(acked), err)
		}
		for _, r := range rs {
			i := bytes.Index(r.Value, []byte(`"id":"wamid.kill.`))
			if i < 0 {
				t.Fatalf("unexpected record %.100s", r.Value)
			}
			wamid := string(r.Value[i+6 : i+6+bytes.IndexByte(r.Value[i+6:], '"')])
			number, ok := acked[wamid]
			if ok && !found[wamid] {
				found[wamid] = true
				missing--
			}
			if ok && string(r.Key) != number {
				t.Fatalf("%s stored under key %s; want its phone_number_id %s", wamid, r.Key, number)
			}
		}
	}
}

func TestKillLosesNoAcknowledgedWebhook(t *testing.T) {
	dir := t.TempDir()
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir}
	acked := killDuringBurst(t, startWasp(t, kv), "s3cret")

	// wasp starts again on the same data and takes webhooks.
	p := startWasp(t, kv)
	postSigned(t, p, "s3cret", webhookBody(numbers[0], "wamid.kill.after"))
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.out)
	}
	if !strings.Contains(p.out.String(), "stopped stage=log") {
		t.Fatalf("the log was not closed on SIGTERM:\n%s", p.out)
	}

	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	checkLog(t, l, acked)
	t.Logf("%d webhooks acknowledged before SIGKILL, all in the log", len(acked))
}

// TestSpareProcs: wasp run has two more Ps than cores, unless a CPU limit
// lowers the runtime's default, and GOMAXPROCS, when set, decides alone.
func TestSpareProcs(t *testing.T) {
	procs := func(gomaxprocs string) int {
		t.Helper()
		kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v",
			"WASP_DATA_DIR": t.TempDir(), "GOMAXPROCS": gomaxprocs}
		p := startWasp(t, kv)
		defer stopWasp(t, p)
		_, metrics := get(p, "/metrics")
		for _, line := range strings.Split(metrics, "\n") {
			var n int
			if _, err := fmt.Sscanf(line, "go_gomaxprocs %d", &n); err == nil {
				return n
			}
		}
		t.Fatalf("no go_gomaxprocs in /metrics:\n%s", metrics)
		return 0
	}
	for _, n := range []int{1, runtime.NumCPU()} { // the cores: how the README turns it off
		if got := procs(strconv.Itoa(n)); got != n {
			t.Errorf("with GOMAXPROCS=%d wasp runs %d Ps", n, got)
		}
	}
	// An empty GOMAXPROCS is unset, for wasp and for Go's runtime. Unless
	// GOMAXPROCS is set for this test, its default is wasp's: the cores,
	// or lower under a CPU limit, when wasp adds none.
	if os.Getenv("GOMAXPROCS") != "" {
		t.Log("GOMAXPROCS is set for the test: the default case is not checked")
		return
	}
	want := runtime.GOMAXPROCS(0)
	if want == runtime.NumCPU() {
		want += spareProcs
	}
	if got := procs(""); got != want {
		t.Errorf("without GOMAXPROCS wasp runs %d Ps, want %d (%d cores)", got, want, runtime.NumCPU())
	}
}

func TestKillLosesNoAcknowledgedWebhookKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v",
		"WASP_DATA_DIR": t.TempDir(), "WASP_KAFKA_BROKERS": brokers}
	acked := killDuringBurst(t, startWasp(t, kv), "s3cret")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := stream.NewKafka(ctx, stream.KafkaConfig{Brokers: cluster.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	checkLog(t, l, acked)
	t.Logf("%d webhooks acknowledged before SIGKILL, all in Kafka", len(acked))
}

func TestExampleConfigIsValid(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--check", "--config", "../../deploy/wasp.example.yaml"}, env(nil), &out, &errb); code != 0 {
		t.Fatalf("deploy/wasp.example.yaml: exit %d: %s", code, errb.String())
	}
}

// TestKillSenderSendsOnce: wasp is SIGKILLed while sends are in flight and
// started again: every command is sent, none twice. Sends in flight at the
// kill are settled by their status webhooks (or sent after the settle
// delay when Meta never got them).
func TestKillSenderSendsOnce(t *testing.T) {
	const n = 400
	dir := t.TempDir()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*stream.Record
	for i := range n {
		msg := []byte(`{"type":"text","text":{"body":"hola"}}`)
		c := schemas.SendCommand{ID: fmt.Sprintf("kill-%d", i), PhoneNumberID: sim.DefaultPhoneNumberID,
			To: fmt.Sprintf("52155501%05d", i), Message: msg}
		v, _ := json.Marshal(c)
		recs = append(recs, &stream.Record{Topic: schemas.TopicOutbound, Key: []byte(c.PhoneNumberID), Value: v})
	}
	if err := l.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	l.Close()

	webhook := freeAddr(t)
	s := serveSim(t, sim.Config{Tokens: []string{"tok"},
		Faults:  sim.Faults{Latency: sim.Latency{Fixed: 20 * time.Millisecond}},
		Webhook: sim.Webhook{URL: "http://" + webhook + "/webhook", AppSecret: "s3cret", Statuses: true}})

	cfgFile := filepath.Join(dir, "wasp.yaml")
	os.WriteFile(cfgFile, []byte("send:\n  settle_delay: 2s\n"), 0o600)
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir,
		"WASP_GRAPH_URL": s.URL(), "WASP_ACCESS_TOKEN": "tok",
		"WASP_PHONE_NUMBER_ID": sim.DefaultPhoneNumberID, "WASP_THROUGHPUT_MPS": "200"}
	start := func() *proc { return startWaspAt(t, kv, webhook, "--config", cfgFile) }
	accepted := func() int64 { return s.Report().Numbers[sim.DefaultPhoneNumberID].Accepted }

	p := start()
	for deadline := time.Now().Add(20 * time.Second); accepted() < n/3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sends before the kill:\n%s", accepted(), p.out)
		}
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	atKill := accepted()

	p = start()
	for deadline := time.Now().Add(30 * time.Second); accepted() < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d commands sent after the restart:\n%s", accepted(), n, p.out)
		}
	}
	time.Sleep(3 * time.Second) // past the settle delay: a late duplicate would show
	seen := map[string]int{}
	for _, snd := range s.Sends() {
		cb, _ := schemas.ParseCallback(snd.BizOpaqueCallbackData)
		seen[cb.CommandID]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("kill-%d", i)]; c != 1 {
			t.Fatalf("command kill-%d sent %d times; want once (%d sent before the kill)", i, c, atKill)
		}
	}
	t.Logf("%d sends before SIGKILL, %d after; each command once", atKill, n-int(atKill))
}

// graphRecorder is any HTTP server standing for the Graph API: it records
// each request and answers Meta's success body.
type graphRecorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type recorded struct {
	Path, Auth string
	Body       map[string]any
}

func newGraphRecorder(t *testing.T) *graphRecorder {
	g := &graphRecorder{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		g.reqs = append(g.reqs, recorded{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
		n := len(g.reqs)
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if body["status"] == "read" {
			fmt.Fprint(w, `{"success":true}`)
			return
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.out%d"}]}`, n)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *graphRecorder) requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recorded(nil), g.reqs...)
}

// postSigned posts a signed webhook to a running wasp and checks the 200;
// if it is refused, the failure shows wasp's output.
func postSigned(t *testing.T, p *proc, secret string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+p.webhook+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", ingest.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook: %v %v\n%s", resp, err, output(p))
	}
	resp.Body.Close()
}

func textWebhook(number, user, wamid, text string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Ana"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}]}}]}]}`,
		number, user, user, wamid, time.Now().Unix(), text)
}

// TestHolaThroughTheBinary: wasp run with the rules bot and the Graph URL
// at any HTTP server: a signed "hola" yields one mark-as-read and exactly
// one Spanish text reply to that user, with the token.
func TestHolaThroughTheBinary(t *testing.T) {
	g := newGraphRecorder(t)
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": t.TempDir(),
		"WASP_GRAPH_URL": g.srv.URL, "WASP_GRAPH_VERSION": "v25.0", "WASP_ACCESS_TOKEN": "tok-123",
		"WASP_PHONE_NUMBER_ID": "106540352242922", "WASP_BUSINESS_NAME": "Café Uno"}
	p := startWasp(t, kv)
	postSigned(t, p, "s3cret", textWebhook("106540352242922", "5215550001111", "wamid.hola1", "hola"))
	for deadline := time.Now().Add(15 * time.Second); len(g.requests()) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d Graph requests; want 2:\n%s", len(g.requests()), p.out)
		}
	}
	time.Sleep(500 * time.Millisecond)
	reqs := g.requests()
	var texts, reads int
	for _, r := range reqs {
		if r.Path != "/v25.0/106540352242922/messages" || r.Auth != "Bearer tok-123" {
			t.Fatalf("request to %s with %q; want /v25.0/106540352242922/messages with the bearer token", r.Path, r.Auth)
		}
		switch {
		case r.Body["status"] == "read":
			reads++
		case r.Body["type"] == "text":
			texts++
			body := r.Body["text"].(map[string]any)["body"].(string)
			if r.Body["to"] != "+5215550001111" || bot.DetectLanguage(body, "en") != "es" {
				t.Fatalf("reply %v; want a Spanish text to +5215550001111", r.Body)
			}
		}
	}
	if texts != 1 || reads != 1 || len(reqs) != 2 {
		t.Fatalf("%d text replies and %d reads in %d requests; want exactly one of each", texts, reads, len(reqs))
	}
}

// TestOpenAIThroughTheBinary: with WASP_OPENAI_BASE_URL at an
// OpenAI-compatible server, the chat request carries the business name
// and the conversation in order, and the model's answer is what is sent;
// a server that times out yields the fallback and a handoff.
func TestOpenAIThroughTheBinary(t *testing.T) {
	g := newGraphRecorder(t)
	var mu sync.Mutex
	var chats [][]map[string]any
	slow := make(chan struct{})
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Messages []map[string]any }
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		chats = append(chats, req.Messages)
		n := len(chats)
		mu.Unlock()
		last := fmt.Sprint(req.Messages[len(req.Messages)-1]["content"])
		if strings.Contains(last, "lento") {
			select {
			case <-slow:
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"respuesta %d del modelo"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13}}`, n)
	}))
	defer llm.Close()
	defer close(slow)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "wasp.yaml")
	os.WriteFile(cfgFile, []byte("openai:\n  timeout: 2s\n"), 0o600)
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": dir,
		"WASP_GRAPH_URL": g.srv.URL, "WASP_ACCESS_TOKEN": "tok", "WASP_PHONE_NUMBER_ID": "106540352242922",
		"WASP_BUSINESS_NAME": "Panadería Sol", "WASP_OPENAI_BASE_URL": llm.URL + "/v1",
		"WASP_OPENAI_API_KEY": "sk-test", "WASP_OPENAI_MODEL": "test-model", "WASP_API_TOKEN": "api"}
	p := startWaspAt(t, kv, freeAddr(t), "--config", cfgFile)
	texts := func() []string {
		var out []string
		for _, r := range g.requests() {
			if r.Body["type"] == "text" {
				out = append(out, r.Body["text"].(map[string]any)["body"].(string))
			}
		}
		return out
	}
	waitTexts := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); len(texts()) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d replies sent; want %d:\n%s", len(texts()), n, p.out)
			}
		}
		return texts()
	}
	user := "5215550002222"
	postSigned(t, p, "s3cret", textWebhook("106540352242922", user, "wamid.o1", "primera pregunta"))
	waitTexts(1)
	postSigned(t, p, "s3cret", textWebhook("106540352242922", user, "wamid.o2", "segunda pregunta"))
	got := waitTexts(2)
	mu.Lock()
	last := chats[len(chats)-1]
	mu.Unlock()
	if sys := fmt.Sprint(last[0]["content"]); last[0]["role"] != "system" || !strings.Contains(sys, "Panadería Sol") {
		t.Fatalf("system prompt %q; want it to name the business", sys)
	}
	var order []string
	for _, m := range last[1:] {
		order = append(order, fmt.Sprint(m["role"], ":", m["content"]))
	}
	want := []string{"user:primera pregunta", "assistant:" + got[0], "user:segunda pregunta"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("chat turns %q; want %q", order, want)
	}
	if !strings.HasPrefix(got[1], "respuesta ") {
		t.Fatalf("sent %q; want the model's answer", got[1])
	}

	postSigned(t, p, "s3cret", textWebhook("106540352242922", user, "wamid.o3", "pregunta lento"))
	got = waitTexts(3)
	if strings.HasPrefix(got[2], "respuesta ") {
		t.Fatalf("sent %q for a timed-out model; want the fallback", got[2])
	}
	req, _ := http.NewRequest("GET", "http://"+p.admin+"/api/v1/conversations?state=human", nil)
	req.Header.Set("Authorization", "Bearer api")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Conversations []map[string]any }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Conversations) != 1 {
		t.Fatalf("%d handed-off conversations after the timeout; want 1", len(list.Conversations))
	}
}

// TestClickHouseCountsThroughTheBinary: N signed inbound messages through
// wasp run with WASP_CLICKHOUSE_ADDR land in ClickHouse as exactly N
// inbound events and N accepted replies, each id once.
func TestClickHouseCountsThroughTheBinary(t *testing.T) {
	addr := chtest.Addr(t)
	const n = 60
	db := fmt.Sprintf("wasp_e2e_%d", time.Now().UnixNano())
	g := newGraphRecorder(t)
	kv := map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": t.TempDir(),
		"WASP_GRAPH_URL": g.srv.URL, "WASP_ACCESS_TOKEN": "tok", "WASP_PHONE_NUMBER_ID": "106540352242922",
		"WASP_CLICKHOUSE_ADDR": addr, "WASP_CLICKHOUSE_DATABASE": db}
	p := startWasp(t, kv)
	for i := range n {
		postSigned(t, p, "s3cret", textWebhook("106540352242922", fmt.Sprintf("52155503%05d", i%20), fmt.Sprintf("wamid.ch%d", i), "hola"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := connectDropping(ctx, t, addr, db)
	count := func(where string) (rows, ids uint64) {
		row := conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+db+".events WHERE "+where)
		if err := row.Scan(&rows, &ids); err != nil {
			return 0, 0
		}
		return rows, ids
	}
	for {
		in, _ := count("kind = 'inbound'")
		out, _ := count("kind = 'send_accepted' AND message_type != 'read'")
		if in >= n && out >= n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("ClickHouse holds %d inbound and %d accepted events; want %d each:\n%s", in, out, n, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would have landed by now
	for what, where := range map[string]string{"inbound": "kind = 'inbound'", "accepted replies": "kind = 'send_accepted' AND message_type != 'read'"} {
		if rows, ids := count(where); rows != n || ids != n {
			t.Fatalf("%s: %d rows, %d distinct ids; want exactly %d", what, rows, ids, n)
		}
	}
	// The dashboard API's figures equal direct SQL.
	resp, err := http.Get("http://" + p.admin + "/api/v1/dashboard/summary")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Conversations, MessagesIn, MessagesOut int64
	}
	var raw map[string]any
	json.NewDecoder(resp.Body).Decode(&raw)
	resp.Body.Close()
	sum.Conversations, sum.MessagesIn, sum.MessagesOut = int64(raw["conversations"].(float64)), int64(raw["messages_in"].(float64)), int64(raw["messages_out"].(float64))
	var users uint64
	if err := conn.QueryRow(ctx, "SELECT uniqExact(user) FROM "+db+".events WHERE kind = 'inbound'").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if sum.MessagesIn != n || sum.MessagesOut != n || sum.Conversations != int64(users) {
		t.Fatalf("dashboard %+v; SQL says %d in, %d out, %d conversations", sum, n, n, users)
	}
}

// TestDemoThroughTheBinary: `wasp run --demo`, what `make run` starts,
// answers the simulator's customers without a Meta account, and a SIGINT
// stops it cleanly: exit 0, no warning or error on the way out.
func TestDemoThroughTheBinary(t *testing.T) {
	graph := freeAddr(t)
	p := startWaspAt(t, map[string]string{"WASP_DATA_DIR": t.TempDir(), "WASP_GRAPH_URL": "http://" + graph},
		freeAddr(t), "--demo")
	replied := func() bool {
		resp, err := http.Get("http://" + graph + "/_sim/report")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r struct {
			Numbers map[string]struct {
				Accepted int64 `json:"accepted"`
			} `json:"numbers"`
		}
		return json.NewDecoder(resp.Body).Decode(&r) == nil && r.Numbers[sim.DefaultPhoneNumberID].Accepted > 0
	}
	for deadline := time.Now().Add(60 * time.Second); !replied(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reply reached the simulator in 60 s:\n%s", output(p))
		}
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("wasp run --demo after SIGINT: %v\n%s", err, p.out.String())
	}
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("the demo logged: %s", line)
		}
	}
}

// TestHelpAndBadFlags: every command's -h prints its usage on stdout and
// exits 0; a flag it does not know is named on stderr, with the usage,
// and exits 2.
func TestHelpAndBadFlags(t *testing.T) {
	for _, cmd := range [][]string{{"run"}, {"ingest"}, {"migrate"}, {"sim"}, {"bench"}, {"dlq", "list"}, {"admin", "phone", "list"}} {
		var out, errb bytes.Buffer
		if code := run(append(cmd, "-h"), env(nil), &out, &errb); code != 0 || !strings.Contains(out.String(), "-") || errb.Len() > 0 {
			t.Errorf("wasp %v -h: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", cmd, code, out.String(), errb.String())
		}
		out.Reset()
		errb.Reset()
		if code := run(append(cmd, "--no-such-flag"), env(nil), &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
			t.Errorf("wasp %v --no-such-flag: exit %d, stderr %q; want 2 naming the flag", cmd, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if run([]string{"bench", "-h"}, env(nil), &out, &errb); !strings.Contains(out.String(), "retry-storm") {
		t.Errorf("wasp bench -h does not list the scenarios:\n%s", out.String())
	}
}

// TestAPIUnknownEndpoint: a path the API does not serve is a JSON 404,
// behind the token like the rest.
func TestAPIUnknownEndpoint(t *testing.T) {
	a := newAdmin(&Config{AdminListen: "127.0.0.1:0", APIToken: "tok"}, nil)
	get := func(auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/nope", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		w := httptest.NewRecorder()
		a.mux.ServeHTTP(w, req)
		return w
	}
	if w := get(""); w.Code != http.StatusUnauthorized {
		t.Errorf("without the token: %d; want 401", w.Code)
	}
	w := get("tok")
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusNotFound || err != nil || !strings.Contains(body.Error, "/api/v1/nope") {
		t.Errorf("unknown endpoint: %d %q; want 404 with a JSON error naming it", w.Code, w.Body.String())
	}
}

// TestClickHouseLateThroughTheBinary: wasp started while ClickHouse does
// not answer applies the schema once it does and loads every event that
// waited in the log, each once.
func TestClickHouseLateThroughTheBinary(t *testing.T) {
	addr := chtest.Addr(t)
	const n = 10
	db := fmt.Sprintf("wasp_late_%d", time.Now().UnixNano())
	late := freeAddr(t) // where ClickHouse will answer: nothing listens yet
	p := spawnAt(t, map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": t.TempDir(),
		"WASP_GRAPH_URL": newGraphRecorder(t).srv.URL, "WASP_ACCESS_TOKEN": "tok", "WASP_PHONE_NUMBER_ID": "106540352242922",
		"WASP_CLICKHOUSE_ADDR": late, "WASP_CLICKHOUSE_DATABASE": db}, freeAddr(t))
	// Ready but for ClickHouse, which /readyz names.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, body := get(p, "/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "clickhouse") && !strings.Contains(body, "log:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %q; want 503 naming ClickHouse alone:\n%s", code, body, output(p))
		}
	}
	for i := range n {
		postSigned(t, p, "s3cret", textWebhook("106540352242922", "5215550300001", fmt.Sprintf("wamid.late%d", i), "hola"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := connectDropping(ctx, t, addr, db)

	// ClickHouse comes up: a forwarder to the test server starts
	// listening at the address wasp was given.
	ln, err := net.Listen("tcp", late)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				go io.Copy(s, c)
				io.Copy(c, s)
			}()
		}
	}()
	var rows, ids uint64
	for {
		err := conn.QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+db+".events WHERE kind = 'inbound'").Scan(&rows, &ids)
		if err == nil && rows >= n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("ClickHouse holds %d inbound events (%v); want %d:\n%s", rows, err, n, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rows != n || ids != n {
		t.Fatalf("%d inbound rows, %d distinct ids; want exactly %d", rows, ids, n)
	}
	if code, body := get(p, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once ClickHouse answers: %d %q; want 200", code, body)
	}
}

// connectDropping connects to the ClickHouse server at addr for a test
// that uses the database db, which is dropped when the test ends.
func connectDropping(ctx context.Context, t *testing.T, addr, db string) driver.Conn {
	conn, err := analytics.Connect(ctx, analytics.ClientConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	return conn
}
