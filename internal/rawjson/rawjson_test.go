package rawjson

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// validCases are edge cases of the grammar; the fixtures and testdata add
// real webhooks.
var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-`, `1e`, `-1.5e-3`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":}`,
	`[1,2]`, `[1,]`, `[,1]`, `[1 2]`, ` [ 1 , { "b" : [ ] } ] `, `{"a":1}{}`, `{"a":1} x`, "\"\t\"",
	`"\u00e9"`, `"\u00eg"`, `"\u00e"`, `"\x"`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, "\"\xff\xfe\"", "\"\x1f\"",
	"\"\x7f\"", `{"a":"b`, `[`, `{`, `{"a"`, `{"a":1`, "\r\n{\"a\":[true,false,null]}\t",
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// TestValidJSON: Valid agrees with json.Valid on every case.
func TestValidJSON(t *testing.T) {
	cases := validCases
	for _, glob := range []string{"../../schemas/testdata/webhooks/*.json", "../../ingest/testdata/hostile/*"} {
		names, _ := filepath.Glob(glob)
		if len(names) == 0 {
			t.Fatalf("no file matches %s", glob)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, string(b), string(b[:len(b)/2]))
		}
	}
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v; json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValidJSON: Valid agrees with json.Valid on any input.
//
//	go test -run '^$' -fuzz FuzzValidJSON -fuzztime 1m ./internal/rawjson
func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 100 { // the deep ones make every run slow
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v; json.Valid says %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON: the ingest load test's 1.5 KB webhook.
func BenchmarkValidJSON(b *testing.B) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"5215550001111","id":"wamid.HBgNNTIxNTU1MDAwMTExMRUCABIYFjNFQjBDMEQ3QjE0NjJFNUQ5QjA3AA==","timestamp":"1751247548","text":{"body":"` +
		strings.Repeat("hola ", 240) + `"},"type":"text"}]},"field":"messages"}]}]}`)
	for _, f := range []struct {
		name  string
		valid func([]byte) bool
	}{{"Valid", Valid}, {"json.Valid", json.Valid}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !f.valid(body) {
					b.Fatal("not valid")
				}
			}
		})
	}
}

// TestMembersAndElements: the parts come back as written, in order, and
// what is not one valid object or array, or a key with an escape, is
// refused.
func TestMembersAndElements(t *testing.T) {
	var got []string
	ok := Members([]byte(` {"a" : [1, {"b":"}"}] ,"c":"x\\\"y", "":null} `), func(k, v []byte) {
		got = append(got, string(k)+"="+string(v))
	})
	if want := []string{`a=[1, {"b":"}"}]`, `c="x\\\"y"`, `=null`}; !ok || !slices.Equal(got, want) {
		t.Errorf("Members: %v %q; want true %q", ok, got, want)
	}
	for _, b := range []string{`[]`, `{"a":1`, `{"a":1}x`, `{"\u0061":1}`, `"{}"`} {
		if Members([]byte(b), func(k, v []byte) {}) {
			t.Errorf("Members(%s) = true; want false", b)
		}
	}
	if got := Elements([]byte(` [ "a,b" , {"c":[]}, 3 ] `)); len(got) != 3 || string(got[0]) != `"a,b"` ||
		string(got[1]) != `{"c":[]}` || string(got[2]) != "3" {
		t.Errorf("Elements: %q", got)
	}
	for _, b := range []string{`{}`, `[1,]`, `[1] 2`} {
		if got := Elements([]byte(b)); got != nil {
			t.Errorf("Elements(%s) = %q; want nil", b, got)
		}
	}
}
