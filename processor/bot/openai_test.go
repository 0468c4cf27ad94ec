package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// fakeLLM is an in-process server speaking the chat-completions API. It
// records the requests; handle, if set, answers request n (from 1) and
// returns true, or returns false to let the default answer go.
type fakeLLM struct {
	srv    *httptest.Server
	answer string
	handle func(n int, w http.ResponseWriter, r *http.Request) bool

	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path, query string
	header      http.Header
	body        []byte
	req         openai.ChatCompletionRequest
}

func newFakeLLM(t *testing.T) *fakeLLM {
	f := &fakeLLM{answer: "Respuesta del modelo."}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &rec.req); err != nil || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		n := len(f.reqs)
		handle := f.handle
		f.mu.Unlock()
		if handle != nil && handle(n, w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-%d","object":"chat.completion","created":1,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`, n, rec.req.Model, f.answer)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) url() string { return f.srv.URL + "/v1" }

func (f *fakeLLM) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeLLM) setHandle(h func(n int, w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.handle = h
	f.mu.Unlock()
}

// fail answers every request with status.
func fail(status int) func(int, http.ResponseWriter, *http.Request) bool {
	return func(_ int, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"message":"failed","type":"server_error"}}`)
		return true
	}
}

// testClock is a Clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestOpenAI(t *testing.T, cfg OpenAIConfig) *OpenAI {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	return o
}

func TestOpenAIRequest(t *testing.T) {
	llm := newFakeLLM(t)
	llm.answer = "  El pan sin gluten cuesta 3,50 €.\n"
	o := newTestOpenAI(t, OpenAIConfig{
		BaseURL: llm.url(), APIKey: "test-key", Model: "llama3.1:8b",
		Temperature: 0.3, MaxTokens: 200,
	})
	prompt0, completion0 := llmPromptTokens.Get(), llmCompletionTokens.Get()
	history := []Turn{
		{Role: RoleUser, Text: "hola"},
		{Role: RoleAssistant, Text: "¡Hola! ¿En qué te ayudo?"},
		{Role: RoleUser, Text: "¿tienen pan sin gluten?"},
		{Role: RoleAssistant, Text: "Sí, los martes y jueves."},
	}
	b := lola
	b.Personality = "Eres Lola, la asistente alegre de la panadería."
	b.Instructions = "Nunca prometas entregas el mismo día."
	rep := reply(t, o, Input{Tenant: "t1", Business: b, Text: "¿y cuánto cuesta?", History: history, UserName: "Ana"})

	if want := "El pan sin gluten cuesta 3,50 €."; rep.Text != want {
		t.Errorf("text %q; want the model's answer trimmed, %q", rep.Text, want)
	}
	if rep.Handoff || rep.Intent != IntentLLM || rep.Language != Spanish {
		t.Errorf("handoff %v, intent %q, language %q; want false, llm, es", rep.Handoff, rep.Intent, rep.Language)
	}
	if rep.PromptTokens != 42 || rep.CompletionTokens != 7 {
		t.Errorf("tokens %d + %d; want 42 + 7", rep.PromptTokens, rep.CompletionTokens)
	}
	if p, c := llmPromptTokens.Get()-prompt0, llmCompletionTokens.Get()-completion0; p != 42 || c != 7 {
		t.Errorf("token metrics grew %d + %d; want 42 + 7", p, c)
	}
	if got := o.cfg.Budget.Used("t1", time.Now()); got != 49 {
		t.Errorf("budget used %d; want 49", got)
	}

	reqs := llm.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests; want 1", len(reqs))
	}
	r := reqs[0]
	if r.path != "/v1/chat/completions" {
		t.Errorf("path %q; want /v1/chat/completions", r.path)
	}
	if got := r.header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("Authorization %q; want Bearer test-key", got)
	}
	if r.req.Model != "llama3.1:8b" || r.req.MaxTokens != 200 || r.req.Temperature != 0.3 {
		t.Errorf("model %q, max_tokens %d, temperature %v; want llama3.1:8b, 200, 0.3", r.req.Model, r.req.MaxTokens, r.req.Temperature)
	}
	msgs := r.req.Messages
	if len(msgs) != 6 {
		t.Fatalf("%d messages; want system, 4 history turns, the current message", len(msgs))
	}
	sys := msgs[0]
	if sys.Role != "system" {
		t.Errorf("first message role %q; want system", sys.Role)
	}
	for _, want := range []string{b.Personality, "Panadería Lola", lola.Hours, lola.Phone, lola.Website, lola.Address, "bakery", "Ana", "Answer in Spanish", b.Instructions} {
		if !strings.Contains(sys.Content, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, sys.Content)
		}
	}
	if i, j := strings.Index(sys.Content, b.Personality), strings.Index(sys.Content, b.Instructions); i != 0 || j < strings.Index(sys.Content, "Business information") {
		t.Errorf("system prompt order: personality at %d, instructions at %d; want personality, business, instructions", i, j)
	}
	want := append(append([]Turn(nil), history...), Turn{Role: RoleUser, Text: "¿y cuánto cuesta?"})
	for i, turn := range want {
		if m := msgs[i+1]; m.Role != turn.Role || m.Content != turn.Text {
			t.Errorf("message %d: %s %q; want %s %q", i+1, m.Role, m.Content, turn.Role, turn.Text)
		}
	}
}

func TestOpenAIHistory(t *testing.T) {
	llm := newFakeLLM(t)
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url(), History: 3})
	reply(t, o, Input{Text: "gracias", History: []Turn{
		{Role: RoleUser, Text: "uno"},
		{Role: RoleAssistant, Text: "dos"},
		{Role: RoleUser, Text: "tres"},
		{Role: RoleUser, Text: "  "},
		{Role: RoleUser, Text: "cuatro"},
		{Role: RoleAssistant, Text: "cinco"},
	}})
	var got []string
	for _, m := range llm.requests()[0].req.Messages[1:] {
		got = append(got, m.Role+":"+m.Content)
	}
	// The last 3 turns; the empty one dropped; a run of one role joined.
	want := []string{"user:cuatro", "assistant:cinco", "user:gracias"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q; want %q", got, want)
	}

	reply(t, o, Input{Text: "¿y los domingos?", History: []Turn{{Role: RoleUser, Text: "¿abren el sábado?"}}})
	msgs := llm.requests()[1].req.Messages
	if len(msgs) != 2 || msgs[1].Content != "¿abren el sábado?\n¿y los domingos?" {
		t.Errorf("messages %+v; want the two user messages joined", msgs)
	}

	reply(t, o, Input{Type: "image"})
	msgs = llm.requests()[2].req.Messages
	if got := msgs[len(msgs)-1].Content; !strings.Contains(got, "image") {
		t.Errorf("an image without caption is sent as %q; want a note naming the type", got)
	}
}

func TestOpenAITimeout(t *testing.T) {
	llm := newFakeLLM(t)
	llm.setHandle(func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return true
	})
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url(), Timeout: 200 * time.Millisecond})
	start := time.Now()
	rep := reply(t, o, Input{Text: "hola, ¿tienen tartas?"})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Reply took %v; want about the 200 ms timeout", d)
	}
	if !rep.Handoff || rep.HandoffReason != ReasonLLMError || rep.Text != DefaultLLMFallback()[Spanish] || rep.Intent != IntentFallback {
		t.Errorf("reply %+v; want the Spanish fallback and a handoff", rep)
	}
	if n := len(llm.requests()); n != 1 {
		t.Errorf("%d requests; want 1 (a timed-out attempt is not retried)", n)
	}
}

func TestOpenAIRetry(t *testing.T) {
	llm := newFakeLLM(t)
	llm.setHandle(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			return fail(http.StatusServiceUnavailable)(n, w, r)
		}
		if n == 2 {
			// A dropped connection.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}
		return false
	})
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url()})
	rep := reply(t, o, Input{Text: "What time do you open?"})
	if rep.Handoff || rep.Text != llm.answer || rep.Language != English {
		t.Errorf("reply %+v; want the model's answer after retries", rep)
	}
	if n := len(llm.requests()); n != 3 {
		t.Errorf("%d requests; want 3 (503, dropped, answered)", n)
	}

	// Retries run out.
	llm.setHandle(fail(http.StatusInternalServerError))
	rep = reply(t, o, Input{Text: "What time do you open?"})
	if !rep.Handoff || rep.Text != DefaultLLMFallback()[English] {
		t.Errorf("reply %+v; want the English fallback", rep)
	}
	if n := len(llm.requests()); n != 3+3 {
		t.Errorf("%d requests; want 3 more (1 + 2 retries)", n-3)
	}

	// A rejected request is not retried.
	llm.setHandle(fail(http.StatusUnauthorized))
	rep = reply(t, o, Input{Text: "hello"})
	if !rep.Handoff || rep.HandoffReason != ReasonLLMError {
		t.Errorf("reply %+v; want the fallback", rep)
	}
	if n := len(llm.requests()); n != 6+1 {
		t.Errorf("%d requests; want 1 more", n-6)
	}
}

func TestOpenAIEmptyAnswer(t *testing.T) {
	llm := newFakeLLM(t)
	llm.answer = " \n"
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url()})
	rep := reply(t, o, Input{Text: "hola"})
	if !rep.Handoff || rep.HandoffReason != ReasonLLMError || rep.PromptTokens != 42 {
		t.Errorf("reply %+v; want the fallback, with the tokens used", rep)
	}
	if n := len(llm.requests()); n != 1 {
		t.Errorf("%d requests; want 1", n)
	}
}

func TestOpenAIBreaker(t *testing.T) {
	llm := newFakeLLM(t)
	llm.setHandle(fail(http.StatusBadGateway))
	clock := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	o := newTestOpenAI(t, OpenAIConfig{
		BaseURL: llm.url(), Retries: -1, Clock: clock.now,
		Breaker: BreakerConfig{Failures: 3, Cooldown: time.Minute},
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	in := Input{Text: "hola, mi número es 600123123"}
	for i := range 3 {
		if rep := reply(t, o, in); rep.HandoffReason != ReasonLLMError {
			t.Fatalf("reply %d: reason %q; want %q", i, rep.HandoffReason, ReasonLLMError)
		}
	}
	if n := len(llm.requests()); n != 3 {
		t.Fatalf("%d requests; want 3", n)
	}
	// Open: no call.
	rep := reply(t, o, in)
	if !rep.Handoff || rep.HandoffReason != ReasonLLMUnavailable || rep.Text != DefaultLLMFallback()[Spanish] {
		t.Errorf("reply with the breaker open %+v; want the fallback and a handoff", rep)
	}
	clock.add(59 * time.Second)
	reply(t, o, in)
	if n := len(llm.requests()); n != 3 {
		t.Errorf("%d requests during the cooldown; want still 3", n)
	}
	// After the cooldown a trial goes; it succeeds and closes the breaker.
	clock.add(time.Second)
	llm.setHandle(nil)
	if rep := reply(t, o, in); rep.Handoff || rep.Text != llm.answer {
		t.Errorf("reply after the cooldown %+v; want the model's answer", rep)
	}
	if rep := reply(t, o, in); rep.Handoff {
		t.Errorf("reply after closing %+v; want the model's answer", rep)
	}
	if n := len(llm.requests()); n != 5 {
		t.Errorf("%d requests; want 5", n)
	}
	// Three failures: one line (throttled), the breaker opening and
	// closing; never the message text.
	got := logs.String()
	if n := strings.Count(got, "llm failed"); n != 1 {
		t.Errorf("%d failure lines; want 1:\n%s", n, got)
	}
	if !strings.Contains(got, "breaker open") || !strings.Contains(got, "breaker closed") {
		t.Errorf("logs lack the breaker's changes:\n%s", got)
	}
	if strings.Contains(got, "600123123") || strings.Contains(got, "hola") {
		t.Errorf("logs hold the message text:\n%s", got)
	}
}

func TestOpenAIBudget(t *testing.T) {
	llm := newFakeLLM(t)
	clock := &testClock{t: time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)}
	budget := &MemoryBudget{}
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url(), DailyTokenBudget: 100, Budget: budget, Clock: clock.now})
	in := Input{Tenant: "t1", Text: "hello"}
	for i := range 3 { // 49 tokens each: 0, 49, 98 are under 100
		if rep := reply(t, o, in); rep.Handoff {
			t.Fatalf("reply %d: %+v; want an answer", i, rep)
		}
	}
	rep := reply(t, o, in)
	if !rep.Handoff || rep.HandoffReason != ReasonBudget || rep.Text != DefaultLLMFallback()[English] {
		t.Errorf("reply over budget %+v; want the fallback and a handoff", rep)
	}
	if n := len(llm.requests()); n != 3 {
		t.Errorf("%d requests; want 3 (none over budget)", n)
	}
	if got := budget.Used("t1", clock.now()); got != 147 {
		t.Errorf("used %d; want 147", got)
	}
	// Other tenants have their own budget.
	if rep := reply(t, o, Input{Tenant: "t2", Text: "hello"}); rep.Handoff {
		t.Errorf("another tenant: %+v; want an answer", rep)
	}
	// The next UTC day starts again.
	clock.add(time.Hour)
	if rep := reply(t, o, in); rep.Handoff {
		t.Errorf("the next day: %+v; want an answer", rep)
	}
}

func TestOpenAIHandoffKeyword(t *testing.T) {
	llm := newFakeLLM(t)
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url()})
	rep := reply(t, o, Input{Text: "Quiero un reembolso, ya"})
	if !rep.Handoff || rep.HandoffReason != ReasonKeyword || rep.Text != DefaultHandoffMessage()[Spanish] {
		t.Errorf("reply %+v; want the handoff message", rep)
	}
	rep = reply(t, o, Input{Text: "let me talk to a human"})
	if !rep.Handoff || rep.Text != DefaultHandoffMessage()[English] {
		t.Errorf("reply %+v; want the English handoff message", rep)
	}
	for _, typ := range []string{"reaction", "revoke"} {
		if rep := reply(t, o, Input{Type: typ}); rep.Text != "" || rep.Handoff {
			t.Errorf("%s: %+v; want an empty reply", typ, rep)
		}
	}
	if n := len(llm.requests()); n != 0 {
		t.Errorf("%d requests; want none", n)
	}
}

func TestOpenAICancel(t *testing.T) {
	llm := newFakeLLM(t)
	started := make(chan struct{}, 1)
	llm.setHandle(func(_ int, _ http.ResponseWriter, r *http.Request) bool {
		started <- struct{}{}
		<-r.Context().Done()
		return true
	})
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url(), Breaker: BreakerConfig{Failures: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := o.Reply(ctx, Input{Text: "hola"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Reply with ctx cancelled: error %v; want context.Canceled", err)
	}
	// The cancelled call did not count toward the breaker.
	llm.setHandle(nil)
	if rep := reply(t, o, Input{Text: "hola"}); rep.Handoff {
		t.Errorf("reply after a cancelled one %+v; want an answer", rep)
	}
}

func TestOpenAIDialects(t *testing.T) {
	llm := newFakeLLM(t)
	// A model that refuses max_tokens gets max_completion_tokens.
	o := newTestOpenAI(t, OpenAIConfig{BaseURL: llm.url(), Model: "o3-mini", MaxTokens: 123})
	reply(t, o, Input{Text: "hola"})
	body := string(llm.requests()[0].body)
	if !strings.Contains(body, `"max_completion_tokens":123`) || strings.Contains(body, `"max_tokens"`) {
		t.Errorf("body %s; want max_completion_tokens and no max_tokens", body)
	}

	// Azure: the deployment in the path, api-version, api-key.
	o = newTestOpenAI(t, OpenAIConfig{BaseURL: llm.srv.URL, APIKey: "azure-key", AzureAPIVersion: "2024-10-21", Model: "my-gpt-4o"})
	reply(t, o, Input{Text: "hola"})
	r := llm.requests()[1]
	if r.path != "/openai/deployments/my-gpt-4o/chat/completions" || r.query != "api-version=2024-10-21" || r.header.Get("api-key") != "azure-key" {
		t.Errorf("Azure request %s?%s api-key %q; want the deployment path, the api-version and the key", r.path, r.query, r.header.Get("api-key"))
	}
}

func TestOpenAIConfigErrors(t *testing.T) {
	f := func(cfg OpenAIConfig, want string) {
		t.Helper()
		_, err := NewOpenAI(cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewOpenAI(%+v): error %v; want one containing %q", cfg, err, want)
		}
	}
	f(OpenAIConfig{BaseURL: "localhost:11434"}, "want http:// or https://")
	f(OpenAIConfig{DailyTokenBudget: -1}, "daily token budget")
	f(OpenAIConfig{Temperature: 3}, "temperature 0 to 2")
	f(OpenAIConfig{Model: "o1", Temperature: 0.5}, `cannot use model "o1"`)
	f(OpenAIConfig{Handoff: HandoffRules{Keywords: map[string][]string{Spanish: {""}}}}, "handoff keyword")

	o, err := NewOpenAI(OpenAIConfig{})
	if err != nil {
		t.Fatalf("NewOpenAI(zero): %v", err)
	}
	if c := o.cfg; c.BaseURL != "https://api.openai.com/v1" || c.Model != "gpt-4o-mini" || c.Timeout != 20*time.Second ||
		c.Retries != 2 || c.Breaker.Failures != 5 || c.Breaker.Cooldown != 30*time.Second || c.History != 10 || c.MaxTokens != 300 {
		t.Errorf("defaults %+v", c)
	}
}

func TestSystemPromptMinimal(t *testing.T) {
	p := SystemPrompt(Input{}, English)
	if !strings.HasPrefix(p, "You are the WhatsApp assistant of a business.") || !strings.Contains(p, "Answer in English") {
		t.Errorf("prompt without business information:\n%s", p)
	}
	p = SystemPrompt(Input{Business: Business{Name: "Lola"}, Now: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}, Spanish)
	for _, want := range []string{"You are the WhatsApp assistant of Lola.", "- Name: Lola\n", "Monday 2 March 2026, 09:30 UTC", "Answer in Spanish"} {
		if !strings.Contains(p, want) {
			t.Errorf("prompt lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "Phone") {
		t.Errorf("prompt names a field that is empty:\n%s", p)
	}
}
