package schemas

import (
	"encoding/json"
	"strings"
)

// MessagesValue is the value of a messages change: inbound messages with
// their senders, statuses of outbound messages, or errors that concern the
// whole phone number (no messages, no statuses).
type MessagesValue struct {
	MessagingProduct string    `json:"messaging_product,omitzero"` // "whatsapp"
	Metadata         Metadata  `json:"metadata,omitzero"`
	Contacts         []Contact `json:"contacts,omitzero"` // senders; absent on system messages
	Messages         []Message `json:"messages,omitzero"`
	Statuses         []Status  `json:"statuses,omitzero"`
	Errors           []Error   `json:"errors,omitzero"`
}

// Contact returns the contacts[] entry of the sender of m, matched on the
// BSUID and then on wa_id, or nil.
func (v *MessagesValue) Contact(m *Message) *Contact {
	for i := range v.Contacts {
		c := &v.Contacts[i]
		if m.FromUserID != "" && c.UserID == m.FromUserID || m.From != "" && c.WaID == m.From {
			return c
		}
	}
	return nil
}

// Metadata names the business phone number a change is about. Route on
// PhoneNumberID, the id messages are sent from.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number,omitzero"` // digits, no "+"
	PhoneNumberID      string `json:"phone_number_id,omitzero"`
}

// Contact is a WhatsApp user who sent a message. A user with a username may
// have no WaID; UserID, the business-scoped user id (BSUID, "US.1349…"), is
// the key to store users by.
type Contact struct {
	Profile         Profile `json:"profile,omitzero"`
	WaID            string  `json:"wa_id,omitzero"`
	UserID          string  `json:"user_id,omitzero"`        // BSUID
	ParentUserID    string  `json:"parent_user_id,omitzero"` // BSUID shared across portfolios
	IdentityKeyHash string  `json:"identity_key_hash,omitzero"`
}

// UserKey returns the BSUID when there is one, else the wa_id.
func (c *Contact) UserKey() string { return firstOf(c.UserID, c.WaID) }

// Profile is a user's public WhatsApp profile.
type Profile struct {
	Name     string `json:"name,omitzero"`
	Username string `json:"username,omitzero"`
}

// Message types: the values of Message.Type.
const (
	TypeText           = "text"
	TypeImage          = "image"
	TypeVideo          = "video"
	TypeAudio          = "audio"
	TypeDocument       = "document"
	TypeSticker        = "sticker"
	TypeLocation       = "location"
	TypeContacts       = "contacts"
	TypeInteractive    = "interactive"
	TypeButton         = "button" // a tap on a template's quick-reply button
	TypeReaction       = "reaction"
	TypeOrder          = "order"
	TypeSystem         = "system"
	TypeUnsupported    = "unsupported"
	TypeUnknown        = "unknown" // the former name of unsupported
	TypeEdit           = "edit"
	TypeRevoke         = "revoke"
	TypeRequestWelcome = "request_welcome" // the user opened the chat for the first time
)

// Message is one inbound message. The common fields come first; then the
// object named by Type is set, e.g. Image for type "image". TextBody holds the
// object of type "text" (the method Text returns the words of any type).
// Types without an object (request_welcome) or that this package does not
// know parse too: see Object.
type Message struct {
	From             string    `json:"from,omitzero"` // phone; absent for username users
	FromUserID       string    `json:"from_user_id,omitzero"`
	FromParentUserID string    `json:"from_parent_user_id,omitzero"`
	ID               string    `json:"id,omitzero"` // wamid: the dedup key
	Timestamp        Timestamp `json:"timestamp,omitzero"`
	Type             string    `json:"type,omitzero"`
	Context          *Context  `json:"context,omitzero"`  // reply, forward or product inquiry
	Referral         *Referral `json:"referral,omitzero"` // first message from a click-to-WhatsApp ad
	Identity         *Identity `json:"identity,omitzero"` // legacy customer_identity_changed
	Errors           []Error   `json:"errors,omitzero"`   // on unsupported messages

	TextBody    *Text         `json:"text,omitzero"`
	Image       *Media        `json:"image,omitzero"`
	Video       *Media        `json:"video,omitzero"`
	Audio       *Media        `json:"audio,omitzero"`
	Document    *Media        `json:"document,omitzero"`
	Sticker     *Media        `json:"sticker,omitzero"`
	Location    *Location     `json:"location,omitzero"`
	Contacts    []ContactCard `json:"contacts,omitzero"`
	Interactive *Interactive  `json:"interactive,omitzero"`
	Button      *Button       `json:"button,omitzero"`
	Reaction    *Reaction     `json:"reaction,omitzero"`
	Order       *Order        `json:"order,omitzero"`
	System      *System       `json:"system,omitzero"`
	Unsupported *Unsupported  `json:"unsupported,omitzero"`
	Edit        *Edit         `json:"edit,omitzero"`
	Revoke      *Revoke       `json:"revoke,omitzero"`

	Raw json.RawMessage `json:"-"` // the message exactly as received
}

