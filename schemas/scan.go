package schemas

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// encoding/json checks and decodes every level it hands to an
// UnmarshalJSON method again: a change, its value, then each message or
// status for its Raw copy, so a message's bytes went through the scanner
// about eight times. The functions here cut a change into its field and
// value, and the value's messages and statuses into their raw bytes, with
// a plain scan of JSON already known to be valid (an UnmarshalJSON method
// only ever gets valid JSON), so that encoding/json decodes each level
// once. Anything they do not expect (an escape in a key, a field that is
// not a plain UTF-8 string) is left to encoding/json, whose answer is the
// reference; TestScanMatchesEncodingJSON compares the two.

// scanChanges turns the scanning paths on; tests turn it off to get the
// reference answer.
var scanChanges = true

// unmarshalScanned is Change.UnmarshalJSON's fast path; ok is false when
// it cannot tell and the caller must use encoding/json.
func (c *Change) unmarshalScanned(data []byte) (ok bool) {
	var field, value []byte
	if !members(data, func(k, v []byte) {
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
	if !members(data, func(k, val []byte) {
		switch {
		case bytes.EqualFold(k, []byte("messages")):
			messages = elements(val)
		case bytes.EqualFold(k, []byte("statuses")):
			statuses = elements(val)
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

// members calls fn with each member of the JSON object b, which must be
// valid JSON: the key as written between its quotes, and the raw value.
// It reports false when b is not an object or a key holds an escape.
func members(b []byte, fn func(key, value []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != '}'; {
		if b[i] != '"' {
			return false
		}
		end := skipString(b, i)
		key := b[i+1 : max(i+1, end-1)]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
			return false
		}
		if i = skipSpace(b, i+1); i >= len(b) {
			return false
		}
		vend := skipValue(b, i)
		fn(key, b[i:vend])
		if i = skipSpace(b, vend); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return i < len(b)
}

// elements returns the raw elements of the JSON array b (valid JSON), or
// nil when b is not an array.
func elements(b []byte) [][]byte {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil
	}
	var out [][]byte
	for i = skipSpace(b, i+1); i < len(b) && b[i] != ']'; {
		end := skipValue(b, i)
		out = append(out, b[i:end])
		if i = skipSpace(b, end); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// skipValue returns where the JSON value that starts at b[i] ends.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
	}
	return i
}

// skipString returns where the string that starts at b[i] ends, past its
// closing quote.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
