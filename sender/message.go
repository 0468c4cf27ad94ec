package sender

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"wasp/schemas"
)

// Message is the content of a message to send: one of *Text, *Image,
// *Video, *Audio, *Document, *Sticker, *Reaction, *Location, Contacts,
// *Interactive or *Template. The types mirror the Graph API's JSON, so a
// body decodes into them as well (see ValidateBody).
type Message interface {
	// MessageType is the body's "type": "text", "image", …,
	// "interactive", "template".
	MessageType() string
	// put stores the message in its field of the body.
	put(b *body)
}

// Recipient is who a message goes to. Set Phone or BSUID; when both are
// set Phone is used, as Meta does (and as schemas.SendCommand does).
type Recipient struct {
	// Phone is the phone number with its country code, as a wa_id
	// ("16505551234") or already with "+". The body always carries the "+":
	// without it Meta prepends the business number's country code, which
	// sends the message to someone else.
	Phone string
	// BSUID is the business-scoped user id ("US.13491208655302741918"),
	// sent as "recipient".
	BSUID string
}

// BodyOptions are the optional parts of a message body.
type BodyOptions struct {
	// ReplyTo is the wamid the message quotes (context.message_id).
	ReplyTo string
	// CallbackData is biz_opaque_callback_data: Meta echoes it in the
	// status webhooks of this message (see schemas.Callback). At most 512
	// characters.
	CallbackData string
}

// NewBody returns the Graph API body that sends m to to: validated (see
// ValidateBody), then marshalled.
func NewBody(to Recipient, m Message, opts BodyOptions) ([]byte, error) {
	if m == nil {
		return nil, invalid("type", "is missing: no message given")
	}
	b := body{MessagingProduct: "whatsapp", RecipientType: "individual", Type: m.MessageType(), BizOpaqueCallbackData: opts.CallbackData}
	if to.Phone != "" {
		b.To = withPlus(to.Phone)
	} else {
		b.Recipient = to.BSUID
	}
	if b.To == "" && b.Recipient == "" {
		return nil, invalid("to", "is missing: the recipient has neither a phone number nor a BSUID")
	}
	if opts.ReplyTo != "" {
		b.Context = &ReplyContext{MessageID: opts.ReplyTo}
	}
	m.put(&b)
	if err := b.validate(); err != nil {
		return nil, err
	}
	return schemas.Marshal(&b)
}

// MarkRead returns the body that marks the message wamid as read (and the
// earlier ones with it), with the typing indicator when typing is true:
// the user sees "typing…" until the reply or for 25 s. Send it like any
// body; Meta answers {"success":true}.
func MarkRead(wamid string, typing bool) []byte {
	b := body{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid}
	if typing {
		b.TypingIndicator = &TypingIndicator{Type: "text"}
	}
	out, _ := schemas.Marshal(&b) // cannot fail: strings only
	return out
}

// CompleteBody returns msg, a message body without its recipient (as
// schemas.SendCommand.Message holds it), with messaging_product, the
// recipient and opts set, validated. Every other key of msg is kept as it
// is. A mark-as-read body gets no recipient.
func CompleteBody(msg []byte, to Recipient, opts BodyOptions) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil || m == nil {
		return nil, invalid("body", "is not a JSON object")
	}
	m["messaging_product"] = json.RawMessage(`"whatsapp"`)
	if _, read := m["status"]; !read {
		delete(m, "to")
		delete(m, "recipient")
		if _, ok := m["recipient_type"]; !ok {
			m["recipient_type"] = json.RawMessage(`"individual"`)
		}
		switch {
		case to.Phone != "":
			m["to"] = quote(withPlus(to.Phone))
		case to.BSUID != "":
			m["recipient"] = quote(to.BSUID)
		default:
			return nil, invalid("to", "is missing: the recipient has neither a phone number nor a BSUID")
		}
		if opts.ReplyTo != "" {
			m["context"], _ = json.Marshal(ReplyContext{MessageID: opts.ReplyTo})
		}
		if opts.CallbackData != "" {
			m["biz_opaque_callback_data"] = quote(opts.CallbackData)
		}
	}
	out, err := schemas.Marshal(m)
	if err != nil {
		return nil, invalid("body", "cannot be encoded: "+err.Error())
	}
	if err := ValidateBody(out); err != nil {
		return nil, err
	}
	return out, nil
}

