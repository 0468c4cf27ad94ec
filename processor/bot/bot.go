// Package bot holds the bots of the processor stage behind one interface,
// Bot: the rules bot (Rules, the default: intents from a tenant's YAML, no
// network) and the OpenAI-compatible bot (OpenAI: any server speaking the
// chat-completions API, with timeouts, retries, a circuit breaker and a
// daily token budget).
//
// The processor calls Reply for each inbound customer message of a
// conversation that is not handed off to a human, with the conversation's
// recent history, and turns the Reply into a send (Reply.Message gives the
// Graph API body). When a Reply says Handoff, the processor marks the
// conversation as handed off and stops calling the bot for it: the bot
// keeps no conversation state of its own.
//
// Both bots detect a customer asking for a person the same way
// (HandoffRules) and answer in the customer's language (DetectLanguage).
// Nothing here logs message text or puts a tenant id in a metric label.
package bot

import (
	"context"
	"time"
)

// Bot answers one inbound customer message.
//
// Reply returns an error only for a programming or configuration problem,
// or when ctx is done (the processor is stopping: the message should be
// handled again later, not handed off). A bot that cannot answer (the LLM
// failed, timed out, is out of budget) returns a Reply with Handoff set and
// the fallback text instead. Reply is safe for concurrent use and does not
// retain in or its slices after it returns.
type Bot interface {
	Reply(ctx context.Context, in Input) (Reply, error)
}

// Input is one inbound message and what the bot may know around it.
type Input struct {
	// Tenant names the business account; it keys the token budget.
	Tenant string
	// Business is what the bot may tell the customer about the business.
	Business Business
	// Text is the customer's message text: the body of a text message, the
	// caption of a media message, the title of a tapped button or list
	// row. Empty for media without caption, stickers, locations…
	Text string
	// Type is the WhatsApp message type, as schemas.Message.Type: "text",
	// "interactive", "button", "image", "location", "reaction"… Empty means
	// "text". Reactions, system messages, edits and revokes get an empty
	// Reply (see Ignored); "request_welcome" gets the greeting.
	Type string
	// ReplyID is the id of the tapped reply button or list row
	// (interactive.button_reply.id, interactive.list_reply.id, or the
	// payload of a template's quick-reply button), if any.
	ReplyID string
	// UserName is the customer's WhatsApp profile name; may be empty.
	UserName string
	// History is the conversation before this message, oldest first,
	// without the current message.
	History []Turn
	// Now is when the message was received; zero means unknown. The
	// OpenAI bot tells the model the date and time in Now's location, so
	// pass the business's local time when it is known.
	Now time.Time
}

// Business is a tenant's business information and the bot's personality.
// Any field may be empty.
type Business struct {
	Name    string `yaml:"name"`
	Sector  string `yaml:"sector"`
	Hours   string `yaml:"hours"`
	Phone   string `yaml:"phone"`
	Website string `yaml:"website"`
	Address string `yaml:"address"`
	// Personality is how the assistant presents itself, e.g. "You are
	// Lola, the cheerful assistant of a bakery". Used by the OpenAI bot.
	Personality string `yaml:"personality"`
	// Instructions are the tenant's extra instructions to the OpenAI bot.
	Instructions string `yaml:"instructions"`
}

// Turn is one message of the history.
type Turn struct {
	// Role is RoleUser for the customer, RoleAssistant for the business
	// (bot or agent).
	Role string
	Text string
	Time time.Time
}

// Roles of a Turn.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Reply is what to answer, and whether to hand the conversation to a
// person. An empty Text (with no Buttons or List) means send nothing.
type Reply struct {
	// Text is the message body; with Buttons or List it is the body of an
	// interactive message.
	Text string
	// Buttons are at most 3 reply buttons (titles at most 20 characters);
	// List is an interactive list. At most one of them is set.
	Buttons []Button
	List    *List
	// Handoff asks the processor to pass the conversation to a person and
	// stop calling the bot for it; HandoffReason says why (Reason*).
	Handoff       bool
	HandoffReason string
	// Intent is the rules bot's matched intent ("fallback" when none), or
	// IntentLLM for the OpenAI bot's answer.
	Intent string
	// Language of the reply, "es" or "en" (or a tenant's default).
	Language string
	// Confidence of the rules bot's match, 0 to 1; 1 for the OpenAI bot's
	// answers.
	Confidence float64
	// PromptTokens and CompletionTokens are what the LLM call used.
	PromptTokens, CompletionTokens int
	// Latency is how long Reply took.
	Latency time.Duration
}

// Button is a reply button. Tapping it comes back as an inbound message
// with ReplyID = ID and Text = Title.
type Button struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

// List is an interactive list: Button is the text of the button that opens
// it (at most 20 characters), Sections hold at most 10 rows in all.
type List struct {
	Button   string    `yaml:"button"`
	Sections []Section `yaml:"sections"`
}

// Section of a List; Title (at most 24 characters) is required when there
// are several sections.
type Section struct {
	Title string `yaml:"title" json:"title,omitzero"`
	Rows  []Row  `yaml:"rows" json:"rows"`
}

// Row of a List section: Title at most 24 characters, Description at most
// 72. Tapping it comes back with ReplyID = ID.
type Row struct {
	ID          string `yaml:"id" json:"id"`
	Title       string `yaml:"title" json:"title"`
	Description string `yaml:"description" json:"description,omitzero"`
}

// Handoff reasons, the values of Reply.HandoffReason.
const (
	ReasonKeyword        = "keyword"              // a HandoffRules keyword
	ReasonIntent         = "intent"               // a rules intent with handoff: true
	ReasonLowConfidence  = "low confidence"       // two unclear messages in a row
	ReasonLLMError       = "llm error"            // the LLM failed or timed out
	ReasonLLMUnavailable = "llm unavailable"      // the circuit breaker is open
	ReasonBudget         = "token budget used up" // the tenant's daily tokens
)

// Intents with a meaning of their own.
const (
	IntentFallback = "fallback" // nothing matched
	IntentHuman    = "human"    // the customer asked for a person
	IntentIgnored  = "ignored"  // a message type the bot does not answer
	IntentLLM      = "llm"      // the OpenAI bot's answer
)

// Ignored reports whether the bot stays silent for a message of type typ:
// reactions, system messages, edits and revokes.
func Ignored(typ string) bool {
	switch typ {
	case "reaction", "system", "edit", "revoke":
		return true
	}
	return false
}
