package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// sendBody is the body of POST /{phone}/messages: a message, or a read
// receipt (status, message_id, typing_indicator). Only what the simulator
// checks is decoded.
type sendBody struct {
	MessagingProduct      string `json:"messaging_product"`
	RecipientType         string `json:"recipient_type"`
	To                    string `json:"to"`
	Recipient             string `json:"recipient"`
	Type                  string `json:"type"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
	Context               *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`

	Status          string `json:"status"`
	MessageID       string `json:"message_id"`
	TypingIndicator *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`

	Text        *textObject        `json:"text"`
	Image       *mediaObject       `json:"image"`
	Video       *mediaObject       `json:"video"`
	Audio       *mediaObject       `json:"audio"`
	Document    *mediaObject       `json:"document"`
	Sticker     *mediaObject       `json:"sticker"`
	Location    *locationObject    `json:"location"`
	Contacts    []contactObject    `json:"contacts"`
	Interactive *interactiveObject `json:"interactive"`
	Template    *templateObject    `json:"template"`
	Reaction    *reactionObject    `json:"reaction"`
}

type textObject struct {
	Body       *string `json:"body"`
	PreviewURL bool    `json:"preview_url"`
}

type mediaObject struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
}

type locationObject struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
}

type contactObject struct {
	Name *struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
}

type reactionObject struct {
	MessageID *string `json:"message_id"`
	Emoji     *string `json:"emoji"`
}

type interactiveObject struct {
	Type   string `json:"type"`
	Header *struct {
		Type     string       `json:"type"`
		Text     string       `json:"text"`
		Image    *mediaObject `json:"image"`
		Video    *mediaObject `json:"video"`
		Document *mediaObject `json:"document"`
	} `json:"header"`
	Body *struct {
		Text string `json:"text"`
	} `json:"body"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Action *actionObject `json:"action"`
}

type actionObject struct {
	Button  string `json:"button"`
	Buttons []struct {
		Type  string `json:"type"`
		Reply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"reply"`
	} `json:"buttons"`
	Sections []struct {
		Title string `json:"title"`
		Rows  []struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"rows"`
	} `json:"sections"`
	Name       string `json:"name"`
	Parameters *struct {
		DisplayText        string `json:"display_text"`
		URL                string `json:"url"`
		FlowMessageVersion any    `json:"flow_message_version"`
		FlowID             string `json:"flow_id"`
		FlowName           string `json:"flow_name"`
		FlowCTA            string `json:"flow_cta"`
	} `json:"parameters"`
}

type templateObject struct {
	Name     string `json:"name"`
	Language *struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []struct {
		Type       string `json:"type"`
		SubType    string `json:"sub_type"`
		Parameters []struct {
			Type          string `json:"type"`
			ParameterName string `json:"parameter_name"`
			Payload       string `json:"payload"`
		} `json:"parameters"`
	} `json:"components"`
}

// sendTypes are the message types the send endpoint takes.
const sendTypes = "{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}"

// accepted is what the webhook sender and the customers need to know about
// an accepted send.
type accepted struct {
	n        *number
	wamid    string
	waID     string
	bsuid    string
	callback string
	typ      string
	voice    bool
	category string // pricing category: "service" or the template's
	free     bool   // free_customer_service
	at       int64
	reply    *followUp // the customer's answer, when ReplyToBot
}

