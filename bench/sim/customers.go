package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// InboundTypes are the kinds of inbound message customers send: the keys
// of Customers.Types and the typ of Inbound. Each is a message type of
// Meta's webhooks, or a variant of one with the fields that make it
// different (referral: a text from a click-to-WhatsApp ad; reply: a text
// quoting an earlier message; product_inquiry: a text about a catalog
// product; voice: a voice note; button: a tap on a template's quick-reply
// button).
var InboundTypes = []string{
	"text", "referral", "reply", "product_inquiry",
	"image", "video", "audio", "voice", "document", "sticker",
	"location", "contacts",
	"button_reply", "list_reply", "nfm_reply", "button",
	"reaction", "order", "system", "unsupported",
}

// maxUsers bounds Customers.Users: a user's phone is "1650" and 7 digits.
const maxUsers = 10_000_000

// customers generates the inbound messages of the simulated users.
type customers struct {
	s     *Sim
	cfg   Customers
	kinds []string
	cum   []float64 // cumulative weights of kinds
	turns []atomic.Int32
	rate  atomic.Uint64 // messages per second, as float64 bits (SetRate)
}

// followUp is a customer's answer to a message the bot sent them.
type followUp struct {
	user    int
	kind    string // text, button_reply, list_reply, nfm_reply or button
	id      string
	title   string
	desc    string
	payload string
	context string // the bot's wamid, set when the send is accepted
}

func newCustomers(s *Sim, cfg Customers) (*customers, error) {
	c := &customers{s: s, cfg: cfg, turns: make([]atomic.Int32, cfg.Users)}
	c.rate.Store(math.Float64bits(cfg.Rate))
	weights := cfg.Types
	if len(weights) == 0 {
		weights = map[string]float64{}
		for _, k := range InboundTypes {
			weights[k] = 1
		}
		weights["text"] = 10
	}
	names := make([]string, 0, len(weights))
	for k, w := range weights {
		if !contains(InboundTypes, k) {
			return nil, fmt.Errorf("Customers.Types has %q, not one of %s", k, strings.Join(InboundTypes, ", "))
		}
		if w < 0 {
			return nil, fmt.Errorf("Customers.Types[%q] is negative", k)
		}
		if w > 0 {
			names = append(names, k)
		}
	}
	if len(names) == 0 && cfg.Rate > 0 {
		return nil, errors.New("Customers.Types gives every type a zero weight")
	}
	sort.Strings(names)
	total := 0.0
	for _, k := range names {
		total += weights[k]
		c.kinds = append(c.kinds, k)
		c.cum = append(c.cum, total)
	}
	return c, nil
}

func (c *customers) reset() {
	for i := range c.turns {
		c.turns[i].Store(0)
	}
}

// run generates messages at the rate until done closes.
func (c *customers) run(done <-chan struct{}) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	budget := 0.0
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			rate := math.Float64frombits(c.rate.Load())
			if rate <= 0 {
				budget = 0
			}
			budget += rate * now.Sub(last).Seconds()
			last = now
			for ; budget >= 1; budget-- {
				i := rand.IntN(c.cfg.Users)
				k := c.kinds[sort.SearchFloat64s(c.cum, rand.Float64()*c.cum[len(c.cum)-1])]
				c.turns[i].Store(int32(c.cfg.Turns))
				in := c.s.newInbound(c.s.numberOf(i), c.user(i), k, nil)
				c.s.q.push(&event{due: c.s.now(), kind: evInbound, n: c.s.numberOf(i), in: in})
			}
		}
	}
}

// SetRate changes Customers.Rate, the inbound messages per second, from
// now on; load tests ramp and burst with it. It needs Customers.Rate or
// Customers.ReplyToBot set at New.
func (s *Sim) SetRate(rate float64) error {
	if s.cust == nil {
		return errors.New("cannot set the customers' rate: Customers.Rate and ReplyToBot were not set")
	}
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return fmt.Errorf("cannot set the customers' rate: %v is not a rate", rate)
	}
	s.cust.rate.Store(math.Float64bits(rate))
	return nil
}

// numberOf is the business number user i writes to.
func (s *Sim) numberOf(i int) *number { return s.order[i%len(s.order)] }

// user is a WhatsApp user's identity. Phone is what webhooks show (empty
// for username users, whose phone Meta withholds); realPhone is their
// number all the same.
type user struct {
	phone, realPhone, bsuid, parent, name, username string
}