// UnmarshalJSON reads a message and keeps a copy of data in Raw.
func (m *Message) UnmarshalJSON(data []byte) error {
	type message Message // without methods, so no recursion
	var v message
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*m = Message(v)
	m.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// UserKey returns the sender's BSUID (from_user_id) when there is one, else
// its phone (from). It is "" for a system message that carries neither; its
// System then names the user.
func (m *Message) UserKey() string { return firstOf(m.FromUserID, m.From) }

// Text returns the words of a message, whatever its type: the body of a text,
// the caption of an image, video or document, the title of the reply button
// or list row tapped, the text of a template quick-reply button, the emoji of
// a reaction, the text of an order, the name and address of a location, the
// names of shared contacts, the body of a system message, and for an edit the
// words of the new message. It is "" for audio, stickers, revokes, flow and
// call-permission replies, and types without words.
func (m *Message) Text() string {
	switch {
	case m.TextBody != nil:
		return m.TextBody.Body
	case m.Image != nil:
		return m.Image.Caption
	case m.Video != nil:
		return m.Video.Caption
	case m.Document != nil:
		return m.Document.Caption
	case m.Button != nil:
		return m.Button.Text
	case m.Interactive != nil:
		return m.Interactive.title()
	case m.Reaction != nil:
		return m.Reaction.Emoji
	case m.Order != nil:
		return m.Order.Text
	case m.Location != nil:
		return joinNonEmpty(", ", m.Location.Name, m.Location.Address)
	case m.Contacts != nil:
		names := make([]string, len(m.Contacts))
		for i, c := range m.Contacts {
			names[i] = c.Name.FormattedName
		}
		return joinNonEmpty(", ", names...)
	case m.System != nil:
		return m.System.Body
	case m.Edit != nil && m.Edit.Message != nil:
		return m.Edit.Message.Text()
	}
	return ""
}

// Object returns the raw JSON of the member named by Type ({"poll": {…}} for
// type "poll"), or nil when there is none. It serves types this package does
// not model; for the others use the typed field.
func (m *Message) Object() json.RawMessage {
	var members map[string]json.RawMessage
	if m.Type == "" || json.Unmarshal(m.Raw, &members) != nil {
		return nil
	}
	return members[m.Type]
}

// Context is set on a reply (From and ID of the message replied to), on a
// forwarded message, and on a product inquiry (ReferredProduct).
type Context struct {
	From                string           `json:"from,omitzero"`
	ID                  string           `json:"id,omitzero"`
	Forwarded           bool             `json:"forwarded,omitzero"`            // forwarded up to 5 times
	FrequentlyForwarded bool             `json:"frequently_forwarded,omitzero"` // forwarded more
	ReferredProduct     *ReferredProduct `json:"referred_product,omitzero"`
}

// ReferredProduct is the catalog product a user asks about.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id,omitzero"`
	ProductRetailerID string `json:"product_retailer_id,omitzero"`
}

// Referral tells which click-to-WhatsApp ad or post brought the user.
type Referral struct {
	SourceURL      string          `json:"source_url,omitzero"`
	SourceID       string          `json:"source_id,omitzero"`   // ad id
	SourceType     string          `json:"source_type,omitzero"` // "ad" or "post"
	Body           string          `json:"body,omitzero"`
	Headline       string          `json:"headline,omitzero"`
	MediaType      string          `json:"media_type,omitzero"` // "image" or "video"
	ImageURL       string          `json:"image_url,omitzero"`
	VideoURL       string          `json:"video_url,omitzero"`
	ThumbnailURL   string          `json:"thumbnail_url,omitzero"`
	CtwaClid       string          `json:"ctwa_clid,omitzero"` // click id; absent for Status ads
	WelcomeMessage *WelcomeMessage `json:"welcome_message,omitzero"`
}

