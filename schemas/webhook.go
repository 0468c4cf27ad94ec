// Package schemas holds the shapes of what wasp exchanges with Meta. This part
// is the WhatsApp Cloud API webhook: Go types for the whole POST body and
// ParseWebhook, which reads it.
//
// The parser is tolerant where Meta is loose and keeps what it does not model:
//
//   - Ids are strings. Values Meta sends as JSON numbers but that are ids or
//     limits (message_template_id, 16 digits) are a Scalar, which keeps every
//     digit and never goes through float64.
//   - Timestamps are a Timestamp: a string or a number, of seconds or of
//     milliseconds (values from 1e12 up).
//   - Each Message and Status keeps its JSON as received in Raw, and each
//     Change keeps its value in Raw, so a key this package does not know is
//     never lost. A message of an unknown type parses with its Type set; see
//     Message.Object. A field this package does not know keeps its value as
//     a json.RawMessage.
//   - One change whose value does not fit its type does not spoil the others:
//     that change has Err set and its raw value kept (see Change).
//
// A parsed Webhook does not refer to the body it was parsed from: the caller
// may reuse the body as soon as ParseWebhook returns. It marshals back to JSON
// of the same shape, with timestamps in RFC 3339 and scalars as strings, which
// ParseWebhook reads again.
package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
)

// ObjectWhatsApp is Webhook.Object for every WhatsApp webhook.
const ObjectWhatsApp = "whatsapp_business_account"

// Subscription fields: the values of Change.Field that this package types.
const (
	FieldMessages               = "messages"
	FieldTemplateStatusUpdate   = "message_template_status_update"
	FieldTemplateQualityUpdate  = "message_template_quality_update"
	FieldTemplateCategoryUpdate = "template_category_update"
	FieldPhoneNumberQuality     = "phone_number_quality_update"
	FieldPhoneNumberName        = "phone_number_name_update"
	FieldAccountUpdate          = "account_update"
	FieldAccountAlerts          = "account_alerts"
	FieldBusinessCapability     = "business_capability_update"
	FieldUserPreferences        = "user_preferences"
	FieldSecurity               = "security"
	FieldAccountReviewUpdate    = "account_review_update"
)

// Webhook is one webhook POST body:
// {object, entry[{id, time, changes[{field, value}]}]}.
type Webhook struct {
	Object  string  `json:"object,omitzero"` // ObjectWhatsApp
	Entries []Entry `json:"entry,omitzero"`
}

// Entry holds the changes of one WhatsApp Business Account.
type Entry struct {
	ID      string    `json:"id,omitzero"`   // the WABA id, not a phone number id
	Time    Timestamp `json:"time,omitzero"` // set on fields other than messages
	Changes []Change  `json:"changes,omitzero"`
}

// Change is one update of one subscription field.
//
// Value holds the typed value for the fields this package knows:
//
//	messages                         *MessagesValue
//	message_template_status_update   *TemplateStatusUpdate
//	message_template_quality_update  *TemplateQualityUpdate
//	template_category_update         *TemplateCategoryUpdate
//	phone_number_quality_update      *PhoneNumberQualityUpdate
//	phone_number_name_update         *PhoneNumberNameUpdate
//	account_update                   *AccountUpdate
//	account_alerts                   *AccountAlert
//	business_capability_update       *BusinessCapabilityUpdate
//	user_preferences                 *UserPreferencesValue
//	security                         *SecurityUpdate
//	account_review_update            *AccountReviewUpdate
//
// For any other field Value is the raw value, a json.RawMessage. When the
// value of a known field does not fit its type (a garbage timestamp, a string
// where an object belongs), Err says why and Value is the raw value too. Value
// is nil only when the change has no value or a null one.
type Change struct {
	Field string          `json:"field"`
	Value any             `json:"value,omitzero"`
	Raw   json.RawMessage `json:"-"` // the value exactly as received
	Err   error           `json:"-"` // why a known field's value could not be typed
}

// UnmarshalJSON reads {field, value}. It fails only when the change itself is
// malformed; a value that does not fit its type sets Err instead.
func (c *Change) UnmarshalJSON(data []byte) error {
	if scanChanges && c.unmarshalScanned(data) {
		return nil
	}
	var in struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	c.setValue(in.Field, in.Value)
	return nil
}