var profileNames = []string{"Sheena Nelson", "Ana Lima", "José Pérez", "Priya Shah", "Li Wei", "Fatima Zahra", "Tom Becker", "Aiko Tanaka", "Chidi Okafor", "Marta Nowak"}

// user returns the identity of simulated user i: one in ten is a username
// user (BSUID only), three in ten have a phone and a BSUID, the rest only
// a phone.
func (c *customers) user(i int) user {
	u := user{realPhone: fmt.Sprintf("1650%07d", i), name: profileNames[i%len(profileNames)]}
	switch k := i % 10; {
	case k == 9:
		u.bsuid = fmt.Sprintf("US.10000%015d", i)
		u.parent = fmt.Sprintf("US.ENT.10000%015d", i)
		u.username = fmt.Sprintf("user%d", i)
	case k >= 6:
		u.phone = u.realPhone
		u.bsuid = fmt.Sprintf("US.10000%015d", i)
		if k == 6 {
			u.parent = fmt.Sprintf("US.ENT.10000%015d", i)
		}
	default:
		u.phone = u.realPhone
	}
	return u
}

// userOf returns the simulated user a recipient key (phone digits or
// BSUID) names.
func (c *customers) userOf(key string) (int, bool) {
	var digits string
	switch {
	case strings.HasPrefix(key, "1650") && len(key) == 11:
		digits = key[4:]
	case strings.HasPrefix(key, "US.10000") && len(key) == 23:
		digits = key[8:]
	default:
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	if err != nil || i < 0 || i >= c.cfg.Users {
		return 0, false
	}
	if key[0] == 'U' && c.user(i).bsuid != key {
		return 0, false
	}
	return i, true
}

// phoneOf returns the phone a status webhook shows for a BSUID recipient:
// the user's phone unless Meta withholds it.
func (c *customers) phoneOf(bsuid string) string {
	if i, ok := c.userOf(bsuid); ok {
		return c.user(i).phone
	}
	return ""
}

// followUpFor decides the customer's answer to a message the bot sends to
// key, or returns nil: the recipient is not a simulated user, or their
// conversation has no turn left.
func (c *customers) followUpFor(key string, m *sendBody) *followUp {
	i, ok := c.userOf(key)
	if !ok {
		return nil
	}
	for {
		t := c.turns[i].Load()
		if t <= 0 {
			return nil
		}
		if c.turns[i].CompareAndSwap(t, t-1) {
			break
		}
	}
	fu := &followUp{user: i, kind: "text"}
	switch {
	case m.Interactive != nil && m.Interactive.Type == "button":
		b := m.Interactive.Action.Buttons[rand.IntN(len(m.Interactive.Action.Buttons))].Reply
		fu.kind, fu.id, fu.title = "button_reply", b.ID, b.Title
	case m.Interactive != nil && m.Interactive.Type == "list":
		var rows []struct{ id, title, desc string }
		for _, s := range m.Interactive.Action.Sections {
			for _, r := range s.Rows {
				rows = append(rows, struct{ id, title, desc string }{r.ID, r.Title, r.Description})
			}
		}
		r := rows[rand.IntN(len(rows))]
		fu.kind, fu.id, fu.title, fu.desc = "list_reply", r.id, r.title, r.desc
	case m.Interactive != nil && m.Interactive.Type == "flow":
		fu.kind = "nfm_reply"
	case m.Template != nil:
		for _, comp := range m.Template.Components {
			if strings.EqualFold(comp.SubType, "quick_reply") {
				for _, p := range comp.Parameters {
					if p.Payload != "" {
						fu.kind, fu.payload, fu.title = "button", p.Payload, "Yes"
					}
				}
			}
		}
	}
	return fu
}

// followUpMessage builds the customer's answer when it is due.
func (c *customers) followUpMessage(fu *followUp) *inbound {
	c.s.stats.followUps.Add(1)
	return c.s.newInbound(c.s.numberOf(fu.user), c.user(fu.user), fu.kind, fu)
}

// Inbound makes user (a phone number, a BSUID, or a simulated user's
// phone) send a message of type typ (one of InboundTypes) to the number
// phoneNumberID, as a customer would: the message is queued for delivery
// as a webhook at once and opens the user's window. It returns the
// message's wamid. It needs Webhook.URL.
func (s *Sim) Inbound(phoneNumberID, userKey, typ string) (string, error) {
	n := s.numbers[phoneNumberID]
	switch {
	case n == nil:
		return "", fmt.Errorf("cannot generate an inbound message: no number %q", phoneNumberID)
	case s.q == nil:
		return "", errors.New("cannot generate an inbound message: Webhook.URL is not set")
	case !contains(InboundTypes, typ):
		return "", fmt.Errorf("cannot generate an inbound message: type %q is not one of %s", typ, strings.Join(InboundTypes, ", "))
	}
	key, waID, bsuid := recipientKey(userKey, "")
	if key == "" {
		return "", fmt.Errorf("cannot generate an inbound message: %q is neither a phone number nor a BSUID", userKey)
	}
	u := user{phone: waID, realPhone: waID, bsuid: bsuid, name: "Test User"}
	if s.cust != nil {
		if i, ok := s.cust.userOf(key); ok {
			u = s.cust.user(i)
			s.cust.turns[i].Store(int32(s.cfg.Customers.Turns))
		}
	}
	in := s.newInbound(n, u, typ, nil)
	s.q.push(&event{due: s.now(), kind: evInbound, n: n, in: in})
	return in.wamid, nil
}

// newInbound builds an inbound message of kind from u to n, opens u's
// window and counts it. fu is set for a follow-up, whose context quotes
// the bot's message.
func (s *Sim) newInbound(n *number, u user, kind string, fu *followUp) *inbound {
	now := s.now()
	m := inMessage{
		From:      u.phone,
		ID:        s.newWAMID(firstNonEmpty(u.phone, u.bsuid), true),
		Timestamp: strconv.FormatInt(s.unix(now), 10),
		Type:      kind,
	}
	if u.bsuid != "" {
		m.FromUserID = u.bsuid
	}
	display := n.cfg.DisplayPhoneNumber
	quoted := func() *inContext {
		if fu != nil {
			return &inContext{From: display, ID: fu.context}
		}
		return &inContext{From: display, ID: s.newWAMID(firstNonEmpty(u.realPhone, u.bsuid), false)}
	}
	pick := func(list []string) string { return list[rand.IntN(len(list))] }
	switch kind {
	case "text":
		m.Text = &inText{Body: pick(texts)}
		if fu != nil {
			m.Context = quoted()
			m.Text.Body = pick(followUpTexts)
		}
	case "referral":
		m.Type = "text"
		m.Text = &inText{Body: "Can I get more info about this?"}
		m.Referral = &inReferral{
			SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120226305854810726", SourceType: "ad",
			Body: "Summer Succulents are here!", Headline: "Chat with us", MediaType: "image",
			ImageURL: "https://scontent.xx.fbcdn.net/v/t45.1...", CtwaClid: "Aff-" + strconv.FormatUint(rand.Uint64(), 36),
			WelcomeMessage: &inWelcome{Text: "Hi there! Let us know how we can help!"},
		}
	case "reply":
		m.Type = "text"
		m.Context = quoted()
		m.Text = &inText{Body: pick(followUpTexts)}
	case "product_inquiry":
		m.Type = "text"
		m.Context = quoted()
		m.Context.ReferredProduct = &inProduct{CatalogID: "194836987003835", ProductRetailerID: "di9ozbzfi4"}
		m.Text = &inText{Body: "Is this still available?"}
	case "image":
		m.Image = s.inMedia(0, "Taj Mahal", "")
	case "video":
		m.Video = s.inMedia(1, "Look at this", "")
	case "audio", "voice":
		m.Type = "audio"
		m.Audio = s.inMedia(2, "", "")
		voice := kind == "voice"
		m.Audio.Voice = &voice
	case "document":
		m.Document = s.inMedia(4, "invoice", "invoice.pdf")
		if rand.IntN(3) == 0 {
			m.Context = &inContext{Forwarded: true}
		}
	case "sticker":
		m.Sticker = s.inMedia(5, "", "")
		animated := rand.IntN(2) == 0
		m.Sticker.Animated = &animated
		m.Sticker.MimeType = "image/webp"
	case "location":
		m.Location = &inLocation{
			Latitude: 37.4611978, Longitude: -122.2164385, Name: "Facebook HQ",
			Address: "1 Hacker Way, Menlo Park, CA 94025", URL: "https://maps.google.com/?cid=2000000000000000000",
		}
	case "contacts":
		m.Contacts = []inCard{{
			Name:   inCardName{FirstName: "Chandler", LastName: "Bing", FormattedName: "Chandler Bing"},
			Phones: []inCardPhone{{Phone: "+1 555-555-5555", WaID: "15555555555", Type: "CELL"}},
		}}
	case "button_reply", "list_reply", "nfm_reply":
		m.Type = "interactive"
		m.Context = quoted()
		i := &inInteractive{Type: kind}
		switch kind {
		case "button_reply":
			i.ButtonReply = &inReply{ID: "cancel-button", Title: "Cancel"}
			if fu != nil {
				i.ButtonReply = &inReply{ID: fu.id, Title: fu.title}
			}
		case "list_reply":
			i.ListReply = &inReply{ID: "priority_express", Title: "Priority Mail Express", Description: "Next Day to 2 Days"}
			if fu != nil {
				i.ListReply = &inReply{ID: fu.id, Title: fu.title, Description: fu.desc}
			}
		case "nfm_reply":
			i.NfmReply = &inNfm{
				ResponseJSON: `{"flow_token":"` + strconv.FormatUint(rand.Uint64(), 36) + `","delivery_rating":"4","comment_text":"Fast"}`,
				Body:         "Sent", Name: "flow",
			}
		}
		m.Interactive = i
	case "button":
		m.Context = quoted()
		m.Button = &inButton{Payload: "callback_data", Text: "Yes"}
		if fu != nil {
			m.Button = &inButton{Payload: fu.payload, Text: fu.title}
		}
	case "reaction":
		emoji := pick([]string{"😮", "👍", "❤️", "🙏", ""})
		m.Reaction = &inReaction{MessageID: s.newWAMID(firstNonEmpty(u.realPhone, u.bsuid), false), Emoji: emoji}
	case "order":
		m.Order = &inOrder{CatalogID: "354160437058781", Text: "", Items: []inItem{
			{ProductRetailerID: "HAMBURGER", Quantity: 3, ItemPrice: 30, Currency: "ILS"},
			{ProductRetailerID: "SODA", Quantity: 2, ItemPrice: 10, Currency: "ILS"},
		}}
	case "system":
		if u.phone != "" {
			m.System = &inSystem{Body: "User A changed from " + u.phone + " to " + u.phone, WaID: u.phone, Type: "user_changed_number"}
		} else {
			m.System = &inSystem{Body: "User A changed their user ID", UserID: u.bsuid, ParentUserID: u.parent, Type: "user_changed_user_id"}
		}
	case "unsupported":
		m.Errors = []inError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			ErrorData: inErrorData{Details: "Message type is currently not supported."}}}
		// A poll, which the customer expects an answer to; the edits,
		// pins and votes that arrive the same way go unanswered.
		m.Unsupported = &inUnsupported{Type: "poll_creation"}
	}
	in := &inbound{typ: kind, wamid: m.ID}
	b, _ := json.Marshal(&m)
	in.msg = escapeNonASCII(b)
	if kind != "system" {
		c := inContact{WaID: u.phone, UserID: u.bsuid, ParentUserID: u.parent}
		c.Profile.Name, c.Profile.Username = u.name, u.username
		b, _ = json.Marshal(&c)
		in.contact = escapeNonASCII(b)
	}

	n.mu.Lock()
	n.inbound++
	if u.realPhone != "" {
		n.windows[u.realPhone] = now
	}
	if u.bsuid != "" {
		n.windows[u.bsuid] = now
	}
	n.mu.Unlock()
	s.stats.countInbound(kind)
	return in
}

