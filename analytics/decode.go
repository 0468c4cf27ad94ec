package analytics

import (
	"encoding/json"
	"time"
	"unicode/utf8"
	"unsafe"

	"wasp/schemas"
)

// decodeEvent decodes a record of the events topic into e. The events are
// flat objects written by json.Marshal, so a small scanner reads them
// several times faster than encoding/json, without allocating: e's
// strings point into b, which therefore must not change afterwards (a
// fetched record's value is its owner's). Anything the scanner does not
// expect (an escape, a null, a nested value, a key it does not know, bad
// syntax) is left to encoding/json, which has the last word, so both
// accept and produce the same.
func decodeEvent(b []byte, e *schemas.Event) error {
	*e = schemas.Event{}
	if scanEvent(unsafe.String(unsafe.SliceData(b), len(b)), e) {
		return nil
	}
	*e = schemas.Event{}
	return json.Unmarshal(b, e)
}

// scanEvent is decodeEvent's fast path; false means "ask encoding/json".
func scanEvent(s string, e *schemas.Event) bool {
	i := scanWS(s, 0)
	if i == len(s) || s[i] != '{' {
		return false
	}
	i = scanWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return scanWS(s, i+1) == len(s)
	}
	for {
		key, j, ok := scanStr(s, i)
		if !ok {
			return false
		}
		i = scanWS(s, j)
		if i == len(s) || s[i] != ':' {
			return false
		}
		i = scanWS(s, i+1)
		var n int64
		switch key {
		case "id":
			e.ID, i, ok = scanStr(s, i)
		case "kind":
			e.Kind, i, ok = scanStr(s, i)
		case "time":
			var t string
			if t, i, ok = scanStr(s, i); ok {
				var err error
				e.Time, err = time.Parse(time.RFC3339Nano, t)
				ok = err == nil
			}
		case "tenant":
			e.Tenant, i, ok = scanStr(s, i)
		case "phone_number_id":
			e.PhoneNumberID, i, ok = scanStr(s, i)
		case "user":
			e.User, i, ok = scanStr(s, i)
		case "wamid":
			e.Wamid, i, ok = scanStr(s, i)
		case "command_id":
			e.CommandID, i, ok = scanStr(s, i)
		case "message_type":
			e.MessageType, i, ok = scanStr(s, i)
		case "origin":
			e.Origin, i, ok = scanStr(s, i)
		case "status":
			e.Status, i, ok = scanStr(s, i)
		case "error_code":
			n, i, ok = scanInt(s, i, 1<<31)
			e.ErrorCode = int(n)
		case "error_class":
			e.ErrorClass, i, ok = scanStr(s, i)
		case "reason":
			e.Reason, i, ok = scanStr(s, i)
		case "latency_ms":
			e.LatencyMs, i, ok = scanInt(s, i, 1<<62)
		case "response_ms":
			e.ResponseMs, i, ok = scanInt(s, i, 1<<62)
		case "attempt":
			n, i, ok = scanInt(s, i, 1<<31)
			e.Attempt = int(n)
		case "tokens":
			n, i, ok = scanInt(s, i, 1<<31)
			e.Tokens = int(n)
		case "pricing_category":
			e.PricingCategory, i, ok = scanStr(s, i)
		case "pricing_type":
			e.PricingType, i, ok = scanStr(s, i)
		case "billable":
			e.Billable, i, ok = scanBool(s, i)
		default:
			return false
		}
		if !ok {
			return false
		}
		i = scanWS(s, i)
		if i == len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i = scanWS(s, i+1)
		case '}':
			return scanWS(s, i+1) == len(s)
		default:
			return false
		}
	}
}

func scanWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// scanStr reads a string of valid UTF-8 without escapes starting at s[i]
// (encoding/json replaces invalid UTF-8).
func scanStr(s string, i int) (string, int, bool) {
	if i == len(s) || s[i] != '"' {
		return "", i, false
	}
	ascii := true
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[i+1 : j]
			return v, j + 1, ascii || utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", i, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", i, false
}

// scanInt reads an scanInt whose magnitude is below limit.
func scanInt(s string, i int, limit int64) (int64, int, bool) {
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
		if n >= limit {
			return 0, i, false
		}
	}
	if i == start || s[start] == '0' && i-start > 1 {
		return 0, i, false
	}
	if i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E') {
		return 0, i, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

func scanBool(s string, i int) (bool, int, bool) {
	switch {
	case len(s)-i >= 4 && s[i:i+4] == "true":
		return true, i + 4, true
	case len(s)-i >= 5 && s[i:i+5] == "false":
		return false, i + 5, true
	}
	return false, i, false
}
