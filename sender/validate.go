package sender

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidateBody checks a raw Graph API message body against Meta's content
// limits before it is sent, by decoding it into the typed structs of this
// package: the checks NewBody makes, for bodies built elsewhere (the
// commands of wa.outbound, the admin API). Lengths are counted in Unicode
// code points. The error is an *InvalidError (errors.Is ErrInvalid) that
// names the field and the limit.
//
// The recipient and messaging_product may be missing (a command body gets
// them from the sender, see CompleteBody); when present they are checked.
// A "to" phone number must start with "+". Message types and interactive
// types that this package does not model are refused, since they cannot be
// checked. Unknown keys are ignored.
func ValidateBody(data []byte) error {
	var b body
	if err := json.Unmarshal(data, &b); err != nil {
		return invalid("body", "is not a message body: "+err.Error())
	}
	return b.validate()
}

// check collects the first validation failure.
type check struct{ err error }

func (c *check) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

// plain returns the failure as a plain error, "<what> <field> <reason>",
// for the checks of management calls; nil without a failure.
func (c *check) plain(what string) error {
	ie, ok := c.err.(*InvalidError)
	if !ok {
		return nil
	}
	return errors.New(strings.TrimSpace(what + " " + ie.Field + " " + ie.Reason))
}

// need fails when s is empty.
func (c *check) need(field, s string) {
	if s == "" {
		c.fail(field, "is missing")
	}
}

// max fails when s has more than limit code points.
func (c *check) max(field, s string, limit int) {
	if n := utf8.RuneCountInString(s); n > limit {
		c.fail(field, "has %s characters; the limit is %s", thousands(n), thousands(limit))
	}
}

// text is need and max.
func (c *check) text(field, s string, limit int) {
	c.need(field, s)
	c.max(field, s, limit)
}

// link fails unless s is an absolute http(s) URL.
func (c *check) link(field, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.fail(field, "is not an http(s) URL")
	}
}

// media checks a media object: exactly one of id and link.
func (c *check) media(field, id, link string) {
	switch {
	case id == "" && link == "":
		c.fail(field, "needs an id or a link")
	case id != "" && link != "":
		c.fail(field, "has both an id and a link; give one")
	case link != "":
		c.link(field+".link", link)
	}
}

// oneOf fails unless s is one of want.
func (c *check) oneOf(field, s string, want ...string) {
	for _, w := range want {
		if s == w {
			return
		}
	}
	c.fail(field, "is %q; want one of %s", s, strings.Join(want, ", "))
}

