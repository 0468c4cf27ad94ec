package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAIConfig configures the OpenAI-compatible bot of one tenant. The
// zero value works once APIKey is set (for servers that need one).
type OpenAIConfig struct {
	// BaseURL is the URL the API's paths hang from: requests go to
	// BaseURL + "/chat/completions". Empty means https://api.openai.com/v1.
	// Others: http://localhost:11434/v1 (Ollama), http://localhost:8000/v1
	// (vLLM), http://localhost:8080/v1 (llama.cpp server),
	// https://<resource>.openai.azure.com (Azure, with AzureAPIVersion).
	BaseURL string
	// APIKey is sent as "Authorization: Bearer" ("api-key" for Azure);
	// empty sends none.
	APIKey string
	// AzureAPIVersion, when set, speaks Azure OpenAI's dialect: requests go
	// to /openai/deployments/<Model>/chat/completions?api-version=<it>.
	AzureAPIVersion string
	// Model (the deployment name on Azure). Empty means "gpt-4o-mini".
	Model string
	// Temperature; zero leaves it to the server (go-openai omits a zero).
	Temperature float32
	// MaxTokens caps the answer's tokens. Zero means 300. Sent as
	// max_completion_tokens for models that refuse max_tokens (o1, o3,
	// o4, gpt-5…), as max_tokens otherwise.
	MaxTokens int
	// Timeout bounds the whole reply: every attempt and the waits between
	// them. An attempt cut by it is not retried. Zero means 20 s.
	Timeout time.Duration
	// Retries after a failed attempt (network error, HTTP 408, 409, 429,
	// 5xx), waiting Backoff, then twice that, … each with jitter (between
	// half and all of it). Zero means 2 and 500 ms; negative Retries, none.
	Retries int
	Backoff time.Duration
	// Breaker is the circuit breaker (see BreakerConfig).
	Breaker BreakerConfig
	// History is how many of the last turns go to the model. Zero means
	// 10; negative, none.
	History int
	// DailyTokenBudget caps the tokens (prompt and completion) a tenant
	// uses per UTC day; past it replies get the fallback and a handoff
	// (ReasonBudget). Zero means no cap.
	DailyTokenBudget int
	// Budget keeps the counts; nil means a MemoryBudget of this bot. Share
	// one between the bots of a process, or persist it, as needed.
	Budget Budget
	// DefaultLanguage answers when the customer's language is unclear.
	// Empty means "es".
	DefaultLanguage string
	// Fallback per language is answered, with a handoff, when the LLM
	// cannot answer; languages missing take DefaultLLMFallback's.
	Fallback map[string]string
	// Handoff keywords and message; the zero value is the built-in one.
	Handoff HandoffRules
	// Clock tells the time for the breaker and the budget's day. Nil means
	// time.Now.
	Clock func() time.Time
	// Logger for LLM failures (throttled) and breaker changes; nil means
	// slog.Default(). Never a message text.
	Logger *slog.Logger
}

// DefaultLLMFallback returns the built-in answers for when the LLM cannot
// answer.
func DefaultLLMFallback() map[string]string {
	return map[string]string{
		Spanish: "Disculpa, ahora no puedo responderte. Te comunico con una persona de nuestro equipo; te responderá por aquí en breve.",
		English: "Sorry, I can't answer right now. I'm passing you to a person on our team; they'll reply here shortly.",
	}
}

// OpenAI is the bot that asks an OpenAI-compatible chat-completions API.
//
// Each Reply, in order: an ignored message type gets an empty Reply; a
// handoff keyword hands off without calling the model; a used-up daily
// budget or an open breaker answers the fallback with a handoff; else it
// sends the system prompt (the tenant's personality, the business
// information, the instructions), the last History turns in order (a run
// of turns of one role joined into one message, as some chat templates
// require alternating roles), then the current message, and answers the
// model's text, trimmed. A failure or timeout answers the fallback with a
// handoff (ReasonLLMError). If ctx ends first (cancelled, or its own
// deadline passed), Reply returns its error and no Reply: bound the LLM
// with Timeout, not with ctx's deadline.
type OpenAI struct {
	cfg      OpenAIConfig
	client   *openai.Client
	template openai.ChatCompletionRequest // model and limits
	handoff  *handoff
	breaker  breaker
	clock    func() time.Time
	log      *slog.Logger
	failLog  atomic.Int64 // unix nanos of the last failure logged
	failures atomic.Int64 // failures since
}