// handleSend serves POST /{version}/{phone}/messages. It holds the
// number's mutex once, for the limits and the record; it starts no
// goroutine.
func (s *Sim) handleSend(ctx *fasthttp.RequestCtx, n *number) {
	body := ctx.PostBody()
	var m sendBody
	if err := json.Unmarshal(body, &m); err != nil {
		s.fail(ctx, n, newError(100, "The request body is not a valid message object."))
		return
	}
	if e := checkProduct(m.MessagingProduct); e != nil {
		s.fail(ctx, n, e)
		return
	}
	if m.Status != "" || (m.MessageID != "" && m.Type == "") {
		s.handleRead(ctx, n, &m)
		return
	}
	input := m.To
	if input == "" {
		input = m.Recipient
	}
	key, waID, bsuid := recipientKey(m.To, m.Recipient)
	switch {
	case input == "":
		s.fail(ctx, n, newError(131008, "The parameter to is required."))
		return
	case key == "" && m.To != "":
		s.fail(ctx, n, newError(100, "Param to must be a valid phone number."))
		return
	case key == "":
		s.fail(ctx, n, newError(100, "Param recipient must be a business-scoped user ID."))
		return
	case waID != "" && waID == n.cfg.DisplayPhoneNumber:
		s.fail(ctx, n, newError(131021, ""))
		return
	}
	switch m.RecipientType {
	case "", "individual", "group":
	default:
		s.fail(ctx, n, newError(100, fmt.Sprintf("Param recipient_type must be one of {INDIVIDUAL, GROUP} - got %q.", m.RecipientType)))
		return
	}
	typ := m.Type
	if typ == "" {
		typ = "text" // Meta's default type
	}
	text, e := validate(typ, &m)
	if e != nil {
		s.fail(ctx, n, e)
		return
	}
	var tpl *template
	if typ == "template" {
		if tpl, e = s.templates.check(n.waba.id, m.Template); e != nil {
			s.fail(ctx, n, e)
			return
		}
	}

	timeout := false
	if f, ok := s.faults.pop(); ok {
		switch f.kind {
		case faultCode:
			s.fail(ctx, n, newError(f.code, ""))
			return
		case fault5xx:
			s.answer5xx(ctx)
			return
		case faultTimeout:
			timeout = true
		}
	} else {
		f := &s.cfg.Faults
		switch {
		case f.HTTP5xxRate > 0 && rand.Float64() < f.HTTP5xxRate:
			s.answer5xx(ctx)
			return
		case f.ErrorRate > 0 && rand.Float64() < f.ErrorRate:
			s.fail(ctx, n, newError(f.Codes[rand.IntN(len(f.Codes))], ""))
			return
		case f.TimeoutRate > 0 && rand.Float64() < f.TimeoutRate:
			timeout = true
		}
	}
	if timeout {
		s.stats.timeouts.Add(1)
		if s.cfg.Faults.DropTimedOut {
			s.hold()
			ctx.SetStatusCode(fasthttp.StatusGatewayTimeout)
			ctx.SetBodyString("Gateway Timeout")
			return
		}
	}

	now := s.now()
	wamid := s.newWAMID(firstNonEmpty(waID, bsuid), false)
	sd := Send{
		PhoneNumberID:         n.cfg.PhoneNumberID,
		To:                    m.To,
		Recipient:             m.Recipient,
		WaID:                  waID,
		Type:                  typ,
		Text:                  text,
		BizOpaqueCallbackData: m.BizOpaqueCallbackData,
		WAMID:                 wamid,
		Time:                  s.wall(now),
	}
	if typ == "template" {
		sd.Template = m.Template.Name
	}
	n.mu.Lock()
	code, inWindow := n.admit(now, key, typ == "template")
	if code != 0 {
		n.errors[code]++
		n.mu.Unlock()
		newError(code, "").write(ctx)
		return
	}
	sd.Seq = s.sendSeq.Add(1)
	n.record(now, key, &sd, body)
	n.mu.Unlock()
	if s.track != nil {
		contextID := ""
		if m.Context != nil {
			contextID = m.Context.MessageID
		}
		s.track.answer(contextID, m.BizOpaqueCallbackData, now)
	}

	b := make([]byte, 0, 192)
	b = append(b, `{"messaging_product":"whatsapp","contacts":[{"input":`...)
	b = appendString(b, input)
	if waID != "" {
		b = append(b, `,"wa_id":`...)
		b = appendString(b, waID)
	}
	if bsuid != "" {
		b = append(b, `,"user_id":`...)
		b = appendString(b, bsuid)
	}
	b = append(b, `}],"messages":[{"id":`...)
	b = appendString(b, wamid)
	if typ == "template" {
		b = append(b, `,"message_status":"accepted"`...)
	}
	b = append(b, `}]}`...)

	if s.q != nil {
		a := accepted{
			n: n, wamid: wamid, waID: waID, bsuid: bsuid, callback: m.BizOpaqueCallbackData,
			typ: typ, voice: typ == "audio" && m.Audio.Voice, category: "service", free: true, at: now,
		}
		if typ == "template" {
			a.category = "marketing"
			if tpl != nil {
				a.category = strings.ToLower(tpl.category)
			}
			a.free = a.category == "utility" && inWindow
		}
		if s.cust != nil && s.cfg.Customers.ReplyToBot {
			a.reply = s.cust.followUpFor(key, &m)
		}
		s.afterAccept(&a)
	}
	if timeout {
		s.hold()
	}
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.Response.SetBodyRaw(b)
}