// count fails when a list has no element or more than limit.
func (c *check) count(field, what string, n, limit int) {
	switch {
	case n == 0:
		c.fail(field, "is empty")
	case n > limit:
		c.fail(field, "has %d %s; the limit is %d", n, what, limit)
	}
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func (b *body) validate() error {
	c := &check{}
	if b.MessagingProduct != "" && b.MessagingProduct != "whatsapp" {
		c.fail("messaging_product", "is %q; want \"whatsapp\"", b.MessagingProduct)
	}
	if b.Status != "" {
		c.oneOf("status", b.Status, "read")
		c.need("message_id", b.MessageID)
		if b.TypingIndicator != nil {
			c.oneOf("typing_indicator.type", b.TypingIndicator.Type, "text")
		}
		return c.err
	}
	c.oneOf("recipient_type", orDefault(b.RecipientType, "individual"), "individual", "group")
	if b.To != "" && b.RecipientType != "group" {
		checkPhone(c, "to", b.To)
	}
	if b.Recipient != "" && (len(b.Recipient) > 256 || strings.ContainsAny(b.Recipient, " \t\r\n")) {
		c.fail("recipient", "%q is not a BSUID", b.Recipient)
	}
	if b.Context != nil {
		c.need("context.message_id", b.Context.MessageID)
	}
	c.max("biz_opaque_callback_data", b.BizOpaqueCallbackData, 512)

	objects := map[string]Message{}
	add := func(present bool, m Message) {
		if present {
			objects[m.MessageType()] = m
		}
	}
	add(b.Text != nil, b.Text)
	add(b.Image != nil, b.Image)
	add(b.Video != nil, b.Video)
	add(b.Audio != nil, b.Audio)
	add(b.Document != nil, b.Document)
	add(b.Sticker != nil, b.Sticker)
	add(b.Reaction != nil, b.Reaction)
	add(b.Location != nil, b.Location)
	add(b.Contacts != nil, b.Contacts)
	add(b.Interactive != nil, b.Interactive)
	add(b.Template != nil, b.Template)
	m, ok := objects[b.Type]
	switch {
	case b.Type == "":
		c.fail("type", "is missing")
	case !ok && !knownType(b.Type):
		c.fail("type", "is %q, a type wasp does not send", b.Type)
	case !ok:
		c.fail(b.Type, "is missing: the body's type is %q", b.Type)
	case len(objects) > 1:
		c.fail("type", "is %q but the body holds %d message objects; want one", b.Type, len(objects))
	default:
		switch m := m.(type) {
		case *Text:
			c.text("text.body", m.Body, 4096)
		case *Image:
			c.media("image", m.ID, m.Link)
			c.max("image.caption", m.Caption, 1024)
		case *Video:
			c.media("video", m.ID, m.Link)
			c.max("video.caption", m.Caption, 1024)
		case *Audio:
			c.media("audio", m.ID, m.Link)
		case *Document:
			c.media("document", m.ID, m.Link)
			c.max("document.caption", m.Caption, 1024)
		case *Sticker:
			c.media("sticker", m.ID, m.Link)
		case *Reaction:
			c.need("reaction.message_id", m.MessageID)
		case *Location:
			checkLocation(c, "location", m)
		case Contacts:
			checkContacts(c, m)
		case *Interactive:
			checkInteractive(c, m)
		case *Template:
			checkTemplate(c, m)
		}
	}
	return c.err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func knownType(t string) bool {
	switch t {
	case "text", "image", "video", "audio", "document", "sticker", "reaction", "location", "contacts", "interactive", "template":
		return true
	}
	return false
}

// checkPhone checks a "to" phone number: "+", then 6 to 15 digits, with
// the spaces, dashes and brackets Meta allows.
func checkPhone(c *check, field, phone string) {
	digits := 0
	for i, r := range phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
		default:
			c.fail(field, "is not a phone number")
			return
		}
	}
	switch {
	case !strings.HasPrefix(phone, "+"):
		c.fail(field, "has no leading \"+\" and country code (without them Meta prepends the business number's country code)")
	case digits < 6 || digits > 15:
		c.fail(field, "has %d digits; a phone number with its country code has 6 to 15", digits)
	}
}

func checkLocation(c *check, field string, l *Location) {
	if !(l.Latitude >= -90 && l.Latitude <= 90) {
		c.fail(field+".latitude", "is %v; want -90 to 90", float64(l.Latitude))
	}
	if !(l.Longitude >= -180 && l.Longitude <= 180) {
		c.fail(field+".longitude", "is %v; want -180 to 180", float64(l.Longitude))
	}
}

func checkContacts(c *check, cs Contacts) {
	c.count("contacts", "contacts", len(cs), 257)
	for i := range cs {
		n := &cs[i].Name
		p := fmt.Sprintf("contacts[%d]", i)
		c.need(p+".name.formatted_name", n.FormattedName)
		if n.FirstName == "" && n.LastName == "" && n.MiddleName == "" && n.Suffix == "" && n.Prefix == "" {
			c.fail(p+".name", "needs first_name, last_name, middle_name, suffix or prefix besides formatted_name")
		}
		if d := cs[i].Birthday; d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				c.fail(p+".birthday", "is %q; want YYYY-MM-DD", d)
			}
		}
	}
}

