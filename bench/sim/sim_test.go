package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasp/ingest"
	"wasp/schemas"
)

const (
	testToken  = "test-token"
	testSecret = "test-app-secret"
	phoneID    = DefaultPhoneNumberID
	wabaID     = DefaultWABAID
)

// start serves a simulator built from cfg on a random port until the test
// ends.
func start(t testing.TB, cfg Config) *Sim {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = []string{testToken}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	waitFor(t, "the simulator to serve", func() bool { return s.URL() != "" })
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// call makes one request with the test token and returns the status and
// the body, decoded when it is JSON.
func call(t testing.TB, s *Sim, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, raw := callRaw(t, s, method, path, "application/json", testToken, []byte(body))
	var m map[string]any
	json.Unmarshal(raw, &m)
	return status, m
}

func callRaw(t testing.TB, s *Sim, method, path, contentType, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" && len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// send posts a message body to the default number.
func send(t testing.TB, s *Sim, body string) (int, map[string]any) {
	t.Helper()
	return call(t, s, "POST", "/v25.0/"+phoneID+"/messages", body)
}

func textTo(to, text string) string {
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
		"text": map[string]any{"body": text},
	})
	return string(b)
}

// errorCode returns error.code of a Graph error body, or 0.
func errorCode(m map[string]any) int {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return int(c)
}

// wamidOf returns messages[0].id of a send answer.
func wamidOf(m map[string]any) string {
	msgs, _ := m["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	id, _ := msgs[0].(map[string]any)["id"].(string)
	return id
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is an ingester stand-in: it checks each webhook's signature
// and keeps what it parsed.
type receiver struct {
	URL    string
	mu     sync.Mutex
	bodies [][]byte
	hooks  []*schemas.Webhook
	badSig int
	fail   atomic.Int32 // answer 500 to this many more POSTs
	t      testing.TB
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
			req.Header.Get("X-Hub-Signature-256") != ingest.Sign(testSecret, body) {
			r.mu.Lock()
			r.badSig++
			r.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.fail.Load() > 0 && r.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		hook, err := schemas.ParseWebhook(body)
		if err != nil {
			t.Errorf("cannot parse a webhook: %v\n%s", err, body)
			w.WriteHeader(http.StatusOK)
			return
		}
		for _, c := range hook.Changes() {
			if c.Err != nil {
				t.Errorf("change %s does not parse: %v\n%s", c.Field, c.Err, body)
			}
		}
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.hooks = append(r.hooks, hook)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/webhook"
	return r
}

// statuses returns every status received, in arrival order.
func (r *receiver) statuses() []*schemas.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*schemas.Status
	for _, h := range r.hooks {
		for _, st := range h.Statuses() {
			out = append(out, st)
		}
	}
	return out
}

// messages returns every inbound message received, with its value.
func (r *receiver) messages() (vals []*schemas.MessagesValue, msgs []*schemas.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hooks {
		for v, m := range h.Messages() {
			vals, msgs = append(vals, v), append(msgs, m)
		}
	}
	return vals, msgs
}

func (r *receiver) posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// webhookConfig is a Config that posts to r.
func webhookConfig(r *receiver) Config {
	return Config{Webhook: Webhook{URL: r.URL, AppSecret: testSecret, Statuses: true}}
}

// paths returns the key paths of a JSON value: "a.b[].c".
func paths(v any) []string {
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				set[p] = true
				walk(p, x)
			}
		case []any:
			for _, x := range v {
				walk(prefix+"[]", x)
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// fixture reads a reference payload.
func fixture(t testing.TB, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "fixtures", name))
	if err != nil {
		b, err = os.ReadFile(filepath.Join("/work/shared/reference/fixtures", name))
	}
	if err != nil {
		t.Skipf("reference fixture %s not available: %v", name, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return v
}

// missingPaths returns the paths of want that got lacks, except those
// starting with one of the optional prefixes.
func missingPaths(want, got any, optional ...string) []string {
	have := map[string]bool{}
	for _, p := range paths(got) {
		have[p] = true
	}
	var missing []string
outer:
	for _, p := range paths(want) {
		for _, o := range optional {
			if strings.HasPrefix(p, o) {
				continue outer
			}
		}
		if !have[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := func(name string, cfg Config, want string) {
		t.Helper()
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v; want an error containing %q", name, err, want)
		}
	}
	f("no id", Config{Numbers: []Number{{WABAID: "1"}}}, "no PhoneNumberID")
	f("level", Config{Numbers: []Number{{PhoneNumberID: "1", Level: "TURBO"}}}, "Level")
	f("duplicate", Config{Numbers: []Number{{PhoneNumberID: "1"}, {PhoneNumberID: "1"}}}, "twice")
	f("secret", Config{Webhook: Webhook{URL: "http://x/webhook"}}, "AppSecret")
	f("customers", Config{Customers: Customers{Rate: 1}}, "Webhook.URL")
	f("rate", Config{Faults: Faults{ErrorRate: 1.5}}, "Faults.ErrorRate")
	f("type", Config{Webhook: Webhook{URL: "http://x", AppSecret: "s"}, Customers: Customers{Rate: 1, Types: map[string]float64{"poll": 1}}}, `"poll"`)
	f("template", Config{Templates: []Template{{Name: "x"}}}, "Language")
	f("pin", Config{Numbers: []Number{{PhoneNumberID: "1", PIN: "12"}}}, "PIN")
	if !strings.HasPrefix(func() string { _, err := New(Config{Numbers: []Number{{}}}); return err.Error() }(), "cannot create the simulator: ") {
		t.Errorf("errors should read \"cannot create the simulator: …\"")
	}
}

func TestZeroConfigServes(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Addr != "127.0.0.1:8090" || s.numbers[DefaultPhoneNumberID] == nil || s.numbers[DefaultPhoneNumberID].cfg.ThroughputMPS != 80 {
		t.Fatalf("got addr %q, numbers %v; want the defaults", s.cfg.Addr, s.numbers)
	}
	s = start(t, Config{Tokens: []string{}})
	// Any token goes when Tokens is empty; one is still required.
	if status, m := call(t, s, "POST", "/v24.0/"+phoneID+"/messages", textTo("+16505551234", "hi")); status != 200 || wamidOf(m) == "" {
		t.Fatalf("got %d %v; want a send accepted with any token", status, m)
	}
	if status, raw := callRaw(t, s, "GET", "/v24.0/"+phoneID, "", "", nil); status != 401 || !bytes.Contains(raw, []byte(`"code":190`)) {
		t.Fatalf("got %d %s; want 401 and error 190 without a token", status, raw)
	}
}

func TestRunStopsOnContextEnd(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", Faults: Faults{TimeoutRate: 1, Hold: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "the simulator to listen", func() bool { return s.URL() != "" })
	// A held request must not keep the simulator from stopping.
	go func() {
		req, _ := http.NewRequest("POST", s.URL()+"/v25.0/"+phoneID+"/messages", strings.NewReader(textTo("+16505551234", "hi")))
		req.Header.Set("Authorization", "Bearer x")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the request to be held", func() bool { return s.Report().Timeouts == 1 })
	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("stopping took %v; want the held request released at once", d)
	}
}