var _ Bot = (*OpenAI)(nil)

// NewOpenAI checks cfg and builds the bot.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.openai.com/v1"
	}
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("cannot use OpenAI base URL %q: want http:// or https://", cfg.BaseURL)
	}
	if cfg.Model == "" {
		cfg.Model = "gpt-4o-mini"
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 300
	}
	if cfg.MaxTokens < 0 || cfg.Temperature < 0 || cfg.Temperature > 2 {
		return nil, fmt.Errorf("cannot use max tokens %d, temperature %g: want max tokens >= 0, temperature 0 to 2", cfg.MaxTokens, cfg.Temperature)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = 2
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Breaker.Failures == 0 {
		cfg.Breaker.Failures = 5
	}
	if cfg.Breaker.Cooldown <= 0 {
		cfg.Breaker.Cooldown = 30 * time.Second
	}
	switch {
	case cfg.History == 0:
		cfg.History = 10
	case cfg.History < 0:
		cfg.History = 0
	}
	if cfg.DailyTokenBudget < 0 {
		return nil, fmt.Errorf("cannot use daily token budget %d: want 0 (no cap) or more", cfg.DailyTokenBudget)
	}
	if cfg.Budget == nil {
		cfg.Budget = &MemoryBudget{}
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = Spanish
	}
	cfg.Fallback = merged(DefaultLLMFallback(), cfg.Fallback)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h, err := newHandoff(cfg.Handoff)
	if err != nil {
		return nil, err
	}
	t := openai.ChatCompletionRequest{Model: cfg.Model, Temperature: cfg.Temperature, MaxTokens: cfg.MaxTokens}
	v := openai.NewReasoningValidator()
	if err := v.Validate(t); errors.Is(err, openai.ErrReasoningModelMaxTokensDeprecated) {
		t.MaxTokens, t.MaxCompletionTokens = 0, cfg.MaxTokens
	}
	if err := v.Validate(t); err != nil {
		return nil, fmt.Errorf("cannot use model %q with temperature %g: %w", cfg.Model, cfg.Temperature, err)
	}
	return &OpenAI{
		cfg:      cfg,
		client:   client(cfg),
		template: t,
		handoff:  h,
		breaker:  breaker{max: cfg.Breaker.Failures, cooldown: cfg.Breaker.Cooldown},
		clock:    cfg.Clock,
		log:      cfg.Logger,
	}, nil
}

// The go-openai clients, one per base URL (and key, and dialect), all on
// one HTTP transport so that bots on the same server share connections.
// Contexts bound each call, so the http.Client has no timeout.
var (
	clientsMu sync.Mutex
	clients   = map[[3]string]*openai.Client{}

	httpClient = func() *http.Client {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		return &http.Client{Transport: t}
	}()
)

func client(cfg OpenAIConfig) *openai.Client {
	key := [3]string{cfg.BaseURL, cfg.APIKey, cfg.AzureAPIVersion}
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c := clients[key]; c != nil {
		return c
	}
	cc := openai.DefaultConfig(cfg.APIKey)
	if cfg.AzureAPIVersion != "" {
		cc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		cc.APIVersion = cfg.AzureAPIVersion
		cc.AzureModelMapperFunc = func(model string) string { return model }
	}
	cc.BaseURL = cfg.BaseURL
	cc.HTTPClient = httpClient
	c := openai.NewClientWithConfig(cc)
	clients[key] = c
	return c
}

// Reply answers in; see OpenAI.
func (o *OpenAI) Reply(ctx context.Context, in Input) (Reply, error) {
	start := time.Now()
	rep, err := o.reply(ctx, in)
	rep.Latency = time.Since(start)
	return rep, err
}

