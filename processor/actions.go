package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/stream"
)

// inbound handles one customer message: once per wamid, it updates the
// conversation, decides (bot reply, acknowledgement, nothing), and makes
// the commands and events durable before the conversation is saved. If the
// process dies in between, the message is handled again and produces the
// same command ids, which the sender sends once.
func (p *Processor) inbound(it *item) error {
	m, t := it.msg, it.tenant
	seenKey := "m:" + m.ID
	if dup, err := p.duplicate(seenKey); dup || err != nil {
		return err
	}
	inboundTotal.Inc()
	contact := it.value.Contact(m)
	users := []string{m.FromUserID, m.From}
	if contact != nil {
		users = append(users, contact.UserID, contact.WaID)
	}
	c, prev, err := p.conversation(t, it.number, m.UserKey(), users...)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	at := m.Timestamp.Time
	if at.IsZero() {
		at = it.received
	}
	if contact != nil {
		c.ProfileName = firstNonEmpty(contact.Profile.Name, c.ProfileName)
		c.WaID = firstNonEmpty(contact.WaID, c.WaID)
		c.BSUID = firstNonEmpty(contact.UserID, c.BSUID)
	}
	c.WaID = firstNonEmpty(m.From, c.WaID)
	c.BSUID = firstNonEmpty(m.FromUserID, c.BSUID)
	if s := m.System; s != nil {
		switch s.Type {
		case schemas.SystemUserChangedNumber, "customer_changed_number":
			c.WaID = firstNonEmpty(s.WaID, s.NewWaID, c.WaID)
		case schemas.SystemUserChangedUserID:
			c.BSUID = firstNonEmpty(s.UserID, c.BSUID)
		}
	}
	history := turns(c.Messages)
	text := m.Text()
	if m.Type != "system" {
		if at.After(c.LastInbound) {
			c.LastInbound = at
			c.WindowUntil = at.Add(24 * time.Hour)
		}
		c.Counters.Inbound++
	}
	c.add(Message{Dir: "in", Wamid: m.ID, Type: m.Type, Text: text, Time: at}, p.cfg.History)

	out := []*stream.Record{p.event(schemas.Event{ID: schemas.EventID("in", m.ID), Kind: schemas.EventInbound,
		Time: now, Tenant: t.ID, PhoneNumberID: it.number, User: c.User, Wamid: m.ID, MessageType: m.Type})}

	var reply json.RawMessage
	var rep bot.Reply
	switch {
	case c.Handoff.Mode == ModeHuman:
		// A person answers; the bot stays silent.
	case t.Bot == nil:
		// No automatic replies for this tenant: people answer.
	case acknowledged(m.Type):
		reply = canned(t.Acknowledgement, acknowledgements, history)
	case unreadable(m):
		reply = canned(t.Unreadable, apologies, history)
	case botAnswers(m.Type):
		in := bot.Input{Tenant: t.ID, Business: t.Business, Text: text, Type: m.Type, ReplyID: replyID(m),
			UserName: c.ProfileName, History: history, Now: at}
		rep, err = t.Bot.Reply(context.Background(), in)
		if err != nil {
			return fmt.Errorf("cannot get the bot's reply: %w", err)
		}
		if reply, err = rep.Message(); err != nil {
			return fmt.Errorf("cannot build the bot's reply: %w", err)
		}
		out = append(out, p.event(schemas.Event{ID: schemas.EventID("bot", m.ID), Kind: schemas.EventBotReply,
			Time: now, Tenant: t.ID, PhoneNumberID: it.number, User: c.User, Wamid: m.ID, Reason: rep.Intent,
			LatencyMs: rep.Latency.Milliseconds(), Tokens: rep.PromptTokens + rep.CompletionTokens}))
		if rep.Handoff {
			c.Handoff = Handoff{Mode: ModeHuman, Since: now, By: "bot", Reason: rep.HandoffReason}
			c.Counters.Handoffs++
			handoffsTotal.Inc()
			out = append(out, p.event(schemas.Event{ID: schemas.EventID("handoff", m.ID), Kind: schemas.EventHandoff,
				Time: now, Tenant: t.ID, PhoneNumberID: it.number, User: c.User, Wamid: m.ID, Reason: rep.HandoffReason}))
		}
	}
	if len(reply) > 0 {
		read := p.command(t, c, schemas.CommandID(t.ID, m.ID, "read"), sendMarkRead(m.ID), m.ID, it.received, schemas.OriginBot)
		cmd := p.command(t, c, schemas.CommandID(t.ID, m.ID, "reply"), reply, m.ID, it.received, schemas.OriginBot)
		out = append(out, read, cmd)
		c.Counters.Outbound++
		c.Counters.BotReplies++
		repliesTotal.Inc()
		c.add(Message{Dir: "out", Type: messageType(reply), Text: rep.Text, Time: now,
			CommandID: schemas.CommandID(t.ID, m.ID, "reply"), Origin: schemas.OriginBot}, p.cfg.History)
	}
	c.UpdatedAt = now
	if err := p.log.Append(context.Background(), out...); err != nil {
		return fmt.Errorf("cannot write commands and events: %w", err)
	}
	return p.store.Save(c, prev, seenKey)
}

