package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// SendCommand is a record of the outbound topic: one message to send. The
// processor and the admin API write them; the sender reads them. The
// command's ID is deterministic (see CommandID), so a command produced
// twice is the same command, and the sender's ledger sends it once.
type SendCommand struct {
	ID            string `json:"id"`
	Tenant        string `json:"tenant,omitzero"`
	PhoneNumberID string `json:"phone_number_id"`
	// To is the recipient's phone number (wa_id); Recipient is the BSUID,
	// used when To is empty.
	To        string `json:"to,omitzero"`
	Recipient string `json:"recipient,omitzero"`
	// Message is the Graph API message body as the /messages endpoint takes
	// it, without the recipient: the sender sets messaging_product, to or
	// recipient, and biz_opaque_callback_data.
	Message json.RawMessage `json:"message"`
	// Origin says who asked: OriginBot, OriginAgent or OriginAPI.
	Origin string `json:"origin,omitzero"`
	// ReplyTo is the inbound wamid this command answers, if any.
	ReplyTo string `json:"reply_to,omitzero"`
	// Category of a template ("marketing", "utility", "authentication"),
	// for the opt-out and messaging-limit checks. Empty for free-form.
	Category string `json:"category,omitzero"`
	// NotBefore delays the send; the sender sets it on retries.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Attempt counts sends tried so far, 0 for a new command.
	Attempt int `json:"attempt,omitzero"`
	// CreatedAt is when the command was made; ReceivedAt, when the inbound
	// message it answers reached wasp (for response time).
	CreatedAt  time.Time `json:"created_at,omitzero"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
	// WindowOpenUntil is when the customer service window closes, as the
	// producer knew it; zero when unknown. Free-form messages after it are
	// not sent.
	WindowOpenUntil time.Time `json:"window_open_until,omitzero"`
	// FallbackTemplate is sent instead of a free-form message when the
	// window is closed, if set.
	FallbackTemplate json.RawMessage `json:"fallback_template,omitzero"`
}

// Command origins.
const (
	OriginBot   = "bot"
	OriginAgent = "agent"
	OriginAPI   = "api"
)

// CommandID is the deterministic id of the command that action causes in
// tenant for the inbound message wamid: the same cause gives the same id.
func CommandID(tenant, wamid, action string) string {
	h := sha256.Sum256([]byte(tenant + "\x00" + wamid + "\x00" + action))
	return "cmd_" + hex.EncodeToString(h[:12])
}

// MessageType returns the "type" of the command's Graph body ("text",
// "template", …), or "" when the body has none (mark as read).
func (c *SendCommand) MessageType() string {
	var m struct {
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	json.Unmarshal(c.Message, &m)
	if m.Type == "" && m.Status == "read" {
		return "read"
	}
	return m.Type
}

// UserKey is the recipient's key: the BSUID when set, else the phone.
func (c *SendCommand) UserKey() string {
	if c.Recipient != "" {
		return c.Recipient
	}
	return c.To
}

// Callback is what wasp puts in biz_opaque_callback_data: the command id
// and the inbound wamid it answers. Meta echoes it in status webhooks,
// which lets the sender settle a send whose outcome it did not see.
type Callback struct {
	CommandID string
	ReplyTo   string
}

const callbackPrefix = "wasp1:"

// Encode returns the callback data string, "wasp1:<command id>[:<wamid>]".
func (c Callback) Encode() string {
	if c.ReplyTo == "" {
		return callbackPrefix + c.CommandID
	}
	return callbackPrefix + c.CommandID + ":" + c.ReplyTo
}

// ParseCallback reads callback data that wasp wrote; ok is false for data
// that other software put there.
func ParseCallback(s string) (c Callback, ok bool) {
	rest, ok := strings.CutPrefix(s, callbackPrefix)
	if !ok || rest == "" {
		return Callback{}, false
	}
	c.CommandID, c.ReplyTo, _ = strings.Cut(rest, ":")
	return c, true
}
