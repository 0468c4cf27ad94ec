package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"wasp/schemas"
)

var phoneNumberIDKey = []byte(`"phone_number_id"`)

// scanPhoneNumberIDs appends to dst the distinct values of the
// "phone_number_id" keys in body, in order of appearance, without parsing
// the rest. Each value aliases body. Only a key is followed by a colon, so
// the same text inside a message (where its quotes are escaped, or it is a
// value) is not mistaken for one.
func scanPhoneNumberIDs(body []byte, dst [][]byte) [][]byte {
	for rest := body; ; {
		i := bytes.Index(rest, phoneNumberIDKey)
		if i < 0 {
			return dst
		}
		rest = rest[i+len(phoneNumberIDKey):]
		id, ok := stringValue(rest)
		if !ok || len(id) == 0 {
			continue
		}
		if !containsBytes(dst, id) {
			dst = append(dst, id)
		}
	}
}

// stringValue reads `: "value"` at the start of b. Values with escapes are
// refused: ids are digits.
func stringValue(b []byte) ([]byte, bool) {
	b = skipSpace(b)
	if len(b) == 0 || b[0] != ':' {
		return nil, false
	}
	b = skipSpace(b[1:])
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	b = b[1:]
	end := bytes.IndexByte(b, '"')
	if end < 0 || bytes.IndexByte(b[:end], '\\') >= 0 {
		return nil, false
	}
	return b[:end], true
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// part is the share of a webhook body that belongs to one key.
type part struct {
	key  string
	body []byte
}

// splitByNumber is the slow path for bodies that do not name exactly one
// phone number: several numbers, or account-level fields that name none.
// It groups the changes by their value's metadata.phone_number_id, else by
// their entry's id (the WABA), and rebuilds one envelope per group. Every
// value is kept byte for byte; entry and envelope fields are kept too.
func splitByNumber(body []byte) ([]part, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("not a WhatsApp webhook: %v", jsonReason(err))
	}
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(env["entry"], &entries); err != nil || len(entries) == 0 {
		return nil, errNoChanges
	}
	type group struct {
		key     string
		entries []map[string]json.RawMessage
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, e := range entries {
		var changes []json.RawMessage
		if err := json.Unmarshal(e["changes"], &changes); err != nil {
			return nil, errNoChanges
		}
		var entryID string
		json.Unmarshal(e["id"], &entryID)
		perKey := map[string][]json.RawMessage{}
		var keys []string
		for _, c := range changes {
			var ch struct {
				Value struct {
					Metadata struct {
						PhoneNumberID string `json:"phone_number_id"`
					} `json:"metadata"`
				} `json:"value"`
			}
			json.Unmarshal(c, &ch)
			key := ch.Value.Metadata.PhoneNumberID
			if key == "" {
				key = entryID
			}
			if _, ok := perKey[key]; !ok {
				keys = append(keys, key)
			}
			perKey[key] = append(perKey[key], c)
		}
		for _, key := range keys {
			g := byKey[key]
			if g == nil {
				g = &group{key: key}
				byKey[key] = g
				groups = append(groups, g)
			}
			ne := make(map[string]json.RawMessage, len(e))
			for k, v := range e {
				ne[k] = v
			}
			ne["changes"], _ = schemas.Marshal(perKey[key])
			g.entries = append(g.entries, ne)
		}
	}
	if len(groups) == 0 {
		return nil, errNoChanges
	}
	parts := make([]part, 0, len(groups))
	for _, g := range groups {
		ne := make(map[string]json.RawMessage, len(env))
		for k, v := range env {
			ne[k] = v
		}
		var err error
		if ne["entry"], err = schemas.Marshal(g.entries); err != nil {
			return nil, fmt.Errorf("cannot split the webhook: %w", err)
		}
		b, err := schemas.Marshal(ne)
		if err != nil {
			return nil, fmt.Errorf("cannot split the webhook: %w", err)
		}
		parts = append(parts, part{key: g.key, body: b})
	}
	return parts, nil
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "the top level is a " + te.Value + ", not an object"
	}
	return err.Error()
}