// withPlus returns a phone number with the leading "+".
func withPlus(phone string) string {
	phone = strings.TrimSpace(phone)
	if strings.HasPrefix(phone, "+") {
		return phone
	}
	return "+" + phone
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// body is a whole Graph API message body, in both directions.
type body struct {
	MessagingProduct      string        `json:"messaging_product"`
	RecipientType         string        `json:"recipient_type,omitempty"`
	To                    string        `json:"to,omitempty"`
	Recipient             string        `json:"recipient,omitempty"`
	Context               *ReplyContext `json:"context,omitempty"`
	Type                  string        `json:"type,omitempty"`
	Text                  *Text         `json:"text,omitempty"`
	Image                 *Image        `json:"image,omitempty"`
	Video                 *Video        `json:"video,omitempty"`
	Audio                 *Audio        `json:"audio,omitempty"`
	Document              *Document     `json:"document,omitempty"`
	Sticker               *Sticker      `json:"sticker,omitempty"`
	Reaction              *Reaction     `json:"reaction,omitempty"`
	Location              *Location     `json:"location,omitempty"`
	Contacts              Contacts      `json:"contacts,omitempty"`
	Interactive           *Interactive  `json:"interactive,omitempty"`
	Template              *Template     `json:"template,omitempty"`
	BizOpaqueCallbackData string        `json:"biz_opaque_callback_data,omitempty"`

	// Mark as read.
	Status          string           `json:"status,omitempty"`
	MessageID       string           `json:"message_id,omitempty"`
	TypingIndicator *TypingIndicator `json:"typing_indicator,omitempty"`
}

// ReplyContext makes a message quote an earlier one.
type ReplyContext struct {
	MessageID string `json:"message_id"`
}

// TypingIndicator is the typing_indicator of a mark-as-read body.
type TypingIndicator struct {
	Type string `json:"type"`
}

// Text is a text message: Body up to 4,096 characters. With PreviewURL the
// first http(s) URL of the body gets a link preview.
type Text struct {
	PreviewURL bool   `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

// Image is an image by uploaded media ID or by Link (set one), with an
// optional caption (1,024 characters).
type Image struct {
	ID      string `json:"id,omitempty"`
	Link    string `json:"link,omitempty"`
	Caption string `json:"caption,omitempty"`
}

// Video is a video by ID or Link, with an optional caption.
type Video struct {
	ID      string `json:"id,omitempty"`
	Link    string `json:"link,omitempty"`
	Caption string `json:"caption,omitempty"`
}

// Audio is an audio file by ID or Link; Voice marks a voice note (OGG/Opus).
type Audio struct {
	ID    string `json:"id,omitempty"`
	Link  string `json:"link,omitempty"`
	Voice bool   `json:"voice,omitempty"`
}

// Document is a file by ID or Link, with an optional caption and the file
// name the user sees.
type Document struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// Sticker is a WebP sticker by ID or Link.
type Sticker struct {
	ID   string `json:"id,omitempty"`
	Link string `json:"link,omitempty"`
}

// Reaction puts Emoji on the message MessageID; an empty Emoji removes the
// reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Location is a point on the map, with an optional name and address.
type Location struct {
	Latitude  Coordinate `json:"latitude"`
	Longitude Coordinate `json:"longitude"`
	Name      string     `json:"name,omitempty"`
	Address   string     `json:"address,omitempty"`
}

// Coordinate is a latitude or longitude in degrees. It reads a JSON number
// or a string holding one (both appear in Meta's examples) and writes a
// number.
type Coordinate float64

// UnmarshalJSON reads a number or a numeric string.
func (c *Coordinate) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("cannot parse coordinate %s", data)
	}
	*c = Coordinate(f)
	return nil
}

// Contacts is a contacts message: one or more contact cards.
type Contacts []Contact

// Contact is a contact card. Name needs FormattedName and one more name
// field.
type Contact struct {
	Name      ContactName      `json:"name"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Org       *ContactOrg      `json:"org,omitempty"`
	// Birthday is "YYYY-MM-DD".
	Birthday string `json:"birthday,omitempty"`
}

// ContactName is the name of a contact card.
type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactPhone is a phone number of a contact card; Type is "CELL",
// "MAIN", "IPHONE", "HOME" or "WORK"; WaID makes the "Message" button.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	Type  string `json:"type,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
}

// ContactEmail is an email address of a contact card ("HOME", "WORK").
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactURL is a web address of a contact card ("HOME", "WORK").
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// ContactAddress is a postal address of a contact card.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ContactOrg is the organisation of a contact card.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// Interactive is an interactive message. Type is "button" (reply buttons),
// "list", "cta_url", "flow" or "location_request_message"; the NewButtons,
// NewList, NewCTAURL, NewFlow and NewLocationRequest functions fill it.
type Interactive struct {
	Type   string     `json:"type"`
	Header *Header    `json:"header,omitempty"`
	Body   *TextBlock `json:"body,omitempty"`
	Footer *TextBlock `json:"footer,omitempty"`
	Action Action     `json:"action"`
}