// duplicate reports whether seenKey was handled before: Meta delivered
// the same update again.
func (p *Processor) duplicate(seenKey string) (bool, error) {
	seen, err := p.store.Seen(seenKey)
	if err != nil {
		return false, err
	}
	if seen[seenKey] {
		dupTotal.Inc()
	}
	return seen[seenKey], nil
}

// statusUpdate moves our message up its status ladder, once per wamid and
// status, never backwards.
func (p *Processor) statusUpdate(it *item) error {
	st, t := it.status, it.tenant
	seenKey := "s:" + st.ID + ":" + st.Status
	if dup, err := p.duplicate(seenKey); dup || err != nil {
		return err
	}
	statusTotal.Inc()
	e := schemas.Event{ID: schemas.EventID("st", st.ID, st.Status), Kind: schemas.EventStatus, Time: time.Now().UTC(),
		Tenant: t.ID, PhoneNumberID: it.number, User: st.UserKey(), Wamid: st.ID, Status: st.Status}
	if cb, ok := schemas.ParseCallback(st.BizOpaqueCallbackData); ok {
		e.CommandID = cb.CommandID
	}
	if pr := st.Pricing; pr != nil {
		e.PricingCategory, e.PricingType = pr.Category, pr.Type
		e.Billable = pr.Type == "regular" || pr.Type == "" && pr.Billable
	}
	if len(st.Errors) > 0 {
		code := st.Errors[0].Code
		e.ErrorCode, e.ErrorClass, e.Reason = code, string(schemas.ClassOf(code)), st.Errors[0].Title
	}
	// The ladder and the message's delivery, not the conversation: three
	// of a turn's four records are statuses.
	if _, err := p.store.Advance(st.ID, st.Status, e.CommandID, e.ErrorCode); err != nil {
		return err
	}
	if err := p.log.Append(context.Background(), p.event(e)); err != nil {
		return fmt.Errorf("cannot write the status event: %w", err)
	}
	return p.store.MarkSeen(seenKey)
}

// preference records a marketing stop or resume.
func (p *Processor) preference(it *item) error {
	pr := it.prefs
	seenKey := fmt.Sprintf("p:%s:%s:%d", it.number, pr.UserKey(), pr.Timestamp.Unix())
	seen, err := p.store.Seen(seenKey)
	if err != nil || seen[seenKey] {
		return err
	}
	c, prev, err := p.conversation(it.tenant, it.number, pr.UserKey(), pr.UserID, pr.WaID)
	if err != nil {
		return err
	}
	if pr.Category == "marketing_messages" {
		c.MarketingOptOut = pr.Value == "stop"
	}
	c.UpdatedAt = time.Now().UTC()
	return p.store.Save(c, prev, seenKey)
}

// conversation finds the conversation of one of users with number, or
// starts one keyed by user.
func (p *Processor) conversation(t *Tenant, number, user string, users ...string) (*Conversation, time.Time, error) {
	c, err := p.store.Find(number, append([]string{user}, users...)...)
	if err != nil {
		return nil, time.Time{}, err
	}
	if c != nil {
		return c, c.UpdatedAt, nil
	}
	now := time.Now().UTC()
	return &Conversation{ID: ConversationID(number, user), Tenant: t.ID, PhoneNumberID: number, User: user,
		Messages: []Message{}, Handoff: Handoff{Mode: ModeBot}, CreatedAt: now}, time.Time{}, nil
}

