package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"wasp/bench/sim"
	"wasp/processor/bot"
	"wasp/schemas"
)

// fakeWasp stands in for a deployment so that the bench's judgement can
// be checked: it answers each inbound message through the simulator's
// Graph API like wasp does (callback data naming the wamid), except every
// 10th message, never answered, and every 7th, answered twice.
type fakeWasp struct {
	graph string // the simulator's base URL
	mu    sync.Mutex
	n     int
	lost  int
	dups  int
}

func (f *fakeWasp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	hook, err := schemas.ParseWebhook(body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for v, m := range hook.Messages() {
		f.mu.Lock()
		f.n++
		answers := 1
		switch {
		case f.n%10 == 0:
			answers, f.lost = 0, f.lost+1
		case f.n%7 == 0:
			answers, f.dups = 2, f.dups+1
		}
		f.mu.Unlock()
		to := `"to":"` + m.From + `"`
		if m.From == "" {
			to = `"recipient":"` + m.FromUserID + `"`
		}
		reply := `{"messaging_product":"whatsapp",` + to + `,"type":"text","text":{"body":"ok"},"biz_opaque_callback_data":"wasp1:cmd:` + m.ID + `"}`
		for range answers {
			go func() {
				req, _ := http.NewRequest("POST", f.graph+"/v25.0/"+v.Metadata.PhoneNumberID+"/messages", strings.NewReader(reply))
				req.Header.Set("Authorization", "Bearer any")
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
}

// TestRunJudgesLostAndDuplicated runs the bench in remote mode against
// fakeWasp: the lost and duplicated replies are counted exactly, and the
// figures, series and reports are filled.
func TestRunJudgesLostAndDuplicated(t *testing.T) {
	simAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeWasp{graph: "http://" + simAddr}
	target := httptest.NewServer(fake)
	defer target.Close()

	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{Rate: 150, Duration: 2 * time.Second, Drain: 2 * time.Second, Users: 500,
		Types: map[string]float64{"text": 5, "image": 1, "reaction": 1}, Target: target.URL + "/webhook",
		AppSecret: "s3cret", SimListen: simAddr, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	lost, dups, n := fake.lost, fake.dups, fake.n
	fake.mu.Unlock()
	var reactions int64
	if k, ok := res.Inbound.ByKind["reaction"]; ok {
		reactions = k.Answered
	}
	if res.Inbound.Delivered != int64(n) || res.Replies.Lost+reactionsLost(res) != int64(lost) || res.Replies.Duplicated+dupReactions(res) != int64(dups) {
		t.Errorf("delivered %d, lost %d, duplicated %d (reactions: %+v); the target saw %d, lost %d, doubled %d",
			res.Inbound.Delivered, res.Replies.Lost, res.Replies.Duplicated, res.Inbound.ByKind["reaction"], n, lost, dups)
	}
	if res.Replies.Unexpected != reactions || res.Replies.ExactlyOnce || res.Mode != "remote" || res.Wasp != nil {
		t.Errorf("unexpected %d (want %d), exactly once %v, mode %s; want the reactions' answers unexpected, not exactly once, remote",
			res.Replies.Unexpected, reactions, res.Replies.ExactlyOnce, res.Mode)
	}
	if res.Turns == 0 || res.TurnsPerSecond <= 0 || res.EndToEnd.Count == 0 || res.EndToEnd.P99 <= 0 || res.Acks.P50 <= 0 ||
		res.Acks.Count < res.Inbound.Delivered || len(res.Series) < 3 || res.Statuses.Delivered != res.Statuses.Queued {
		t.Errorf("figures not filled: %+v", res)
	}
	if lines := strings.Count(progress.String(), "\n"); lines != len(res.Series) || !strings.Contains(progress.String(), "e2e p99") {
		t.Errorf("%d progress lines for %d seconds:\n%s", lines, len(res.Series), progress.String())
	}
	if !targetMet(res, "replies lost", false) || !targetMet(res, "replies duplicated", false) {
		t.Errorf("targets %+v; want lost and duplicated not met", res.Targets)
	}

	var table, page, js bytes.Buffer
	res.WriteTable(&table)
	res.WriteHTML(&page)
	res.WriteJSON(&js)
	if !strings.Contains(table.String(), fmt.Sprintf("%d lost", res.Replies.Lost)) {
		t.Errorf("table:\n%s", table.String())
	}
	html := page.String()
	for _, bad := range []string{"http://", "https://", "<script", "src=", "href="} {
		if strings.Contains(html, bad) {
			t.Errorf("the HTML report has %q; want it self-contained", bad)
		}
	}
	if n := strings.Count(html, "<svg"); n != 3 || !strings.Contains(html, "<polyline") {
		t.Errorf("the HTML report has %d charts; want throughput, latency and percentiles", n)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Replies != res.Replies || len(back.Series) != len(res.Series) {
		t.Errorf("JSON does not read back: %v", err)
	}
	if strings.Contains(js.String()+table.String()+html, "s3cret") {
		t.Error("a report shows the app secret")
	}
}

// A reaction expects no answer, so fakeWasp's lost or doubled reactions
// are not judged.
func reactionsLost(r *Result) int64 { return r.Inbound.ByKind["reaction"].Unanswered }
func dupReactions(r *Result) int64  { return r.Inbound.ByKind["reaction"].Duplicated }

func targetMet(r *Result, name string, met bool) bool {
	for _, t := range r.Targets {
		if t.Name == name {
			return t.Met == met
		}
	}
	return false
}

func TestScenarioPlans(t *testing.T) {
	cfg := func(scenario string) *Config {
		c := &Config{Scenario: scenario, Rate: 100, Duration: 20 * time.Second, Wasp: "wasp"}
		if err := c.check(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	f := func(scenario string, at time.Duration, want float64) {
		t.Helper()
		if got := newPlan(cfg(scenario)).rate(at); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s at %v: rate %v; want %v", scenario, at, got, want)
		}
	}
	f("steady", 0, 100)
	f("steady", 19*time.Second, 100)
	f("ramp", 0, 10)
	f("ramp", 10*time.Second, 55)
	f("ramp", 20*time.Second, 100)
	f("burst", 5*time.Second, 100)
	f("burst", 8500*time.Millisecond, 400)
	f("burst", 10*time.Second, 100)

	if p := newPlan(cfg("steady")); p.mps != -1 || len(p.numbers) != 1 || p.numbers[0] != sim.DefaultPhoneNumberID || p.llm {
		t.Errorf("steady: %+v", p)
	}
	if p := newPlan(cfg("limit")); p.mps != 100 {
		t.Errorf("limit: mps %d; want the rate", p.mps)
	}
	if p := newPlan(cfg("tenants")); len(p.numbers) != 20 || p.numbers[0] == p.numbers[19] {
		t.Errorf("tenants: %v; want 20 numbers", p.numbers)
	}
	if p := newPlan(cfg("retry-storm")); p.duplicates != 0.5 {
		t.Errorf("retry-storm: duplicates %v", p.duplicates)
	}
	if p := newPlan(cfg("slow-llm")); !p.llm {
		t.Error("slow-llm: no model")
	}

	bad := func(c Config, want string) {
		t.Helper()
		if err := c.check(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v; want an error about %q", c, err, want)
		}
	}
	bad(Config{Scenario: "nope", Wasp: "w"}, "unknown scenario")
	bad(Config{}, "no wasp")
	bad(Config{Target: "http://h:1/webhook"}, "app secret")
	bad(Config{Target: "h:1", AppSecret: "s"}, "not an http(s) URL")
	bad(Config{Target: "http://h:1/webhook", AppSecret: "s", Scenario: "slow-llm"}, "locally")
	bad(Config{Wasp: "w", Duration: time.Millisecond}, "at least 1s")
}

func TestParseTypes(t *testing.T) {
	m, err := ParseTypes("text=10, image=1,reaction=0.5")
	if err != nil || m["text"] != 10 || m["image"] != 1 || m["reaction"] != 0.5 || len(m) != 3 {
		t.Errorf("got %v, %v", m, err)
	}
	for _, s := range []string{"text", "text=x", "pigeon=1", "text=-1"} {
		if _, err := ParseTypes(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	for k := range DefaultTypes {
		if !expectsReply(k) {
			t.Errorf("DefaultTypes has %q, which wasp does not answer", k)
		}
	}
}

// TestWaspConfig: the local wasp's configuration has a tenant per number
// and a rules bot that answers everything and never hands off.
func TestWaspConfig(t *testing.T) {
	dir := t.TempDir()
	path, err := writeWaspConfig(dir, []string{"111", "222"}, "tok")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Tenants []struct {
			ID             string   `yaml:"id"`
			PhoneNumberIDs []string `yaml:"phone_number_ids"`
			AccessToken    string   `yaml:"access_token"`
			Business       map[string]string
			Bot            struct{ Rules string }
		}
	}
	data, _ := os.ReadFile(path)
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(cfg.Tenants) != 2 || cfg.Tenants[1].PhoneNumberIDs[0] != "222" || cfg.Tenants[0].AccessToken != "tok" ||
		cfg.Tenants[0].Business["website"] != "https://cafe.example" || cfg.Tenants[0].Bot.Rules != filepath.Join(dir, "rules.yaml") {
		t.Fatalf("got %+v", cfg)
	}
	rules, _ := os.ReadFile(cfg.Tenants[0].Bot.Rules)
	rc, err := bot.LoadRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.NewRules(rc)
	if err != nil {
		t.Fatal(err)
	}
	var history []bot.Turn
	for _, text := range []string{"quiero hablar con un humano", "asdf qwer", "zxcv uiop", "Talk to a person please"} {
		rep, err := b.Reply(context.Background(), bot.Input{Text: text, History: history})
		if err != nil || rep.Handoff || rep.Text == "" {
			t.Errorf("%q: got %+v, %v; want an answer without handoff", text, rep, err)
		}
		history = append(history, bot.Turn{Role: bot.RoleUser, Text: text}, bot.Turn{Role: bot.RoleAssistant, Text: rep.Text})
	}
}

func TestLLM(t *testing.T) {
	m, err := startLLM(40 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	start := time.Now()
	resp, err := http.Post(m.URL+"/chat/completions", "application/json", strings.NewReader(`{"model":"bench","messages":[{"role":"user","content":"hola"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct{ Message struct{ Content string } }
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if d := time.Since(start); d < 20*time.Millisecond || len(out.Choices) != 1 || out.Choices[0].Message.Content == "" || m.calls.Load() != 1 {
		t.Errorf("answered %+v after %v; want one choice after at least 20ms", out, d)
	}
}

func TestProcUsage(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	u, err := procUsage("self")
	if err != nil || u.rss <= 0 || u.peak < u.rss || u.cpu < 0 {
		t.Errorf("got %+v, %v; want RSS and its peak", u, err)
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -5000: "-5,000"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q; want %q", v, got, want)
		}
	}
}