// TextBlock is the body or footer of an interactive message.
type TextBlock struct {
	Text string `json:"text"`
}

// Header is the header of an interactive message: Type "text" with Text
// (60 characters), or "image", "video" or "document" with that media.
type Header struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	Image    *Image    `json:"image,omitempty"`
	Video    *Video    `json:"video,omitempty"`
	Document *Document `json:"document,omitempty"`
}

// Action is the action of an interactive message: Buttons for "button";
// Button and Sections for "list"; Name and Parameters for "cta_url",
// "flow" and "location_request_message" (Name "send_location").
type Action struct {
	Name       string            `json:"name,omitempty"`
	Button     string            `json:"button,omitempty"`
	Buttons    []ReplyButton     `json:"buttons,omitempty"`
	Sections   []Section         `json:"sections,omitempty"`
	Parameters *ActionParameters `json:"parameters,omitempty"`
}

// ReplyButton is a quick-reply button: ID (256 characters) comes back in
// the reply webhook, Title (20 characters, unique in the message) is shown.
// It is written as {"type":"reply","reply":{"id","title"}}.
type ReplyButton struct {
	ID    string
	Title string
}

type replyButtonJSON struct {
	Type  string `json:"type"`
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

// MarshalJSON writes the button in Meta's shape.
func (b ReplyButton) MarshalJSON() ([]byte, error) {
	var j replyButtonJSON
	j.Type, j.Reply.ID, j.Reply.Title = "reply", b.ID, b.Title
	return json.Marshal(j)
}

// UnmarshalJSON reads a button of type "reply".
func (b *ReplyButton) UnmarshalJSON(data []byte) error {
	var j replyButtonJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	if j.Type != "reply" {
		return fmt.Errorf("cannot read button of type %q: want \"reply\"", j.Type)
	}
	b.ID, b.Title = j.Reply.ID, j.Reply.Title
	return nil
}

// Section is a section of a list message.
type Section struct {
	Title string `json:"title,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Row is a row of a list message: ID (200 characters) comes back in the
// reply webhook; Title (24) and Description (72) are shown.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// ActionParameters are the parameters of a "cta_url" action (DisplayText,
// URL) or of a "flow" action (the Flow fields).
type ActionParameters struct {
	DisplayText string `json:"display_text,omitempty"`
	URL         string `json:"url,omitempty"`

	FlowMessageVersion string             `json:"flow_message_version,omitempty"`
	FlowToken          string             `json:"flow_token,omitempty"`
	FlowID             string             `json:"flow_id,omitempty"`
	FlowName           string             `json:"flow_name,omitempty"`
	FlowCTA            string             `json:"flow_cta,omitempty"`
	Mode               string             `json:"mode,omitempty"`
	FlowAction         string             `json:"flow_action,omitempty"`
	FlowActionPayload  *FlowActionPayload `json:"flow_action_payload,omitempty"`
}

// FlowActionPayload is the first screen of a "navigate" flow and its data.
type FlowActionPayload struct {
	Screen string          `json:"screen"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// NewButtons returns a reply-buttons message (up to 3 buttons).
func NewButtons(body string, buttons ...ReplyButton) *Interactive {
	return &Interactive{Type: "button", Body: &TextBlock{body}, Action: Action{Buttons: buttons}}
}

// NewList returns a list message: button is the label of the button that
// opens the list; the sections hold up to 10 rows in all.
func NewList(body, button string, sections ...Section) *Interactive {
	return &Interactive{Type: "list", Body: &TextBlock{body}, Action: Action{Button: button, Sections: sections}}
}

// NewCTAURL returns a call-to-action message: a button labelled
// displayText that opens url.
func NewCTAURL(body, displayText, url string) *Interactive {
	return &Interactive{Type: "cta_url", Body: &TextBlock{body},
		Action: Action{Name: "cta_url", Parameters: &ActionParameters{DisplayText: displayText, URL: url}}}
}

// NewFlow returns a Flow message; p needs FlowCTA and FlowID or FlowName.
// FlowMessageVersion defaults to "3".
func NewFlow(body string, p ActionParameters) *Interactive {
	if p.FlowMessageVersion == "" {
		p.FlowMessageVersion = "3"
	}
	return &Interactive{Type: "flow", Body: &TextBlock{body}, Action: Action{Name: "flow", Parameters: &p}}
}

// NewLocationRequest returns a message asking the user to share their
// location; the answer arrives as a location message.
func NewLocationRequest(body string) *Interactive {
	return &Interactive{Type: "location_request_message", Body: &TextBlock{body}, Action: Action{Name: "send_location"}}
}

// WithHeader sets the header and returns m.
func (m *Interactive) WithHeader(h *Header) *Interactive { m.Header = h; return m }

// WithFooter sets the footer text and returns m.
func (m *Interactive) WithFooter(text string) *Interactive { m.Footer = &TextBlock{text}; return m }

// TextHeader returns a text header.
func TextHeader(text string) *Header { return &Header{Type: "text", Text: text} }

// ImageHeader returns an image header.
func ImageHeader(img Image) *Header { return &Header{Type: "image", Image: &img} }

// VideoHeader returns a video header.
func VideoHeader(v Video) *Header { return &Header{Type: "video", Video: &v} }

// DocumentHeader returns a document header.
func DocumentHeader(d Document) *Header { return &Header{Type: "document", Document: &d} }

// Template is a template message: an approved template Name in Language,
// with the values of its variables in Components.
type Template struct {
	Name       string              `json:"name"`
	Language   TemplateLanguage    `json:"language"`
	Components []TemplateComponent `json:"components,omitempty"`
}

// TemplateLanguage is the template's locale ("en_US"); Policy is
// "deterministic" or empty.
type TemplateLanguage struct {
	Code   string `json:"code"`
	Policy string `json:"policy,omitempty"`
}

// TemplateComponent holds the parameters of one part of a template: Type
// "header", "body" or "button" (with SubType — "quick_reply", "url",
// "copy_code", "flow", "catalog", … — and the button's Index), or
// "carousel" with Cards.
type TemplateComponent struct {
	Type       string         `json:"type"`
	SubType    string         `json:"sub_type,omitempty"`
	Index      ButtonIndex    `json:"index,omitempty"`
	Parameters []Parameter    `json:"parameters,omitempty"`
	Cards      []CarouselCard `json:"cards,omitempty"`
}

// ButtonIndex is the position of a template button, 0 to 9. It is written
// as a string ("0"), as in Meta's examples, and read from a string or a
// number.
type ButtonIndex string

// UnmarshalJSON reads a string or a number.
func (i *ButtonIndex) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*i = ButtonIndex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("cannot parse button index %s", data)
	}
	*i = ButtonIndex(n.String())
	return nil
}

