package schemas

import (
	"strings"
	"testing"
)

func TestErrorCodesParse(t *testing.T) {
	tab, err := parseErrorCodes(errorCodesTSV)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(errorCodesTSV, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "code\t") {
			rows++
		}
	}
	if got := len(tab.codes) + len(tab.ranges); got != rows {
		t.Fatalf("got %d parsed rows; want %d (every row of errorcodes.tsv)", got, rows)
	}
	if rows < 70 {
		t.Fatalf("got %d rows; want the whole table 5.2 (at least 70)", rows)
	}
	for code, info := range tab.codes {
		if !info.Class.Valid() || info.Action == "" || info.Code != code {
			t.Errorf("code %d: bad row %+v", code, info)
		}
	}
	for _, r := range tab.ranges {
		if !r.info.Class.Valid() || r.info.Action == "" {
			t.Errorf("range %d-%d: bad row %+v", r.lo, r.hi, r.info)
		}
	}
}

func TestErrorCodesMalformed(t *testing.T) {
	f := func(data, want string) {
		t.Helper()
		_, err := parseErrorCodes(data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse %q: got error %v; want one containing %q", data, err, want)
		}
	}
	const h = "code\ttitle\tclass\taction\n"
	f("code\tclass\n", "header")
	f(h+"1\tx\tretry\n", "got 3 fields")
	f(h+"1\tx\tmaybe\tdo\n", `unknown class "maybe"`)
	f(h+"x\tx\tretry\tdo\n", "bad code")
	f(h+"9-3\tx\tretry\tdo\n", "bad range")
	f(h+"1\tx\tretry\t\n", "empty action")
	f(h+"1\tx\tretry\tdo\n1\ty\tnever\tdo\n", "listed twice")
	f(h, "no rows")
}

func TestErrorClassOf(t *testing.T) {
	f := func(code int, want ErrorClass) {
		t.Helper()
		if got := ClassOf(code); got != want {
			t.Errorf("ClassOf(%d): got %q; want %q", code, got, want)
		}
	}
	// Section 5.3 of the reference: the practical policy.
	f(130429, ClassPace)
	f(131056, ClassPace)
	f(131047, ClassNever)
	f(190, ClassFixFirst)
	f(0, ClassFixFirst)
	f(131026, ClassNever)
	f(131000, ClassRetry)
	f(131049, ClassWaitLong)
	for _, c := range []int{1, 2, 131016, 131057, 133004, 2494100} {
		f(c, ClassRetry)
	}
	for _, c := range []int{4, 17, 32, 613, 80007, 80001} {
		f(c, ClassPace)
	}
	for _, c := range []int{131050, 130403, 130472, 131021, 132016, 368, 131031} {
		f(c, ClassNever)
	}
	for _, c := range []int{131048, 131064, 132069, 133016} {
		f(c, ClassWaitLong)
	}
	// Ranges, and an exact row inside a range.
	f(200, ClassFixFirst)
	f(250, ClassFixFirst)
	f(299, ClassFixFirst)
	f(134100, ClassFixFirst)
	f(134101, ClassPace)
	f(134102, ClassFixFirst)
	// Unknown codes.
	f(300, ClassFixFirst)
	f(999999, ClassFixFirst)
	f(-1, ClassFixFirst)
}

func TestErrorLookup(t *testing.T) {
	info, ok := LookupError(130429)
	if !ok || info.Code != 130429 || info.Title != "Rate limit hit" || info.Class != ClassPace || info.Action == "" {
		t.Errorf("LookupError(130429): got %+v, %v", info, ok)
	}
	info, ok = LookupError(251)
	if !ok || info.Code != 251 || info.Title != "API Permission" {
		t.Errorf("LookupError(251): got %+v, %v; want the 200-299 row with code 251", info, ok)
	}
	if info, ok := LookupError(42); ok {
		t.Errorf("LookupError(42): got %+v; want not found", info)
	}
}