func (o *OpenAI) reply(ctx context.Context, in Input) (Reply, error) {
	if Ignored(in.Type) {
		llmIgnored.Inc()
		return Reply{Intent: IntentIgnored}, nil
	}
	lang, ok := detectInput(in)
	if !ok {
		lang = o.cfg.DefaultLanguage
	}
	if o.handoff.match(fold(in.Text)) {
		llmKeyword.Inc()
		return Reply{
			Text: pick(o.handoff.message, lang, o.cfg.DefaultLanguage), Intent: IntentHuman,
			Language: lang, Confidence: 1, Handoff: true, HandoffReason: ReasonKeyword,
		}, nil
	}
	now := o.clock()
	if limit := o.cfg.DailyTokenBudget; limit > 0 && o.cfg.Budget.Used(in.Tenant, now) >= limit {
		llmBudget.Inc()
		return o.fallback(lang, ReasonBudget), nil
	}
	if !o.breaker.allow(now) {
		llmUnavailable.Inc()
		return o.fallback(lang, ReasonLLMUnavailable), nil
	}
	resp, attempts, err := o.call(ctx, o.request(in, lang))
	if u := resp.Usage; u.PromptTokens+u.CompletionTokens > 0 {
		o.cfg.Budget.Add(in.Tenant, o.clock(), u.PromptTokens+u.CompletionTokens)
		llmPromptTokens.Add(u.PromptTokens)
		llmCompletionTokens.Add(u.CompletionTokens)
	}
	if err != nil && ctx.Err() != nil {
		o.breaker.release()
		return Reply{}, fmt.Errorf("cannot answer: %w", context.Cause(ctx))
	}
	opened, closed := o.breaker.done(o.clock(), err == nil)
	if opened {
		o.log.Warn("llm circuit breaker open: answering the fallback and handing off",
			"tenant", in.Tenant, "model", o.cfg.Model, "failures", o.cfg.Breaker.Failures, "cooldown", o.cfg.Breaker.Cooldown)
	}
	if closed {
		o.log.Info("llm circuit breaker closed", "tenant", in.Tenant, "model", o.cfg.Model)
	}
	if err != nil {
		llmFailed.Inc()
		o.logFailure(in.Tenant, attempts, err)
		rep := o.fallback(lang, ReasonLLMError)
		rep.PromptTokens, rep.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
		return rep, nil
	}
	llmAnswer.Inc()
	return Reply{
		Text:             strings.TrimSpace(resp.Choices[0].Message.Content),
		Intent:           IntentLLM,
		Language:         lang,
		Confidence:       1,
		PromptTokens:     resp.Usage.PromptTokens,
		CompletionTokens: resp.Usage.CompletionTokens,
	}, nil
}

func (o *OpenAI) fallback(lang, reason string) Reply {
	return Reply{
		Text: pick(o.cfg.Fallback, lang, o.cfg.DefaultLanguage), Intent: IntentFallback,
		Language: lang, Handoff: true, HandoffReason: reason,
	}
}

// errEmptyAnswer is a response without text.
var errEmptyAnswer = errors.New("the model answered no text")

// call sends req with retries within the timeout; it returns the last
// response (for its usage), the attempts made and the last error.
func (o *OpenAI) call(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, int, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := o.client.CreateChatCompletion(ctx, req)
		llmDuration.UpdateDuration(start)
		if err == nil && (len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "") {
			err = errEmptyAnswer
		}
		if err == nil {
			return resp, attempt, nil
		}
		if parent.Err() != nil {
			return resp, attempt, err
		}
		if ctx.Err() != nil {
			llmErrTimeout.Inc()
			return resp, attempt, fmt.Errorf("cannot get an answer in %v: %w", o.cfg.Timeout, err)
		}
		if !retryable(err) || attempt > o.cfg.Retries {
			return resp, attempt, err
		}
		d := o.cfg.Backoff << (attempt - 1)
		if d <= 0 || d > o.cfg.Timeout {
			d = o.cfg.Timeout
		}
		d = d/2 + rand.N(d/2+1)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			if parent.Err() != nil {
				return resp, attempt, err
			}
			llmErrTimeout.Inc()
			return resp, attempt, fmt.Errorf("cannot get an answer in %v: %w", o.cfg.Timeout, err)
		}
	}
}

// retryable classifies err, counts it, and reports whether another
// attempt may succeed: network errors and HTTP 408, 409, 429 and 5xx.
func retryable(err error) bool {
	if errors.Is(err, errEmptyAnswer) {
		llmErrEmpty.Inc()
		return false
	}
	if errors.Is(err, openai.ErrChatCompletionInvalidModel) {
		llmErrRejected.Inc()
		return false
	}
	status := httpStatus(err)
	switch {
	case status == 0:
		llmErrNetwork.Inc()
		return true
	case status == http.StatusRequestTimeout, status == http.StatusConflict,
		status == http.StatusTooManyRequests, status >= 500:
		llmErrRetryable.Inc()
		return true
	}
	llmErrRejected.Inc()
	return false
}

// httpStatus is the HTTP status of a go-openai error, 0 if none.
func httpStatus(err error) int {
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatusCode
	}
	var re *openai.RequestError
	if errors.As(err, &re) {
		return re.HTTPStatusCode
	}
	return 0
}

