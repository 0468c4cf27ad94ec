package schemas

import "encoding/json"

// Status values: the values of Status.Status. Statuses arrive out of order
// and more than once; delivered may be skipped when a message is read at once.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusPlayed    = "played" // first play of a voice message
	StatusFailed    = "failed" // terminal; Errors say why
	StatusDeleted   = "deleted"
)

// Status is a change in the state of an outbound message. RecipientID is the
// user's phone or, for a group (RecipientType "group"), the group id; the
// Recipient*UserID fields are the BSUID forms of the same people.
type Status struct {
	ID                               string        `json:"id,omitzero"` // wamid of the sent message
	Status                           string        `json:"status,omitzero"`
	Timestamp                        Timestamp     `json:"timestamp,omitzero"`
	RecipientID                      string        `json:"recipient_id,omitzero"`
	RecipientUserID                  string        `json:"recipient_user_id,omitzero"`
	RecipientParentUserID            string        `json:"recipient_parent_user_id,omitzero"`
	RecipientType                    string        `json:"recipient_type,omitzero"` // "individual" or "group"
	RecipientParticipantID           string        `json:"recipient_participant_id,omitzero"`
	RecipientParticipantUserID       string        `json:"recipient_participant_user_id,omitzero"`
	RecipientParticipantParentUserID string        `json:"recipient_participant_parent_user_id,omitzero"`
	RecipientIdentityKeyHash         string        `json:"recipient_identity_key_hash,omitzero"`
	BizOpaqueCallbackData            string        `json:"biz_opaque_callback_data,omitzero"` // echoed from the send
	Conversation                     *Conversation `json:"conversation,omitzero"`             // v23 and before; v24+ only for free entry points
	Pricing                          *Pricing      `json:"pricing,omitzero"`
	Errors                           []Error       `json:"errors,omitzero"` // on failed

	Raw json.RawMessage `json:"-"` // the status exactly as received
}

// UnmarshalJSON reads a status and keeps a copy of data in Raw.
func (s *Status) UnmarshalJSON(data []byte) error {
	type status Status // without methods, so no recursion
	var v status
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = Status(v)
	s.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// UserKey returns the recipient's BSUID (recipient_user_id) when there is
// one, else recipient_id: a phone, or a group id.
func (s *Status) UserKey() string { return firstOf(s.RecipientUserID, s.RecipientID) }

// Conversation is the conversation a status was billed in (v23 shape; from
// v24 sent only for free entry point conversations).
type Conversation struct {
	ID                  string    `json:"id,omitzero"`
	ExpirationTimestamp Timestamp `json:"expiration_timestamp,omitzero"` // on sent only
	Origin              Origin    `json:"origin,omitzero"`
}

// Origin is where a conversation started: authentication,
// authentication_international, marketing, marketing_lite,
// referral_conversion, service or utility.
type Origin struct {
	Type string `json:"type,omitzero"`
}

// Pricing is how a message is billed. Derive billing from Type and Category;
// Billable is to be deprecated.
type Pricing struct {
	Billable     bool   `json:"billable,omitzero"`
	PricingModel string `json:"pricing_model,omitzero"` // "PMP", or "CBP" before 2025-07
	Type         string `json:"type,omitzero"`          // regular, free_customer_service, free_entry_point
	Category     string `json:"category,omitzero"`      // marketing, utility, authentication-international, …
}

// Error is an error Meta reports in a webhook: on a failed status, on an
// inbound message it could not deliver whole, or for a whole value. Build
// logic on Code and ErrorData.Details, not on Title or Href.
type Error struct {
	Code      int       `json:"code,omitzero"`
	Title     string    `json:"title,omitzero"`
	Message   string    `json:"message,omitzero"`
	ErrorData ErrorData `json:"error_data,omitzero"`
	Href      string    `json:"href,omitzero"`
}

// ErrorData is the detail of an Error.
type ErrorData struct {
	Details          string `json:"details,omitzero"`
	MessagingProduct string `json:"messaging_product,omitzero"`
}

// UnmarshalJSON reads error_data as an object or, as some endpoints send it,
// a bare string, taken as Details.
func (d *ErrorData) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		*d = ErrorData{}
		return json.Unmarshal(data, &d.Details)
	}
	type errorData ErrorData // without methods, so no recursion
	return json.Unmarshal(data, (*errorData)(d))
}
