package schemas

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// ErrorClass says what to do with a message whose send failed with a Graph
// API error: the retry class of the error-code table (errorcodes.tsv).
type ErrorClass string

// The retry classes. The values are the class column of errorcodes.tsv.
const (
	// ClassRetry is a transient failure: retry with exponential backoff
	// and jitter, a bounded number of times.
	ClassRetry ErrorClass = "retry"
	// ClassPace is throttling: nothing is wrong with the message; wait,
	// pace the number (or the recipient, for 131056) and retry.
	ClassPace ErrorClass = "pace"
	// ClassWaitLong needs a wait of hours to days (marketing caps, quality
	// restrictions, registration limits) before the same send can work.
	ClassWaitLong ErrorClass = "wait_long"
	// ClassFixFirst needs a fix of the configuration, the payload or the
	// token before a retry can work: dead-letter the message with details.
	ClassFixFirst ErrorClass = "fix_first"
	// ClassNever means this message will never go through: record why and
	// drop it (for 131047, send a template instead of the free-form one).
	ClassNever ErrorClass = "never"
)

// Valid reports whether c is one of the five classes.
func (c ErrorClass) Valid() bool {
	switch c {
	case ClassRetry, ClassPace, ClassWaitLong, ClassFixFirst, ClassNever:
		return true
	}
	return false
}

// ErrorInfo is one row of the error-code table.
type ErrorInfo struct {
	// Code is Meta's error code (the "code" of the error object).
	Code int
	// Title is the title Meta puts in the error's message, "" when Meta
	// gives none. Meta says titles will be deprecated: match on Code.
	Title string
	// Class is what to do with the failed message.
	Class ErrorClass
	// Action is the one-line fix or action for the operator.
	Action string
}

//go:embed errorcodes.tsv
var errorCodesTSV string

// errorRange is a row of the table that covers the codes lo to hi.
type errorRange struct {
	lo, hi int
	info   ErrorInfo
}

type errorTable struct {
	codes  map[int]ErrorInfo
	ranges []errorRange
}

// errorCodes is the embedded table, parsed on first use. It is our data:
// a malformed file is a bug caught by the tests, so it panics.
var errorCodes = sync.OnceValue(func() *errorTable {
	t, err := parseErrorCodes(errorCodesTSV)
	if err != nil {
		panic(err)
	}
	return t
})

// parseErrorCodes reads the table: '#' comment lines, a header line, then
// one row per code or inclusive range "lo-hi", tab-separated.
func parseErrorCodes(data string) (*errorTable, error) {
	t := &errorTable{codes: map[int]ErrorInfo{}}
	header := false
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if !header {
			if line != "code\ttitle\tclass\taction" {
				return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: got header %q; want \"code\\ttitle\\tclass\\taction\"", i+1, line)
			}
			header = true
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: got %d fields; want 4", i+1, len(f))
		}
		info := ErrorInfo{Title: f[1], Class: ErrorClass(f[2]), Action: f[3]}
		if !info.Class.Valid() {
			return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: unknown class %q", i+1, f[2])
		}
		if info.Action == "" {
			return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: empty action", i+1)
		}
		lo, hi, isRange := strings.Cut(f[0], "-")
		l, err := strconv.Atoi(lo)
		if err != nil || l < 0 {
			return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: bad code %q", i+1, f[0])
		}
		if !isRange {
			if _, dup := t.codes[l]; dup {
				return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: code %d listed twice", i+1, l)
			}
			info.Code = l
			t.codes[l] = info
			continue
		}
		h, err := strconv.Atoi(hi)
		if err != nil || h <= l {
			return nil, fmt.Errorf("cannot parse errorcodes.tsv line %d: bad range %q", i+1, f[0])
		}
		t.ranges = append(t.ranges, errorRange{lo: l, hi: h, info: info})
	}
	if len(t.codes) == 0 {
		return nil, fmt.Errorf("cannot parse errorcodes.tsv: no rows")
	}
	return t, nil
}

// LookupError returns the table's row for a Meta error code. A code inside
// a range of the table (200–299, 80000–80014, 134100–134102) gets that
// range's row with Code set to code; an exact row wins over a range.
func LookupError(code int) (ErrorInfo, bool) {
	t := errorCodes()
	if info, ok := t.codes[code]; ok {
		return info, true
	}
	for _, r := range t.ranges {
		if code >= r.lo && code <= r.hi {
			info := r.info
			info.Code = code
			return info, true
		}
	}
	return ErrorInfo{}, false
}

// ClassOf returns the retry class of a Meta error code.
//
// A code the table does not know is ClassFixFirst: nobody knows whether a
// retry can succeed, and retrying blindly may hammer Meta or, after an
// ambiguous failure, send twice; fix-first dead-letters the message with
// its details so an operator sees the new code and adds it to the table.
func ClassOf(code int) ErrorClass {
	if info, ok := LookupError(code); ok {
		return info.Class
	}
	return ClassFixFirst
}