// inMedia builds the media object of an inbound message; its file is
// downloadable like Meta's.
func (s *Sim) inMedia(kind int, caption, filename string) *inMediaObject {
	id := s.inboundMediaID(kind)
	m := inboundMedia(id)
	o := &inMediaObject{Caption: caption, Filename: filename, MimeType: m.mime, SHA256: sha256Base64(m.data), ID: id}
	if base := s.URL(); base != "" {
		o.URL = s.mediaURL(strings.TrimPrefix(base, "http://"), m)
	}
	return o
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var texts = []string{
	"Does it come in another color?",
	"Hola, ¿tienen envío a domicilio? 🚚",
	"What are your opening hours?",
	"I want to track my order \"#4512\"",
	"Bonjour, je voudrais annuler ma réservation",
	"Can I pay on delivery?",
	"मुझे मदद चाहिए",
	"Hi!\nI have two questions:\n1) price\n2) stock",
}

var followUpTexts = []string{"Thanks!", "Can you tell me more?", "ok", "Perfect, see you then 👍", "No, that's not what I asked"}

// The shapes of inbound webhook messages, in Meta's key order.
type (
	inMessage struct {
		Context     *inContext     `json:"context,omitempty"`
		Referral    *inReferral    `json:"referral,omitempty"`
		From        string         `json:"from,omitempty"`
		FromUserID  string         `json:"from_user_id,omitempty"`
		ID          string         `json:"id"`
		Timestamp   string         `json:"timestamp"`
		Errors      []inError      `json:"errors,omitempty"`
		Type        string         `json:"type"`
		Text        *inText        `json:"text,omitempty"`
		Image       *inMediaObject `json:"image,omitempty"`
		Video       *inMediaObject `json:"video,omitempty"`
		Audio       *inMediaObject `json:"audio,omitempty"`
		Document    *inMediaObject `json:"document,omitempty"`
		Sticker     *inMediaObject `json:"sticker,omitempty"`
		Location    *inLocation    `json:"location,omitempty"`
		Contacts    []inCard       `json:"contacts,omitempty"`
		Interactive *inInteractive `json:"interactive,omitempty"`
		Button      *inButton      `json:"button,omitempty"`
		Reaction    *inReaction    `json:"reaction,omitempty"`
		Order       *inOrder       `json:"order,omitempty"`
		System      *inSystem      `json:"system,omitempty"`
		Unsupported *inUnsupported `json:"unsupported,omitempty"`
	}
	inContext struct {
		Forwarded       bool       `json:"forwarded,omitempty"`
		From            string     `json:"from,omitempty"`
		ID              string     `json:"id,omitempty"`
		ReferredProduct *inProduct `json:"referred_product,omitempty"`
	}
	inProduct struct {
		CatalogID         string `json:"catalog_id"`
		ProductRetailerID string `json:"product_retailer_id"`
	}
	inReferral struct {
		SourceURL      string     `json:"source_url"`
		SourceID       string     `json:"source_id"`
		SourceType     string     `json:"source_type"`
		Body           string     `json:"body"`
		Headline       string     `json:"headline"`
		MediaType      string     `json:"media_type"`
		ImageURL       string     `json:"image_url"`
		CtwaClid       string     `json:"ctwa_clid"`
		WelcomeMessage *inWelcome `json:"welcome_message,omitempty"`
	}
	inWelcome struct {
		Text string `json:"text"`
	}
	inText struct {
		Body string `json:"body"`
	}
	inMediaObject struct {
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
		ID       string `json:"id"`
		URL      string `json:"url,omitempty"`
		Voice    *bool  `json:"voice,omitempty"`
		Animated *bool  `json:"animated,omitempty"`
	}
	inLocation struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name,omitempty"`
		Address   string  `json:"address,omitempty"`
		URL       string  `json:"url,omitempty"`
	}
	inCard struct {
		Name   inCardName    `json:"name"`
		Phones []inCardPhone `json:"phones"`
	}
	inCardName struct {
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name,omitempty"`
		FormattedName string `json:"formatted_name"`
	}
	inCardPhone struct {
		Phone string `json:"phone"`
		WaID  string `json:"wa_id,omitempty"`
		Type  string `json:"type"`
	}
	inInteractive struct {
		Type        string   `json:"type"`
		ButtonReply *inReply `json:"button_reply,omitempty"`
		ListReply   *inReply `json:"list_reply,omitempty"`
		NfmReply    *inNfm   `json:"nfm_reply,omitempty"`
	}
	inReply struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	}
	inNfm struct {
		ResponseJSON string `json:"response_json"`
		Body         string `json:"body"`
		Name         string `json:"name"`
	}
	inButton struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	}
	inReaction struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	}
	inOrder struct {
		CatalogID string   `json:"catalog_id"`
		Text      string   `json:"text"`
		Items     []inItem `json:"product_items"`
	}
	inItem struct {
		ProductRetailerID string  `json:"product_retailer_id"`
		Quantity          int     `json:"quantity"`
		ItemPrice         float64 `json:"item_price"`
		Currency          string  `json:"currency"`
	}
	inSystem struct {
		Body         string `json:"body"`
		WaID         string `json:"wa_id,omitempty"`
		UserID       string `json:"user_id,omitempty"`
		ParentUserID string `json:"parent_user_id,omitempty"`
		Type         string `json:"type"`
	}
	inUnsupported struct {
		Type string `json:"type"`
	}
	inError struct {
		Code      int         `json:"code"`
		Title     string      `json:"title"`
		Message   string      `json:"message"`
		ErrorData inErrorData `json:"error_data"`
	}
	inErrorData struct {
		Details string `json:"details"`
	}
	inContact struct {
		Profile struct {
			Name     string `json:"name"`
			Username string `json:"username,omitempty"`
		} `json:"profile"`
		WaID         string `json:"wa_id,omitempty"`
		UserID       string `json:"user_id,omitempty"`
		ParentUserID string `json:"parent_user_id,omitempty"`
	}
)