// CarouselCard is one card of a carousel template, with the parameters of
// its own header, body and buttons.
type CarouselCard struct {
	CardIndex  int                 `json:"card_index"`
	Components []TemplateComponent `json:"components"`
}

// Parameter is the value of one template variable. Type names the field
// that holds it: "text" (Text), "currency", "date_time", "image", "video",
// "document", "location", "payload", "coupon_code", "action",
// "limited_time_offer" or "product". ParameterName names the variable of a
// template created with named parameters; leave it empty for positional
// ones.
type Parameter struct {
	Type             string            `json:"type"`
	ParameterName    string            `json:"parameter_name,omitempty"`
	Text             string            `json:"text,omitempty"`
	Currency         *Currency         `json:"currency,omitempty"`
	DateTime         *DateTime         `json:"date_time,omitempty"`
	Image            *Image            `json:"image,omitempty"`
	Video            *Video            `json:"video,omitempty"`
	Document         *Document         `json:"document,omitempty"`
	Location         *Location         `json:"location,omitempty"`
	Payload          string            `json:"payload,omitempty"`
	CouponCode       string            `json:"coupon_code,omitempty"`
	Action           *TemplateAction   `json:"action,omitempty"`
	LimitedTimeOffer *LimitedTimeOffer `json:"limited_time_offer,omitempty"`
	Product          *Product          `json:"product,omitempty"`
}

// Currency is a money amount: Amount1000 is the amount times 1,000 in the
// ISO 4217 Code; FallbackValue is shown where it cannot be localised.
type Currency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

// DateTime is a date shown as FallbackValue.
type DateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// TemplateAction is the value of a button's "action" parameter: a Flow
// button's token and data, or a catalog button's thumbnail product.
type TemplateAction struct {
	FlowToken                  string          `json:"flow_token,omitempty"`
	FlowActionData             json.RawMessage `json:"flow_action_data,omitempty"`
	ThumbnailProductRetailerID string          `json:"thumbnail_product_retailer_id,omitempty"`
}

// LimitedTimeOffer is the expiry of a limited-time-offer template, in Unix
// milliseconds.
type LimitedTimeOffer struct {
	ExpirationTimeMs int64 `json:"expiration_time_ms"`
}