// WelcomeMessage is the greeting an ad showed.
type WelcomeMessage struct {
	Text string `json:"text,omitzero"`
}

// Identity is the legacy identity-change notice of a system message.
type Identity struct {
	Acknowledged     bool      `json:"acknowledged,omitzero"`
	CreatedTimestamp Timestamp `json:"created_timestamp,omitzero"`
	Hash             string    `json:"hash,omitzero"`
}

// Text is the object of a text message.
type Text struct {
	Body string `json:"body,omitzero"`
}

// Media is the object of an image, video, audio, document or sticker. Caption
// applies to images, videos and documents, Filename to documents, Voice to
// audio (a voice note), Animated to stickers. URL, where sent, is fetched with
// the access token.
type Media struct {
	ID       string `json:"id,omitzero"`
	MimeType string `json:"mime_type,omitzero"`
	SHA256   string `json:"sha256,omitzero"` // base64
	URL      string `json:"url,omitzero"`
	Caption  string `json:"caption,omitzero"`
	Filename string `json:"filename,omitzero"`
	Voice    bool   `json:"voice,omitzero"`
	Animated bool   `json:"animated,omitzero"`
}

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude,omitzero"`
	Longitude float64 `json:"longitude,omitzero"`
	Name      string  `json:"name,omitzero"`
	Address   string  `json:"address,omitzero"`
	URL       string  `json:"url,omitzero"`
}

// ContactCard is one shared contact (vCard) of a contacts message.
type ContactCard struct {
	Name      ContactName      `json:"name,omitzero"`
	Phones    []ContactPhone   `json:"phones,omitzero"`
	Emails    []ContactEmail   `json:"emails,omitzero"`
	URLs      []ContactURL     `json:"urls,omitzero"`
	Addresses []ContactAddress `json:"addresses,omitzero"`
	Org       ContactOrg       `json:"org,omitzero"`
	Birthday  string           `json:"birthday,omitzero"` // YYYY-MM-DD
}

// ContactName is the name on a contact card.
type ContactName struct {
	FormattedName string `json:"formatted_name,omitzero"`
	FirstName     string `json:"first_name,omitzero"`
	LastName      string `json:"last_name,omitzero"`
	MiddleName    string `json:"middle_name,omitzero"`
	Suffix        string `json:"suffix,omitzero"`
	Prefix        string `json:"prefix,omitzero"`
}

// ContactPhone is a phone number on a contact card; WaID is set when the
// number is on WhatsApp.
type ContactPhone struct {
	Phone string `json:"phone,omitzero"`
	WaID  string `json:"wa_id,omitzero"`
	Type  string `json:"type,omitzero"` // CELL, MAIN, IPHONE, HOME, WORK
}

// ContactEmail is an email address on a contact card.
type ContactEmail struct {
	Email string `json:"email,omitzero"`
	Type  string `json:"type,omitzero"`
}

// ContactURL is a web address on a contact card.
type ContactURL struct {
	URL  string `json:"url,omitzero"`
	Type string `json:"type,omitzero"`
}

// ContactAddress is a postal address on a contact card.
type ContactAddress struct {
	Street      string `json:"street,omitzero"`
	City        string `json:"city,omitzero"`
	State       string `json:"state,omitzero"`
	Zip         string `json:"zip,omitzero"`
	Country     string `json:"country,omitzero"`
	CountryCode string `json:"country_code,omitzero"`
	Type        string `json:"type,omitzero"`
}

// ContactOrg is the employer on a contact card.
type ContactOrg struct {
	Company    string `json:"company,omitzero"`
	Department string `json:"department,omitzero"`
	Title      string `json:"title,omitzero"`
}

// Interactive types: the values of Interactive.Type.
const (
	InteractiveButtonReply         = "button_reply"
	InteractiveListReply           = "list_reply"
	InteractiveNfmReply            = "nfm_reply" // a completed Flow
	InteractiveCallPermissionReply = "call_permission_reply"
)