// handleRead serves a read receipt, with or without a typing indicator.
// Read receipts are not sends: no limit, no fault applies.
func (s *Sim) handleRead(ctx *fasthttp.RequestCtx, n *number, m *sendBody) {
	switch {
	case !strings.EqualFold(m.Status, "read"):
		s.fail(ctx, n, newError(100, fmt.Sprintf("Param status must be one of {READ} - got %q.", m.Status)))
		return
	case m.MessageID == "":
		s.fail(ctx, n, newError(131008, "The parameter message_id is required."))
		return
	case m.TypingIndicator != nil && m.TypingIndicator.Type != "text":
		s.fail(ctx, n, newError(100, fmt.Sprintf("Param typing_indicator['type'] must be one of {TEXT} - got %q.", m.TypingIndicator.Type)))
		return
	}
	n.mu.Lock()
	n.reads++
	if m.TypingIndicator != nil {
		n.typing++
	}
	n.mu.Unlock()
	writeSuccess(ctx)
}

// answer5xx answers like a proxy in front of an overloaded Graph API.
func (s *Sim) answer5xx(ctx *fasthttp.RequestCtx) {
	s.stats.http5xx.Add(1)
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString("<html><body><h1>503 Service Unavailable</h1></body></html>")
}

// hold waits Faults.Hold, or until the simulator stops.
func (s *Sim) hold() {
	t := time.NewTimer(s.cfg.Faults.Hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

func checkProduct(p string) *apiError {
	if p == "" {
		return newError(100, "The parameter messaging_product is required.")
	}
	if !strings.EqualFold(p, "whatsapp") {
		return newError(100, fmt.Sprintf("Param messaging_product must be one of {WHATSAPP} - got %q.", p))
	}
	return nil
}

// validate checks the message object of type typ against Meta's content
// limits and returns its words for the record.
func validate(typ string, m *sendBody) (text string, e *apiError) {
	switch typ {
	case "text":
		if m.Text == nil {
			return "", newError(131008, "The parameter text is required.")
		}
		if m.Text.Body == nil || *m.Text.Body == "" {
			return "", newError(131008, "The parameter text['body'] is required.")
		}
		if tooLong(*m.Text.Body, 4096) {
			return "", newError(100, "Param text['body'] must be at most 4096 characters long.")
		}
		return *m.Text.Body, nil
	case "image":
		return validateMedia(typ, m.Image)
	case "video":
		return validateMedia(typ, m.Video)
	case "audio":
		return validateMedia(typ, m.Audio)
	case "document":
		return validateMedia(typ, m.Document)
	case "sticker":
		return validateMedia(typ, m.Sticker)
	case "location":
		l := m.Location
		switch {
		case l == nil:
			return "", newError(131008, "The parameter location is required.")
		case l.Latitude == nil:
			return "", newError(131008, "The parameter location['latitude'] is required.")
		case l.Longitude == nil:
			return "", newError(131008, "The parameter location['longitude'] is required.")
		case *l.Latitude < -90 || *l.Latitude > 90:
			return "", newError(131009, "Param location['latitude'] must be between -90 and 90.")
		case *l.Longitude < -180 || *l.Longitude > 180:
			return "", newError(131009, "Param location['longitude'] must be between -180 and 180.")
		}
		return l.Name, nil
	case "contacts":
		if len(m.Contacts) == 0 {
			return "", newError(131008, "The parameter contacts is required.")
		}
		for i, c := range m.Contacts {
			if c.Name == nil || c.Name.FormattedName == "" {
				return "", newError(131008, fmt.Sprintf("The parameter contacts[%d]['name']['formatted_name'] is required.", i))
			}
		}
		return m.Contacts[0].Name.FormattedName, nil
	case "reaction":
		r := m.Reaction
		switch {
		case r == nil:
			return "", newError(131008, "The parameter reaction is required.")
		case r.MessageID == nil || *r.MessageID == "":
			return "", newError(131008, "The parameter reaction['message_id'] is required.")
		case r.Emoji == nil:
			return "", newError(131008, "The parameter reaction['emoji'] is required.")
		}
		return *r.Emoji, nil
	case "interactive":
		return validateInteractive(m.Interactive)
	case "template":
		t := m.Template
		switch {
		case t == nil:
			return "", newError(131008, "The parameter template is required.")
		case t.Name == "":
			return "", newError(131008, "The parameter template['name'] is required.")
		case t.Language == nil || t.Language.Code == "":
			return "", newError(131008, "The parameter template['language']['code'] is required.")
		}
		return "", nil
	}
	return "", newError(100, fmt.Sprintf("Param type must be one of %s - got %q.", sendTypes, typ))
}

func validateMedia(typ string, o *mediaObject) (string, *apiError) {
	switch {
	case o == nil:
		return "", newError(131008, "The parameter "+typ+" is required.")
	case o.ID == "" && o.Link == "":
		return "", newError(131008, "Param "+typ+" must have either an id or a link.")
	case o.ID != "" && o.Link != "":
		return "", newError(100, "Param "+typ+" must have either an id or a link, not both.")
	case o.Link != "" && !isHTTPURL(o.Link):
		return "", newError(100, "Param "+typ+"['link'] is not a valid URI.")
	case tooLong(o.Caption, 1024):
		return "", newError(100, "Param "+typ+"['caption'] must be at most 1024 characters long.")
	case tooLong(o.Filename, 240):
		return "", newError(100, "Param "+typ+"['filename'] must be at most 240 characters long.")
	}
	return o.Caption, nil
}

func validateInteractive(i *interactiveObject) (string, *apiError) {
	if i == nil {
		return "", newError(131008, "The parameter interactive is required.")
	}
	if i.Type == "" {
		return "", newError(131008, "The parameter interactive['type'] is required.")
	}
	bodyMax, needsBody := 1024, true
	switch i.Type {
	case "list":
		bodyMax = 4096
	case "button", "cta_url", "flow", "location_request_message", "call_permission_request", "address_message", "voice_call":
	case "product", "catalog_message":
		needsBody = i.Type == "catalog_message"
	case "product_list":
	default:
		return "", newError(100, fmt.Sprintf("Param interactive['type'] must be one of {BUTTON, CALL_PERMISSION_REQUEST, CATALOG_MESSAGE, CTA_URL, FLOW, LIST, LOCATION_REQUEST_MESSAGE, PRODUCT, PRODUCT_LIST, VOICE_CALL} - got %q.", i.Type))
	}
	body := ""
	if i.Body != nil {
		body = i.Body.Text
	}
	switch {
	case needsBody && body == "":
		return "", newError(131008, "The parameter interactive['body']['text'] is required.")
	case tooLong(body, bodyMax):
		return "", newError(131009, fmt.Sprintf("Param interactive['body']['text'] must be at most %d characters long.", bodyMax))
	case i.Footer != nil && tooLong(i.Footer.Text, 60):
		return "", newError(131009, "Param interactive['footer']['text'] must be at most 60 characters long.")
	case i.Header != nil && tooLong(i.Header.Text, 60):
		return "", newError(131009, "Param interactive['header']['text'] must be at most 60 characters long.")
	case i.Header != nil && i.Type == "list" && i.Header.Type != "text":
		return "", newError(131009, "Param interactive['header']['type'] must be text for list messages.")
	case i.Action == nil:
		return "", newError(131008, "The parameter interactive['action'] is required.")
	}
	a := i.Action
	switch i.Type {
	case "button":
		if len(a.Buttons) < 1 || len(a.Buttons) > 3 {
			return "", newError(131009, "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
		}
		titles, ids := map[string]bool{}, map[string]bool{}
		for _, b := range a.Buttons {
			switch {
			case b.Reply == nil:
				return "", newError(131008, "The parameter interactive['action']['buttons'][]['reply'] is required.")
			case b.Reply.Title == "" || tooLong(b.Reply.Title, 20):
				return "", newError(131009, "Button title length invalid. Min length: 1, Max length: 20")
			case b.Reply.ID == "" || tooLong(b.Reply.ID, 256):
				return "", newError(131009, "Button id length invalid. Min length: 1, Max length: 256")
			case titles[b.Reply.Title]:
				return "", newError(131009, "Button title is not unique.")
			case ids[b.Reply.ID]:
				return "", newError(131009, "Button id is not unique.")
			}
			titles[b.Reply.Title], ids[b.Reply.ID] = true, true
		}
	case "list":
		if a.Button == "" || tooLong(a.Button, 20) {
			return "", newError(131009, "Button label length invalid. Min length: 1, Max length: 20")
		}
		if len(a.Sections) < 1 || len(a.Sections) > 10 {
			return "", newError(131009, "Invalid sections count. Min allowed sections: 1, Max allowed sections: 10")
		}
		rows, ids := 0, map[string]bool{}
		for _, sec := range a.Sections {
			if len(a.Sections) > 1 && sec.Title == "" {
				return "", newError(131009, "Section title is required when there is more than one section.")
			}
			if tooLong(sec.Title, 24) {
				return "", newError(131009, "Section title length invalid. Max length: 24")
			}
			for _, r := range sec.Rows {
				rows++
				switch {
				case r.ID == "" || tooLong(r.ID, 200):
					return "", newError(131009, "Row id length invalid. Min length: 1, Max length: 200")
				case r.Title == "" || tooLong(r.Title, 24):
					return "", newError(131009, "Row title length invalid. Min length: 1, Max length: 24")
				case tooLong(r.Description, 72):
					return "", newError(131009, "Row description length invalid. Max length: 72")
				case ids[r.ID]:
					return "", newError(131009, "Row id is not unique.")
				}
				ids[r.ID] = true
			}
		}
		if rows < 1 || rows > 10 {
			return "", newError(131009, "Total row count must be between 1 and 10.")
		}
	case "cta_url":
		p := a.Parameters
		switch {
		case a.Name != "cta_url":
			return "", newError(131009, "Param interactive['action']['name'] must be cta_url.")
		case p == nil:
			return "", newError(131008, "The parameter interactive['action']['parameters'] is required.")
		case p.DisplayText == "" || tooLong(p.DisplayText, 20):
			return "", newError(131009, "Display text length invalid. Min length: 1, Max length: 20")
		case !isHTTPURL(p.URL):
			return "", newError(131009, "Param interactive['action']['parameters']['url'] is not a valid URI.")
		}
	case "flow":
		p := a.Parameters
		switch {
		case a.Name != "flow":
			return "", newError(131009, "Param interactive['action']['name'] must be flow.")
		case p == nil:
			return "", newError(131008, "The parameter interactive['action']['parameters'] is required.")
		case p.FlowMessageVersion == nil:
			return "", newError(131008, "The parameter interactive['action']['parameters']['flow_message_version'] is required.")
		case p.FlowID == "" && p.FlowName == "":
			return "", newError(131008, "The parameter interactive['action']['parameters']['flow_id'] is required.")
		case p.FlowCTA == "" || tooLong(p.FlowCTA, 30):
			return "", newError(131009, "Flow CTA length invalid. Min length: 1, Max length: 30")
		}
	case "location_request_message":
		if a.Name != "send_location" {
			return "", newError(131009, "Param interactive['action']['name'] must be send_location.")
		}
	}
	return body, nil
}

// tooLong reports whether s has more than n characters, as Meta counts.
func tooLong(s string, n int) bool {
	return len(s) > n && utf8.RuneCountInString(s) > n
}

func isHTTPURL(s string) bool {
	return len(s) > 8 && (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"))
}

// recipientKey normalises a send's recipient. A phone number (in "to",
// with any "+", spaces, dashes, dots or parentheses) becomes its digits, its
// wa_id; a BSUID (in "recipient", or in "to") is kept as is. "to" wins when
// both are set. key is "" when the recipient is malformed.
func recipientKey(to, recipient string) (key, waID, bsuid string) {
	if to != "" {
		if isBSUID(to) {
			return to, "", to
		}
		d := phoneDigits(to)
		return d, d, ""
	}
	if recipient != "" && isBSUID(recipient) {
		return recipient, "", recipient
	}
	return "", "", ""
}

// phoneDigits returns the digits of a phone number, or "" when it has
// other characters than digits and separators or too few or many digits.
func phoneDigits(s string) string {
	var buf [32]byte
	d := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(d) == cap(d) {
				return ""
			}
			d = append(d, c)
		case c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return ""
		}
	}
	if len(d) < 5 || len(d) > 15 {
		return ""
	}
	if len(d) == len(s) {
		return s
	}
	return string(d)
}

// isBSUID reports whether s looks like a business-scoped user id:
// "US.13491208655302741918", a country code, a dot, then letters, digits
// and dots.
func isBSUID(s string) bool {
	if len(s) < 4 || len(s) > 160 || s[2] != '.' {
		return false
	}
	for i := 0; i < 2; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	for i := 3; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.') {
			return false
		}
	}
	return true
}

