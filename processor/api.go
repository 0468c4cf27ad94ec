package processor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"wasp/internal/jsonapi"
	"wasp/schemas"
)

// Register adds the conversations and messages API to mux:
//
//	GET  /api/v1/conversations?tenant=&state=&cursor=&limit=
//	GET  /api/v1/conversations/{id}
//	POST /api/v1/conversations/{id}/handoff   {"by": "…", "reason": "…"}
//	POST /api/v1/conversations/{id}/release
//	POST /api/v1/messages                     {"phone_number_id","to","text"} or {…,"message":{Graph body}}
//
// The caller guards mux with the API token.
func (p *Processor) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/conversations", p.listConversations)
	mux.HandleFunc("GET /api/v1/conversations/{id}", p.getConversation)
	mux.HandleFunc("POST /api/v1/conversations/{id}/handoff", p.setHandoff(ModeHuman))
	mux.HandleFunc("POST /api/v1/conversations/{id}/release", p.setHandoff(ModeBot))
	mux.HandleFunc("POST /api/v1/messages", p.postMessage)
}

func (p *Processor) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := jsonapi.Limit(r, 50, 500)
	if err != nil {
		jsonapi.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	state := q.Get("state")
	if state != "" && state != ModeBot && state != ModeHuman {
		jsonapi.Error(w, http.StatusBadRequest, "state must be bot or human")
		return
	}
	cs, next, err := p.store.List(q.Get("tenant"), state, q.Get("cursor"), limit)
	if err != nil {
		jsonapi.Error(w, http.StatusBadRequest, "cannot list conversations: "+err.Error())
		return
	}
	type summary struct {
		ID            string    `json:"id"`
		Tenant        string    `json:"tenant"`
		PhoneNumberID string    `json:"phone_number_id"`
		ProfileName   string    `json:"profile_name,omitzero"`
		Handoff       Handoff   `json:"handoff"`
		WindowOpen    bool      `json:"window_open"`
		LastText      string    `json:"last_text,omitzero"`
		UpdatedAt     time.Time `json:"updated_at"`
	}
	out := []summary{}
	for _, c := range cs {
		s := summary{ID: c.ID, Tenant: c.Tenant, PhoneNumberID: c.PhoneNumberID, ProfileName: c.ProfileName,
			Handoff: c.Handoff, WindowOpen: time.Now().Before(c.WindowUntil), UpdatedAt: c.UpdatedAt}
		if n := len(c.Messages); n > 0 {
			s.LastText = c.Messages[n-1].Text
		}
		out = append(out, s)
	}
	jsonapi.Write(w, http.StatusOK, map[string]any{"conversations": out, "next_cursor": next})
}

func (p *Processor) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := p.store.Get(r.PathValue("id"))
	if err != nil {
		jsonapi.Error(w, http.StatusInternalServerError, "cannot read the conversation")
		return
	}
	if c == nil {
		jsonapi.Error(w, http.StatusNotFound, "no such conversation")
		return
	}
	jsonapi.Write(w, http.StatusOK, map[string]any{"conversation": c, "window_open": time.Now().Before(c.WindowUntil)})
}

// inOrder runs f in the conversation's order (after what is queued for
// it) and waits for it.
func (p *Processor) inOrder(ctx context.Context, c *Conversation, f func()) error {
	done := make(chan struct{})
	p.enqueue(queueKey(c.PhoneNumberID, c.WaID, c.BSUID), &item{run: func() { f(); close(done) }})
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Processor) setHandoff(mode string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct{ By, Reason string }
		json.NewDecoder(r.Body).Decode(&body)
		c, err := p.store.Get(r.PathValue("id"))
		if err != nil || c == nil {
			jsonapi.Error(w, http.StatusNotFound, "no such conversation")
			return
		}
		var result *Conversation
		var ferr error
		err = p.inOrder(r.Context(), c, func() {
			c, ferr = p.store.Get(c.ID)
			if ferr != nil {
				return
			}
			prev := c.UpdatedAt
			now := time.Now().UTC()
			if c.Handoff.Mode != mode {
				c.Handoff = Handoff{Mode: mode, Since: now, By: firstNonEmpty(body.By, "api"), Reason: body.Reason}
				kind := schemas.EventRelease
				if mode == ModeHuman {
					kind = schemas.EventHandoff
					c.Counters.Handoffs++
				}
				e := p.event(schemas.Event{ID: schemas.EventID(kind, c.ID, now.String()), Kind: kind, Time: now,
					Tenant: c.Tenant, PhoneNumberID: c.PhoneNumberID, User: c.User, Reason: firstNonEmpty(body.Reason, "api")})
				if ferr = p.log.Append(r.Context(), e); ferr != nil {
					return
				}
			}
			c.UpdatedAt = now
			if ferr = p.store.Save(c, prev); ferr == nil {
				ferr = p.store.Sync() // an operator's change is durable once answered
			}
			result = c
		})
		if err == nil {
			err = ferr
		}
		if err != nil {
			jsonapi.Error(w, http.StatusServiceUnavailable, "cannot change the conversation: "+err.Error())
			return
		}
		jsonapi.Write(w, http.StatusOK, map[string]any{"conversation": result})
	}
}