// Interactive is the user's answer to an interactive message: the object
// named by Type is set.
type Interactive struct {
	Type                string               `json:"type,omitzero"`
	ButtonReply         *Reply               `json:"button_reply,omitzero"`
	ListReply           *Reply               `json:"list_reply,omitzero"`
	NfmReply            *NfmReply            `json:"nfm_reply,omitzero"`
	CallPermissionReply *CallPermissionReply `json:"call_permission_reply,omitzero"`
}

// title returns the title of the button or list row tapped, or "".
func (i *Interactive) title() string {
	switch {
	case i.ButtonReply != nil:
		return i.ButtonReply.Title
	case i.ListReply != nil:
		return i.ListReply.Title
	}
	return ""
}

// Reply is the reply button or list row the user tapped.
type Reply struct {
	ID          string `json:"id,omitzero"`
	Title       string `json:"title,omitzero"`
	Description string `json:"description,omitzero"` // list rows only
}

// NfmReply is a completed Flow. ResponseJSON is a JSON document in a string;
// it holds the flow_token and the answers.
type NfmReply struct {
	Name         string `json:"name,omitzero"` // "flow"
	Body         string `json:"body,omitzero"` // "Sent"
	ResponseJSON string `json:"response_json,omitzero"`
}

// CallPermissionReply is the user's answer to a request for permission to
// call them.
type CallPermissionReply struct {
	Response            string    `json:"response,omitzero"` // "accept" or "reject"
	IsPermanent         bool      `json:"is_permanent,omitzero"`
	ExpirationTimestamp Timestamp `json:"expiration_timestamp,omitzero"`
	ResponseSource      string    `json:"response_source,omitzero"` // "user_action" or "automatic"
}

// Button is a tap on a template's quick-reply button; Context names the
// template message.
type Button struct {
	Payload string `json:"payload,omitzero"`
	Text    string `json:"text,omitzero"`
}

// Reaction is an emoji put on, or taken off, a message.
type Reaction struct {
	MessageID string `json:"message_id,omitzero"`
	Emoji     string `json:"emoji,omitzero"`
}

// Removed reports whether the user took their reaction off: the emoji is ""
// or missing.
func (r *Reaction) Removed() bool { return r.Emoji == "" }

// Order is a cart sent from a catalog.
type Order struct {
	CatalogID    string        `json:"catalog_id,omitzero"`
	Text         string        `json:"text,omitzero"`
	ProductItems []ProductItem `json:"product_items,omitzero"`
}

// ProductItem is one line of an order. Quantity and ItemPrice keep the
// digits Meta sent.
type ProductItem struct {
	ProductRetailerID string `json:"product_retailer_id,omitzero"`
	Quantity          Scalar `json:"quantity,omitzero"`
	ItemPrice         Scalar `json:"item_price,omitzero"`
	Currency          string `json:"currency,omitzero"`
}

// System types: values of System.Type.
const (
	SystemUserChangedNumber = "user_changed_number"  // WaID is the new phone
	SystemUserChangedUserID = "user_changed_user_id" // UserID is the new BSUID
)

// System is a notice about a user rather than from them: they changed phone
// number or BSUID (or, in legacy payloads, customer_changed_number and
// customer_identity_changed). A system message has no contacts[].
type System struct {
	Body           string `json:"body,omitzero"`
	Type           string `json:"type,omitzero"`
	WaID           string `json:"wa_id,omitzero"` // the new phone
	UserID         string `json:"user_id,omitzero"`
	ParentUserID   string `json:"parent_user_id,omitzero"`
	PreviousUserID string `json:"previous_user_id,omitzero"`
	NewWaID        string `json:"new_wa_id,omitzero"` // legacy customer_changed_number
	Customer       string `json:"customer,omitzero"`  // legacy
}

// Unsupported names the kind of a message the Cloud API does not deliver
// (poll_creation, poll_update, …); the message's Errors say why.
type Unsupported struct {
	Type string `json:"type,omitzero"`
}

// Edit replaces the message OriginalMessageID with Message, which has only a
// type and its object.
type Edit struct {
	OriginalMessageID string   `json:"original_message_id,omitzero"`
	Message           *Message `json:"message,omitzero"`
}

// Revoke deletes the message OriginalMessageID for everyone.
type Revoke struct {
	OriginalMessageID string `json:"original_message_id,omitzero"`
}

// firstOf returns a when it is not empty, else b.
func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}