// newWAMID returns a fresh message id shaped like Meta's: "wamid." and the
// base64 of a small protobuf holding the user's number and a unique id
// (18 hex digits for messages sent, 20 for messages received).
func (s *Sim) newWAMID(user string, inbound bool) string {
	id := s.seq.Add(1)
	if len(user) > 200 {
		user = user[:200]
	}
	var buf [256]byte
	b := append(buf[:0], 0x1c, 0x18, byte(len(user)))
	b = append(b, user...)
	if inbound {
		b = append(b, 0x15, 0x02, 0x00, 0x12, 0x18, 0x14)
		b = appendHexUpper(b, s.idBase>>32, 8)
	} else {
		b = append(b, 0x15, 0x02, 0x00, 0x11, 0x18, 0x12)
		b = appendHexUpper(b, s.idBase>>40, 6)
	}
	b = appendHexUpper(b, id, 12)
	b = append(b, 0)
	out := make([]byte, 6+base64.StdEncoding.EncodedLen(len(b)))
	copy(out, "wamid.")
	base64.StdEncoding.Encode(out[6:], b)
	return string(out)
}

// appendHexUpper appends the low digits hex digits of v, upper case.
func appendHexUpper(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789ABCDEF"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[(v>>(4*uint(i)))&0xf])
	}
	return b
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
