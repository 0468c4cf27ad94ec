package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Event is one analytics fact of the events topic. Every stage writes
// them; analytics loads them. Fields that do not apply to a kind are empty.
type Event struct {
	// ID is deterministic for what the event records, so a stage that
	// emits it twice (after a restart) emits the same event.
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Time          time.Time `json:"time"`
	Tenant        string    `json:"tenant,omitzero"`
	PhoneNumberID string    `json:"phone_number_id,omitzero"`
	// User is the customer's key (BSUID or wa_id). It is an identifier,
	// not for logs.
	User string `json:"user,omitzero"`
	// Wamid of the message concerned; CommandID of the send concerned.
	Wamid     string `json:"wamid,omitzero"`
	CommandID string `json:"command_id,omitzero"`
	// MessageType ("text", "template", …), Origin (bot, agent, api),
	// Status (sent, delivered, read, played, failed; for accounts
	// StatusAdverse or StatusInfo; for alerts AlertFiring or
	// AlertResolved).
	MessageType string `json:"message_type,omitzero"`
	Origin      string `json:"origin,omitzero"`
	Status      string `json:"status,omitzero"`
	// Error code and its class when something failed.
	ErrorCode  int    `json:"error_code,omitzero"`
	ErrorClass string `json:"error_class,omitzero"`
	Reason     string `json:"reason,omitzero"`
	// LatencyMs: send → accepted for sends; inbound received → reply
	// accepted for replies (ResponseMs).
	LatencyMs  int64 `json:"latency_ms,omitzero"`
	ResponseMs int64 `json:"response_ms,omitzero"`
	Attempt    int   `json:"attempt,omitzero"`
	// Tokens used by an LLM decision; Pricing of a status.
	Tokens          int    `json:"tokens,omitzero"`
	PricingCategory string `json:"pricing_category,omitzero"`
	PricingType     string `json:"pricing_type,omitzero"`
	Billable        bool   `json:"billable,omitzero"`
}

// Event kinds.
const (
	EventInbound      = "inbound"       // a customer message arrived
	EventStatus       = "status"        // a status of our message changed
	EventSendAccepted = "send_accepted" // Meta accepted a send (wamid)
	EventSendFailed   = "send_failed"   // a send failed for good
	EventSendRetried  = "send_retried"  // a send failed and will be tried again
	EventThrottled    = "throttled"     // a send waited for a limit
	EventBotReply     = "bot_reply"     // the bot decided on a reply
	EventHandoff      = "handoff"       // a conversation went to a human
	EventRelease      = "release"       // a conversation came back to the bot
	EventAlert        = "alert"         // something an operator must act on
	EventAccount      = "account"       // Meta changed the account or a number's standing
)

// Statuses of account events and alerts.
const (
	StatusAdverse = "adverse" // an account event an operator must act on
	StatusInfo    = "info"
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// EventID derives an event id from the parts that identify the fact.
func EventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:12])
}