// setValue sets c to field's raw value and its typed value.
func (c *Change) setValue(field string, raw json.RawMessage) {
	*c = Change{Field: field, Raw: raw}
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	v := newValue(field)
	if v == nil {
		c.Value = raw
		return
	}
	var err error
	if mv, ok := v.(*MessagesValue); ok && scanChanges {
		var scanned bool
		if scanned, err = mv.unmarshalScanned(raw); !scanned {
			*mv = MessagesValue{}
			err = json.Unmarshal(raw, mv)
		}
	} else {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		c.Value, c.Err = raw, fmt.Errorf("cannot parse %s value: %w", field, err)
		return
	}
	c.Value = v
}

// newValue returns a pointer to a new typed value for field, or nil.
func newValue(field string) any {
	switch field {
	case FieldMessages:
		return new(MessagesValue)
	case FieldTemplateStatusUpdate:
		return new(TemplateStatusUpdate)
	case FieldTemplateQualityUpdate:
		return new(TemplateQualityUpdate)
	case FieldTemplateCategoryUpdate:
		return new(TemplateCategoryUpdate)
	case FieldPhoneNumberQuality:
		return new(PhoneNumberQualityUpdate)
	case FieldPhoneNumberName:
		return new(PhoneNumberNameUpdate)
	case FieldAccountUpdate:
		return new(AccountUpdate)
	case FieldAccountAlerts:
		return new(AccountAlert)
	case FieldBusinessCapability:
		return new(BusinessCapabilityUpdate)
	case FieldUserPreferences:
		return new(UserPreferencesValue)
	case FieldSecurity:
		return new(SecurityUpdate)
	case FieldAccountReviewUpdate:
		return new(AccountReviewUpdate)
	}
	return nil
}

var errNotObject = errors.New("not a JSON object")

// ParseWebhook parses a webhook POST body. It fails when body is not a JSON
// object or its envelope is malformed (entry, id, time, changes, field); a
// change whose value does not fit its type has Change.Err set instead, and
// the rest of the webhook is usable. ParseWebhook does not retain body.
func ParseWebhook(body []byte) (*Webhook, error) {
	if i := firstByte(body); i < 0 || body[i] != '{' {
		return nil, fmt.Errorf("cannot parse webhook: %w", errNotObject)
	}
	w := new(Webhook)
	if err := json.Unmarshal(body, w); err != nil {
		return nil, fmt.Errorf("cannot parse webhook: %w", err)
	}
	return w, nil
}

// firstByte returns the index of the first byte of b that is not JSON
// whitespace, or -1.
func firstByte(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}

// Changes yields every change of every entry, in order, with its entry.
func (w *Webhook) Changes() iter.Seq2[*Entry, *Change] {
	return func(yield func(*Entry, *Change) bool) {
		for i := range w.Entries {
			e := &w.Entries[i]
			for j := range e.Changes {
				if !yield(e, &e.Changes[j]) {
					return
				}
			}
		}
	}
}

// Messages yields every inbound message of every messages change, with the
// value it came in: its Metadata names the business phone number and its
// Contacts the senders.
func (w *Webhook) Messages() iter.Seq2[*MessagesValue, *Message] {
	return func(yield func(*MessagesValue, *Message) bool) {
		for _, c := range w.Changes() {
			v, _ := c.Value.(*MessagesValue)
			if v == nil {
				continue
			}
			for i := range v.Messages {
				if !yield(v, &v.Messages[i]) {
					return
				}
			}
		}
	}
}

// Statuses yields every status of every messages change, with the value it
// came in.
func (w *Webhook) Statuses() iter.Seq2[*MessagesValue, *Status] {
	return func(yield func(*MessagesValue, *Status) bool) {
		for _, c := range w.Changes() {
			v, _ := c.Value.(*MessagesValue)
			if v == nil {
				continue
			}
			for i := range v.Statuses {
				if !yield(v, &v.Statuses[i]) {
					return
				}
			}
		}
	}
}