// Product is a catalog product shown in a product template header.
type Product struct {
	ProductRetailerID string `json:"product_retailer_id"`
	CatalogID         string `json:"catalog_id,omitempty"`
}

// HeaderParams returns the header component of a template.
func HeaderParams(p ...Parameter) TemplateComponent {
	return TemplateComponent{Type: "header", Parameters: p}
}

// BodyParams returns the body component of a template.
func BodyParams(p ...Parameter) TemplateComponent {
	return TemplateComponent{Type: "body", Parameters: p}
}

// ButtonParams returns the component of the template button at index.
func ButtonParams(subType string, index int, p ...Parameter) TemplateComponent {
	return TemplateComponent{Type: "button", SubType: subType, Index: ButtonIndex(strconv.Itoa(index)), Parameters: p}
}

// TextParam returns a text parameter.
func TextParam(s string) Parameter { return Parameter{Type: "text", Text: s} }

// NamedTextParam returns a text parameter of a template with named
// parameters.
func NamedTextParam(name, s string) Parameter {
	return Parameter{Type: "text", ParameterName: name, Text: s}
}

// CurrencyParam returns a currency parameter.
func CurrencyParam(fallback, code string, amount1000 int64) Parameter {
	return Parameter{Type: "currency", Currency: &Currency{FallbackValue: fallback, Code: code, Amount1000: amount1000}}
}

// DateTimeParam returns a date_time parameter.
func DateTimeParam(fallback string) Parameter {
	return Parameter{Type: "date_time", DateTime: &DateTime{FallbackValue: fallback}}
}

// ImageParam returns an image parameter (for a media header).
func ImageParam(img Image) Parameter { return Parameter{Type: "image", Image: &img} }

// VideoParam returns a video parameter (for a media header).
func VideoParam(v Video) Parameter { return Parameter{Type: "video", Video: &v} }

// DocumentParam returns a document parameter (for a media header).
func DocumentParam(d Document) Parameter { return Parameter{Type: "document", Document: &d} }

// LocationParam returns a location parameter (for a location header).
func LocationParam(l Location) Parameter { return Parameter{Type: "location", Location: &l} }

// PayloadParam returns the payload of a quick-reply button.
func PayloadParam(payload string) Parameter { return Parameter{Type: "payload", Payload: payload} }

// CouponParam returns the code of a copy-code button.
func CouponParam(code string) Parameter { return Parameter{Type: "coupon_code", CouponCode: code} }

// ActionParam returns the action of a Flow or catalog button.
func ActionParam(a TemplateAction) Parameter { return Parameter{Type: "action", Action: &a} }

// MessageType returns "text".
func (*Text) MessageType() string { return "text" }

// MessageType returns "image".
func (*Image) MessageType() string { return "image" }

// MessageType returns "video".
func (*Video) MessageType() string { return "video" }

// MessageType returns "audio".
func (*Audio) MessageType() string { return "audio" }

// MessageType returns "document".
func (*Document) MessageType() string { return "document" }

// MessageType returns "sticker".
func (*Sticker) MessageType() string { return "sticker" }

// MessageType returns "reaction".
func (*Reaction) MessageType() string { return "reaction" }

// MessageType returns "location".
func (*Location) MessageType() string { return "location" }

// MessageType returns "contacts".
func (Contacts) MessageType() string { return "contacts" }

// MessageType returns "interactive".
func (*Interactive) MessageType() string { return "interactive" }

// MessageType returns "template".
func (*Template) MessageType() string { return "template" }

func (m *Text) put(b *body)        { b.Text = m }
func (m *Image) put(b *body)       { b.Image = m }
func (m *Video) put(b *body)       { b.Video = m }
func (m *Audio) put(b *body)       { b.Audio = m }
func (m *Document) put(b *body)    { b.Document = m }
func (m *Sticker) put(b *body)     { b.Sticker = m }
func (m *Reaction) put(b *body)    { b.Reaction = m }
func (m *Location) put(b *body)    { b.Location = m }
func (m Contacts) put(b *body)     { b.Contacts = m }
func (m *Interactive) put(b *body) { b.Interactive = m }
func (m *Template) put(b *body)    { b.Template = m }

// Interface guards.
var (
	_ Message = (*Text)(nil)
	_ Message = (*Image)(nil)
	_ Message = (*Video)(nil)
	_ Message = (*Audio)(nil)
	_ Message = (*Document)(nil)
	_ Message = (*Sticker)(nil)
	_ Message = (*Reaction)(nil)
	_ Message = (*Location)(nil)
	_ Message = Contacts(nil)
	_ Message = (*Interactive)(nil)
	_ Message = (*Template)(nil)
)