// logFailure logs a failed reply at most every 30 s per bot, with the
// count of failures since the last line. Not the error text: a server may
// echo the request in it.
func (o *OpenAI) logFailure(tenant string, attempts int, err error) {
	n := o.failures.Add(1)
	now := time.Now().UnixNano()
	last := o.failLog.Load()
	if now-last < int64(30*time.Second) || !o.failLog.CompareAndSwap(last, now) {
		return
	}
	o.failures.Add(-n)
	kind := "error"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.Is(err, errEmptyAnswer):
		kind = "empty answer"
	case httpStatus(err) == 0:
		kind = "network"
	}
	o.log.Warn("llm failed: answered the fallback and handed off",
		"tenant", tenant, "model", o.cfg.Model, "kind", kind, "status", httpStatus(err),
		"attempts", attempts, "failures", n)
}

// request builds the chat request: the system prompt, the history, the
// current message.
func (o *OpenAI) request(in Input, lang string) openai.ChatCompletionRequest {
	req := o.template
	hist := in.History
	if len(hist) > o.cfg.History {
		hist = hist[len(hist)-o.cfg.History:]
	}
	msgs := make([]openai.ChatCompletionMessage, 0, len(hist)+2)
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleSystem, Content: SystemPrompt(in, lang)})
	add := func(role, text string) {
		if last := &msgs[len(msgs)-1]; last.Role == role {
			last.Content += "\n" + text
			return
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: text})
	}
	for _, t := range hist {
		text := strings.TrimSpace(t.Text)
		if text == "" || (t.Role != RoleUser && t.Role != RoleAssistant) {
			continue
		}
		add(t.Role, text)
	}
	add(RoleUser, userText(in))
	req.Messages = msgs
	return req
}

// userText is the current message as the model sees it.
func userText(in Input) string {
	if t := strings.TrimSpace(in.Text); t != "" {
		return t
	}
	switch in.Type {
	case "request_welcome":
		return "[The customer opened the chat for the first time. Greet them.]"
	case "", "text":
		return "[The customer sent an empty message.]"
	}
	return "[The customer sent a message of type " + in.Type + " without text, which you cannot see.]"
}

var languageNames = map[string]string{Spanish: "Spanish", English: "English"}

// SystemPrompt is the system message the OpenAI bot sends for in, whose
// customer writes in lang: the personality, the business information,
// the built-in instructions, then the tenant's.
func SystemPrompt(in Input, lang string) string {
	b := in.Business
	var s strings.Builder
	switch {
	case b.Personality != "":
		s.WriteString(strings.TrimSpace(b.Personality))
	case b.Name != "":
		fmt.Fprintf(&s, "You are the WhatsApp assistant of %s.", b.Name)
	default:
		s.WriteString("You are the WhatsApp assistant of a business.")
	}
	s.WriteString("\n\nBusiness information:\n")
	for _, f := range [][2]string{
		{"Name", b.Name}, {"Sector", b.Sector}, {"Opening hours", b.Hours},
		{"Phone", b.Phone}, {"Website", b.Website}, {"Address", b.Address},
	} {
		if v := strings.TrimSpace(f[1]); v != "" {
			fmt.Fprintf(&s, "- %s: %s\n", f[0], v)
		}
	}
	if !in.Now.IsZero() {
		fmt.Fprintf(&s, "- Now: %s\n", in.Now.Format("Monday 2 January 2006, 15:04 MST"))
	}
	if in.UserName != "" {
		fmt.Fprintf(&s, "- The customer's WhatsApp name: %s\n", in.UserName)
	}
	name := languageNames[lang]
	if name == "" {
		name = lang
	}
	fmt.Fprintf(&s, `
Instructions:
- Answer in %s, the customer's language; if they write in another language, answer in theirs.
- Be brief: one to three short sentences. This is a WhatsApp chat.
- Plain text only: no Markdown, no headings, no tables.
- Use only the business information above and this conversation. Do not invent prices, products, availability or policies; when you do not know, say so and offer to pass the conversation to a person on the team.
- When the customer asks for a person, a refund or makes a complaint, say that you will pass the conversation to a person on the team.
- Never ask for card numbers, passwords or verification codes.
`, name)
	if t := strings.TrimSpace(b.Instructions); t != "" {
		s.WriteString("\nInstructions from the business (they take precedence):\n")
		s.WriteString(t)
		s.WriteString("\n")
	}
	return s.String()
}