// command builds a send command record for c.
func (p *Processor) command(t *Tenant, c *Conversation, id string, msg json.RawMessage, replyTo string, received time.Time, origin string) *stream.Record {
	cmd := schemas.SendCommand{ID: id, Tenant: t.ID, PhoneNumberID: c.PhoneNumberID, To: c.WaID, Message: msg,
		Origin: origin, ReplyTo: replyTo, CreatedAt: time.Now().UTC(), ReceivedAt: received,
		WindowOpenUntil: c.WindowUntil, FallbackTemplate: t.FallbackTemplate}
	if cmd.To == "" {
		cmd.Recipient = c.BSUID
	}
	v, _ := json.Marshal(cmd)
	return &stream.Record{Topic: p.cfg.OutboundTopic, Key: []byte(c.PhoneNumberID), Value: v}
}

// add appends a message and keeps the last n.
func (c *Conversation) add(m Message, n int) {
	c.Messages = append(c.Messages, m)
	if len(c.Messages) > n {
		c.Messages = append([]Message(nil), c.Messages[len(c.Messages)-n:]...)
	}
}

// turns is the conversation's text history for the bot, oldest first.
func turns(ms []Message) []bot.Turn {
	var out []bot.Turn
	for _, m := range ms {
		if m.Text == "" {
			continue
		}
		role := bot.RoleUser
		if m.Dir == "out" {
			role = bot.RoleAssistant
		}
		out = append(out, bot.Turn{Role: role, Text: m.Text, Time: m.Time})
	}
	return out
}

// botAnswers are the types the bot answers: what the customer wrote or
// tapped. Reactions, system messages, edits, revokes and types this code
// does not know update the state only.
func botAnswers(typ string) bool {
	switch typ {
	case "text", "interactive", "button", "request_welcome":
		return true
	}
	return false
}

// acknowledged are the types answered with the tenant's acknowledgement
// rather than the bot.
func acknowledged(typ string) bool {
	switch typ {
	case "image", "video", "audio", "document", "sticker", "location", "contacts", "order":
		return true
	}
	return false
}

// unreadable reports whether m is a message the Cloud API could not
// deliver that the customer expects an answer to: a poll they created,
// a message from a kind of WhatsApp the API does not support. Edits,
// pins and poll votes arrive the same way and get no answer.
func unreadable(m *schemas.Message) bool {
	if m.Type != schemas.TypeUnsupported && m.Type != schemas.TypeUnknown {
		return false
	}
	if m.Unsupported != nil {
		switch m.Unsupported.Type {
		case "edit", "pin", "poll_update":
			return false
		}
	}
	return true
}

// The texts of canned replies by language, when the tenant sets none.
var (
	acknowledgements = map[string]string{"es": "¡Gracias! Lo recibimos.", "en": "Thanks, we got it."}
	apologies        = map[string]string{
		"es": "Perdón, no pudimos abrir tu mensaje. ¿Nos lo puedes escribir?",
		"en": "Sorry, we couldn't open your message. Could you write it to us?",
	}
)

// canned is a text reply: text, or if empty the one of byLang in the
// language of the customer's last words (Spanish when there are none).
func canned(text string, byLang map[string]string, history []bot.Turn) json.RawMessage {
	if text == "" {
		lang := "es"
		for i := len(history) - 1; i >= 0; i-- {
			if history[i].Role == bot.RoleUser {
				lang = bot.DetectLanguage(history[i].Text, "es")
				break
			}
		}
		text = byLang[lang]
	}
	v, _ := json.Marshal(map[string]any{"type": "text", "text": map[string]string{"body": text}})
	return v
}

// replyID is the id of what the customer tapped, if anything.
func replyID(m *schemas.Message) string {
	switch {
	case m.Interactive != nil && m.Interactive.ButtonReply != nil:
		return m.Interactive.ButtonReply.ID
	case m.Interactive != nil && m.Interactive.ListReply != nil:
		return m.Interactive.ListReply.ID
	case m.Button != nil:
		return m.Button.Payload
	}
	return ""
}

// sendMarkRead is the read receipt with the typing indicator: a reply is
// coming.
func sendMarkRead(wamid string) json.RawMessage {
	v, _ := json.Marshal(map[string]any{"status": "read", "message_id": wamid, "typing_indicator": map[string]string{"type": "text"}})
	return v
}

func messageType(msg json.RawMessage) string {
	var m struct{ Type string }
	json.Unmarshal(msg, &m)
	return m.Type
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
