package schemas

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"wasp/internal/rawjson"
)

// encoding/json checks and decodes every level it hands to an
// UnmarshalJSON method again: a change, its value, then each message or
// status for its Raw copy, so a message's bytes went through the scanner
// about eight times. The functions here cut a change into its field and
// value, and the value's messages and statuses into their raw bytes, with
// rawjson (the grammar the ingester checks webhooks with, a few times
// faster than encoding/json's scanner), so that encoding/json decodes
// each level once. Anything they do not expect (an escape in a key, a
// field that is not a plain UTF-8 string) is left to encoding/json, whose
// answer is the reference; TestScanMatchesEncodingJSON compares the two.

// scanChanges turns the scanning paths on; tests turn it off to get the
// reference answer.
var scanChanges = true

// unmarshalScanned is Change.UnmarshalJSON's fast path; ok is false when
// it cannot tell and the caller must use encoding/json.
func (c *Change) unmarshalScanned(data []byte) (ok bool) {
	var field, value []byte
	if !rawjson.Members(data, func(k, v []byte) {
		switch {
		case bytes.EqualFold(k, []byte("field")):
			field = v
		case bytes.EqualFold(k, []byte("value")):
			value = v
		}
	}) {
		return false
	}
	var name string
	switch {
	case field == nil || string(field) == "null":
	case len(field) >= 2 && field[0] == '"' && bytes.IndexByte(field, '\\') < 0 && utf8.Valid(field):
		name = string(field[1 : len(field)-1])
	default:
		return false // escapes, bytes that are not UTF-8, not a string: encoding/json says what
	}
	c.setValue(name, append(json.RawMessage(nil), value...))
	return true
}

// unmarshalScanned decodes data into v once, with its messages and
// statuses decoded without their UnmarshalJSON, and cuts their Raw from
// data; ok is false when the cut does not match what was decoded.
func (v *MessagesValue) unmarshalScanned(data []byte) (ok bool, err error) {
	type plainMessage Message // without methods: no second pass for Raw
	type plainStatus Status
	plain := struct {
		*MessagesValue
		Messages []plainMessage `json:"messages,omitzero"`
		Statuses []plainStatus  `json:"statuses,omitzero"`
	}{MessagesValue: v}
	if err := json.Unmarshal(data, &plain); err != nil {
		return true, err
	}
	var messages, statuses [][]byte
	if !rawjson.Members(data, func(k, val []byte) {
		switch {
		case bytes.EqualFold(k, []byte("messages")):
			messages = rawjson.Elements(val)
		case bytes.EqualFold(k, []byte("statuses")):
			statuses = rawjson.Elements(val)
		}
	}) || len(messages) != len(plain.Messages) || len(statuses) != len(plain.Statuses) {
		return false, nil
	}
	v.Messages, v.Statuses = nil, nil
	if plain.Messages != nil { // [] reads as an empty slice, not nil
		v.Messages = make([]Message, 0, len(plain.Messages))
	}
	if plain.Statuses != nil {
		v.Statuses = make([]Status, 0, len(plain.Statuses))
	}
	for i := range plain.Messages {
		m := Message(plain.Messages[i])
		m.Raw = append(json.RawMessage(nil), messages[i]...)
		v.Messages = append(v.Messages, m)
	}
	for i := range plain.Statuses {
		s := Status(plain.Statuses[i])
		s.Raw = append(json.RawMessage(nil), statuses[i]...)
		v.Statuses = append(v.Statuses, s)
	}
	return true, nil
}