func checkInteractive(c *check, m *Interactive) {
	bodyLimit := 1024
	switch m.Type {
	case "button", "cta_url", "flow", "location_request_message":
	case "list":
		bodyLimit = 4096
	case "":
		c.fail("interactive.type", "is missing")
		return
	default:
		c.fail("interactive.type", "is %q; wasp sends button, list, cta_url, flow and location_request_message", m.Type)
		return
	}
	if m.Body == nil {
		c.fail("interactive.body", "is missing")
	} else {
		c.text("interactive.body.text", m.Body.Text, bodyLimit)
	}
	if m.Footer != nil {
		c.text("interactive.footer.text", m.Footer.Text, 60)
	}
	if h := m.Header; h != nil {
		switch h.Type {
		case "text":
			c.text("interactive.header.text", h.Text, 60)
		case "image", "video", "document":
			var id, link string
			switch {
			case h.Type == "image" && h.Image != nil:
				id, link = h.Image.ID, h.Image.Link
			case h.Type == "video" && h.Video != nil:
				id, link = h.Video.ID, h.Video.Link
			case h.Type == "document" && h.Document != nil:
				id, link = h.Document.ID, h.Document.Link
			default:
				c.fail("interactive.header."+h.Type, "is missing")
			}
			c.media("interactive.header."+h.Type, id, link)
		default:
			c.fail("interactive.header.type", "is %q; want text, image, video or document", h.Type)
		}
		if m.Type == "list" && h.Type != "text" {
			c.fail("interactive.header.type", "is %q; a list message takes a text header only", h.Type)
		}
	}
	a := &m.Action
	switch m.Type {
	case "button":
		c.count("interactive.action.buttons", "buttons", len(a.Buttons), 3)
		titles := map[string]bool{}
		for i, b := range a.Buttons {
			p := fmt.Sprintf("interactive.action.buttons[%d].reply", i)
			c.text(p+".id", b.ID, 256)
			c.text(p+".title", b.Title, 20)
			if titles[b.Title] {
				c.fail(p+".title", "%q is used twice; button titles must be unique", b.Title)
			}
			titles[b.Title] = true
		}
	case "list":
		c.text("interactive.action.button", a.Button, 20)
		c.count("interactive.action.sections", "sections", len(a.Sections), 10)
		rows := 0
		ids := map[string]bool{}
		for i, s := range a.Sections {
			p := fmt.Sprintf("interactive.action.sections[%d]", i)
			if len(a.Sections) > 1 {
				c.need(p+".title", s.Title)
			}
			c.max(p+".title", s.Title, 24)
			if len(s.Rows) == 0 {
				c.fail(p+".rows", "is empty")
			}
			for j, r := range s.Rows {
				rp := fmt.Sprintf("%s.rows[%d]", p, j)
				c.text(rp+".id", r.ID, 200)
				c.text(rp+".title", r.Title, 24)
				c.max(rp+".description", r.Description, 72)
				if ids[r.ID] {
					c.fail(rp+".id", "%q is used twice; row ids must be unique", r.ID)
				}
				ids[r.ID] = true
			}
			rows += len(s.Rows)
		}
		if rows > 10 {
			c.fail("interactive.action.sections", "have %d rows in all; the limit is 10", rows)
		}
	case "cta_url":
		c.oneOf("interactive.action.name", a.Name, "cta_url")
		if a.Parameters == nil {
			c.fail("interactive.action.parameters", "is missing")
			return
		}
		c.text("interactive.action.parameters.display_text", a.Parameters.DisplayText, 20)
		c.link("interactive.action.parameters.url", a.Parameters.URL)
	case "flow":
		c.oneOf("interactive.action.name", a.Name, "flow")
		p := a.Parameters
		if p == nil {
			c.fail("interactive.action.parameters", "is missing")
			return
		}
		const f = "interactive.action.parameters."
		c.need(f+"flow_message_version", p.FlowMessageVersion)
		if (p.FlowID == "") == (p.FlowName == "") {
			c.fail(f+"flow_id", "or flow_name is needed, and only one of them")
		}
		c.text(f+"flow_cta", p.FlowCTA, 30)
		c.oneOf(f+"mode", orDefault(p.Mode, "published"), "published", "draft")
		c.oneOf(f+"flow_action", orDefault(p.FlowAction, "navigate"), "navigate", "data_exchange")
		if pl := p.FlowActionPayload; pl != nil {
			if p.FlowAction == "data_exchange" {
				c.fail(f+"flow_action_payload", "is set; it goes with flow_action navigate only")
			}
			c.need(f+"flow_action_payload.screen", pl.Screen)
		}
	case "location_request_message":
		c.oneOf("interactive.action.name", a.Name, "send_location")
	}
}

