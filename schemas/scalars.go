package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Timestamp is a point in time as Meta writes it: a JSON string or number of
// Unix seconds, or of Unix milliseconds when the value is 1e12 or more (Meta
// sometimes sends those). An absent, null, "", or 0 timestamp is the zero
// time. It also reads RFC 3339 strings, the form MarshalJSON writes.
//
// Anything else (a fraction, a sign, letters, a year past 9999) is an error,
// not a zero time, so the change it is in gets Change.Err and keeps its raw
// value: a broken clock is worth seeing.
type Timestamp struct{ time.Time }

// UnmarshalJSON reads a timestamp; see Timestamp.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	b := data
	if len(b) > 1 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if string(data) == "null" || len(b) == 0 {
		t.Time = time.Time{}
		return nil
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' || n > 1e17 {
			return t.parseRFC3339(data)
		}
		n = n*10 + int64(c-'0')
	}
	switch {
	case n == 0:
		t.Time = time.Time{}
	case n >= 1e12:
		t.Time = time.UnixMilli(n).UTC()
	default:
		t.Time = time.Unix(n, 0).UTC()
	}
	if t.Year() > 9999 {
		t.Time = time.Time{}
		return fmt.Errorf("cannot parse timestamp %s: out of range", data)
	}
	return nil
}

// parseRFC3339 reads data, a JSON value that is not a plain number of seconds.
func (t *Timestamp) parseRFC3339(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
			if v = v.UTC(); v.Year() >= 0 && v.Year() <= 9999 {
				t.Time = v
				return nil
			}
		}
	}
	t.Time = time.Time{}
	if len(data) > 40 {
		data = append(data[:40:40], "..."...)
	}
	return fmt.Errorf("cannot parse timestamp %s: not Unix seconds, milliseconds or RFC 3339", data)
}

// MarshalJSON writes the time as an RFC 3339 string in UTC, and the zero time
// as "".
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return []byte(`"` + t.UTC().Format(time.RFC3339Nano) + `"`), nil
}

// Scalar is a JSON string, number or boolean kept as its text, for values
// Meta sends one way or the other, or that must keep every digit:
// message_template_id is a 16-digit JSON number, which a float64 would round;
// messaging limits come as "TIER_2K" or as 2000. A number keeps its literal
// digits; null is "". An object or an array is an error.
type Scalar string

// UnmarshalJSON reads a scalar; see Scalar.
func (s *Scalar) UnmarshalJSON(data []byte) error {
	if len(data) == 0 {
		return errors.New("cannot parse scalar: empty")
	}
	switch data[0] {
	case '"':
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = Scalar(v)
	case 'n':
		*s = ""
	case '{', '[':
		return errors.New("cannot parse scalar: got an object or an array")
	default:
		*s = Scalar(data)
	}
	return nil
}

// String returns s as a plain string.
func (s Scalar) String() string { return string(s) }
