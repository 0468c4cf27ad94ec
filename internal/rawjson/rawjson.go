// Package rawjson reads JSON text without decoding it: Valid checks it,
// Members and Elements cut an object or an array into its raw parts. All
// three walk the one grammar below.
package rawjson

import "bytes"

// Valid reports whether b is one JSON value, as json.Valid does, at a few
// times its speed: the ingester checks every webhook, and json.Valid's
// byte-at-a-time state machine was a tenth of its CPU. Like json.Valid it
// accepts any bytes above 0x1F inside strings (UTF-8 is not checked) and
// nesting up to 10,000 levels.
func Valid(b []byte) bool {
	v := validator{b: b}
	v.space()
	return v.value(0) && v.end()
}

// Members calls fn with each member of the JSON object b, in order: its
// key as written between the quotes and its raw value. It reports false
// when b is not one valid JSON object or a key holds an escape (fn may
// have been called for the members before).
func Members(b []byte, fn func(key, value []byte)) bool {
	v := validator{b: b}
	v.space()
	if v.i >= len(b) || b[v.i] != '{' {
		return false
	}
	escaped := false
	ok := v.object(1, func(key, value []byte) {
		if escaped = escaped || bytes.IndexByte(key, '\\') >= 0; !escaped {
			fn(key, value)
		}
	})
	return ok && !escaped && v.end()
}

// Elements returns the raw elements of the JSON array b, or nil when b is
// not one valid JSON array.
func Elements(b []byte) [][]byte {
	v := validator{b: b}
	v.space()
	if v.i >= len(b) || b[v.i] != '[' {
		return nil
	}
	var out [][]byte
	if !v.array(1, func(value []byte) { out = append(out, value) }) || !v.end() {
		return nil
	}
	return out
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type validator struct {
	b []byte
	i int
}

// end skips the space after the value and says whether b ends there.
func (v *validator) end() bool {
	v.space()
	return v.i == len(v.b)
}

func (v *validator) space() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *validator) value(depth int) bool {
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '{':
		return v.object(depth+1, nil)
	case c == '[':
		return v.array(depth+1, nil)
	case c == '"':
		return v.string()
	case c == '-' || c >= '0' && c <= '9':
		return v.number()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	}
	return false
}

func (v *validator) literal(s string) bool {
	if len(v.b)-v.i < len(s) || string(v.b[v.i:v.i+len(s)]) != s {
		return false
	}
	v.i += len(s)
	return true
}

// object reads the object at v.i, calling member, when there is one,
// with each member's key (between its quotes) and raw value.
func (v *validator) object(depth int, member func(key, value []byte)) bool {
	if depth > maxDepth {
		return false
	}
	v.i++ // {
	v.space()
	if v.i < len(v.b) && v.b[v.i] == '}' {
		v.i++
		return true
	}
	for {
		key := v.i
		if v.i >= len(v.b) || v.b[v.i] != '"' || !v.string() {
			return false
		}
		keyEnd := v.i - 1
		v.space()
		if v.i >= len(v.b) || v.b[v.i] != ':' {
			return false
		}
		v.i++
		v.space()
		value := v.i
		if !v.value(depth) {
			return false
		}
		if member != nil {
			member(v.b[key+1:keyEnd], v.b[value:v.i])
		}
		if more, ok := v.next('}'); !more {
			return ok
		}
	}
}

// array reads the array at v.i, calling element, when there is one, with
// each element's raw value.
func (v *validator) array(depth int, element func(value []byte)) bool {
	if depth > maxDepth {
		return false
	}
	v.i++ // [
	v.space()
	if v.i < len(v.b) && v.b[v.i] == ']' {
		v.i++
		return true
	}
	for {
		value := v.i
		if !v.value(depth) {
			return false
		}
		if element != nil {
			element(v.b[value:v.i])
		}
		if more, ok := v.next(']'); !more {
			return ok
		}
	}
}

// next reads what follows a member or an element: a comma, and more is
// to come, or the closing bracket; anything else is not JSON.
func (v *validator) next(closing byte) (more, ok bool) {
	v.space()
	if v.i >= len(v.b) {
		return false, false
	}
	switch v.b[v.i] {
	case ',':
		v.i++
		v.space()
		return true, true
	case closing:
		v.i++
		return false, true
	}
	return false, false
}

// plain marks the bytes that a string holds as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (v *validator) string() bool {
	v.i++ // "
	for {
		for v.i < len(v.b) && plain[v.b[v.i]] {
			v.i++
		}
		if v.i >= len(v.b) {
			return false
		}
		switch v.b[v.i] {
		case '"':
			v.i++
			return true
		case '\\':
			v.i++
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				if len(v.b)-v.i < 5 {
					return false
				}
				for _, h := range v.b[v.i+1 : v.i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				v.i += 5
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
}

func (v *validator) number() bool {
	if v.b[v.i] == '-' {
		v.i++
	}
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '0':
		v.i++
	case c >= '1' && c <= '9':
		v.digits()
	default:
		return false
	}
	if v.i < len(v.b) && v.b[v.i] == '.' {
		v.i++
		if !v.digits() {
			return false
		}
	}
	if v.i < len(v.b) && (v.b[v.i] == 'e' || v.b[v.i] == 'E') {
		v.i++
		if v.i < len(v.b) && (v.b[v.i] == '+' || v.b[v.i] == '-') {
			v.i++
		}
		if !v.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more digits.
func (v *validator) digits() bool {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i > start
}