// isName reports whether s is made of lowercase letters, digits and "_":
// the form of template names and named parameters.
func isName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

func checkTemplate(c *check, t *Template) {
	c.text("template.name", t.Name, 512)
	if t.Name != "" && !isName(t.Name) {
		c.fail("template.name", "%q is not a template name: lowercase letters, digits and _ only", t.Name)
	}
	c.need("template.language.code", t.Language.Code)
	if t.Language.Policy != "" {
		c.oneOf("template.language.policy", t.Language.Policy, "deterministic")
	}
	checkComponents(c, "template.components", t.Components)
}

func checkComponents(c *check, path string, comps []TemplateComponent) {
	for i := range comps {
		comp := &comps[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		switch strings.ToLower(comp.Type) {
		case "header", "body", "limited_time_offer":
		case "button":
			c.need(p+".sub_type", comp.SubType)
			if n, err := strconv.Atoi(string(comp.Index)); err != nil || n < 0 || n > 9 {
				c.fail(p+".index", "is %q; want the button's position, 0 to 9", comp.Index)
			}
		case "carousel":
			c.count(p+".cards", "cards", len(comp.Cards), 10)
			for j := range comp.Cards {
				checkComponents(c, fmt.Sprintf("%s.cards[%d].components", p, j), comp.Cards[j].Components)
			}
		default:
			c.fail(p+".type", "is %q; want header, body, button, carousel or limited_time_offer", comp.Type)
		}
		named := 0
		for j := range comp.Parameters {
			prm := &comp.Parameters[j]
			pp := fmt.Sprintf("%s.parameters[%d]", p, j)
			checkParameter(c, pp, prm)
			if prm.ParameterName != "" {
				named++
				if !isName(prm.ParameterName) {
					c.fail(pp+".parameter_name", "%q is not a parameter name: lowercase letters, digits and _ only", prm.ParameterName)
				}
			}
		}
		if named != 0 && named != len(comp.Parameters) {
			c.fail(p+".parameters", "mix named and positional parameters; a template uses one kind")
		}
	}
}

func checkParameter(c *check, p string, prm *Parameter) {
	missing := func(what string, present bool) bool {
		if !present {
			c.fail(p+"."+what, "is missing")
		}
		return present
	}
	switch prm.Type {
	case "text":
		c.need(p+".text", prm.Text)
	case "currency":
		if missing("currency", prm.Currency != nil) {
			c.need(p+".currency.fallback_value", prm.Currency.FallbackValue)
			if code := prm.Currency.Code; len(code) != 3 || strings.ToUpper(code) != code {
				c.fail(p+".currency.code", "is %q; want an ISO 4217 code such as USD", code)
			}
		}
	case "date_time":
		if missing("date_time", prm.DateTime != nil) {
			c.need(p+".date_time.fallback_value", prm.DateTime.FallbackValue)
		}
	case "image":
		if missing("image", prm.Image != nil) {
			c.media(p+".image", prm.Image.ID, prm.Image.Link)
		}
	case "video":
		if missing("video", prm.Video != nil) {
			c.media(p+".video", prm.Video.ID, prm.Video.Link)
		}
	case "document":
		if missing("document", prm.Document != nil) {
			c.media(p+".document", prm.Document.ID, prm.Document.Link)
		}
	case "location":
		if missing("location", prm.Location != nil) {
			checkLocation(c, p+".location", prm.Location)
		}
	case "payload":
		c.need(p+".payload", prm.Payload)
	case "coupon_code":
		c.need(p+".coupon_code", prm.CouponCode)
	case "action":
		missing("action", prm.Action != nil)
	case "limited_time_offer":
		missing("limited_time_offer", prm.LimitedTimeOffer != nil)
	case "product":
		if missing("product", prm.Product != nil) {
			c.need(p+".product.product_retailer_id", prm.Product.ProductRetailerID)
		}
	default:
		c.fail(p+".type", "is %q, not a template parameter type", prm.Type)
	}
}