// postMessage sends as an agent or an application: free-form inside the
// customer service window, templates any time.
func (p *Processor) postMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID            string          `json:"id"` // optional idempotency key
		PhoneNumberID string          `json:"phone_number_id"`
		To            string          `json:"to"`
		Conversation  string          `json:"conversation_id"`
		Text          string          `json:"text"`
		Message       json.RawMessage `json:"message"`
		Origin        string          `json:"origin"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		jsonapi.Error(w, http.StatusBadRequest, "body must be JSON: "+err.Error())
		return
	}
	var c *Conversation
	var err error
	switch {
	case req.Conversation != "":
		c, err = p.store.Get(req.Conversation)
	case req.PhoneNumberID != "" && req.To != "":
		c, err = p.store.Find(req.PhoneNumberID, strings.TrimPrefix(req.To, "+"))
	default:
		jsonapi.Error(w, http.StatusBadRequest, "give conversation_id, or phone_number_id and to")
		return
	}
	if err != nil {
		jsonapi.Error(w, http.StatusInternalServerError, "cannot read the conversation")
		return
	}
	t := p.tenants[req.PhoneNumberID]
	if c != nil {
		t = p.tenants[c.PhoneNumberID]
	}
	if t == nil {
		jsonapi.Error(w, http.StatusNotFound, "unknown phone_number_id: no tenant has it")
		return
	}
	msg := req.Message
	if len(msg) == 0 {
		if req.Text == "" {
			jsonapi.Error(w, http.StatusBadRequest, "give text or message")
			return
		}
		msg, _ = json.Marshal(map[string]any{"type": "text", "text": map[string]string{"body": req.Text}})
	}
	typ := messageType(msg)
	if typ == "" {
		jsonapi.Error(w, http.StatusBadRequest, `message needs a "type"`)
		return
	}
	if c == nil {
		if typ != "template" {
			jsonapi.Error(w, http.StatusUnprocessableEntity, "no conversation with this user: outside the 24-hour window only templates can be sent")
			return
		}
		to := strings.TrimPrefix(req.To, "+")
		c = &Conversation{ID: ConversationID(req.PhoneNumberID, to), Tenant: t.ID, PhoneNumberID: req.PhoneNumberID,
			User: to, WaID: to, Messages: []Message{}, Handoff: Handoff{Mode: ModeBot}, CreatedAt: time.Now().UTC()}
	}
	if typ != "template" && !time.Now().Before(c.WindowUntil) {
		jsonapi.Error(w, http.StatusUnprocessableEntity, "the 24-hour customer service window is closed: send a template")
		return
	}
	origin := firstNonEmpty(req.Origin, schemas.OriginAPI)
	if c.Handoff.Mode == ModeHuman && req.Origin == "" {
		origin = schemas.OriginAgent
	}
	key := req.ID
	if key == "" {
		b := make([]byte, 12)
		rand.Read(b)
		key = hex.EncodeToString(b)
	}
	id := schemas.CommandID(t.ID, "api:"+key, "send")
	var ferr error
	err = p.inOrder(r.Context(), c, func() {
		cur, err := p.store.Get(c.ID)
		if err != nil {
			ferr = err
			return
		}
		prev := time.Time{}
		if cur != nil {
			c, prev = cur, cur.UpdatedAt
		}
		rec := p.command(t, c, id, msg, "", time.Time{}, origin)
		if ferr = p.log.Append(r.Context(), rec); ferr != nil {
			return
		}
		now := time.Now().UTC()
		c.Counters.Outbound++
		var text struct{ Text struct{ Body string } }
		json.Unmarshal(msg, &text)
		c.add(Message{Dir: "out", Type: typ, Text: text.Text.Body, Time: now, CommandID: id, Origin: origin}, p.cfg.History)
		c.UpdatedAt = now
		if ferr = p.store.Save(c, prev); ferr == nil {
			ferr = p.store.Sync()
		}
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		jsonapi.Error(w, http.StatusServiceUnavailable, "cannot queue the message: "+err.Error())
		return
	}
	jsonapi.Write(w, http.StatusAccepted, map[string]string{"command_id": id, "conversation_id": c.ID})
}
