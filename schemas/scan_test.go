package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// parsedBoth parses body with the scanning paths and with encoding/json
// alone, and says how the two differ, or "".
func parsedBoth(body []byte) string {
	scanChanges = false
	slow, slowErr := ParseWebhook(body)
	scanChanges = true
	fast, fastErr := ParseWebhook(body)
	if (slowErr == nil) != (fastErr == nil) {
		return fmt.Sprintf("error %v; encoding/json alone: %v", fastErr, slowErr)
	}
	if slowErr != nil {
		return ""
	}
	if a, b := outline(fast), outline(slow); a != b {
		return fmt.Sprintf("parsed as\n%s\nencoding/json alone:\n%s", a, b)
	}
	return ""
}

// outline is a webhook as JSON plus what JSON leaves out: every Raw, and
// whether each change has an error.
func outline(w *Webhook) string {
	var b bytes.Buffer
	js, err := json.Marshal(w)
	fmt.Fprintf(&b, "%s %v\n", js, err)
	for _, c := range w.Changes() {
		fmt.Fprintf(&b, "change %q raw %q err %v value %T\n", c.Field, c.Raw, c.Err != nil, c.Value)
	}
	for _, m := range w.Messages() {
		fmt.Fprintf(&b, "message raw %q\n", m.Raw)
	}
	for _, s := range w.Statuses() {
		fmt.Fprintf(&b, "status raw %q\n", s.Raw)
	}
	return b.String()
}

// TestScanMatchesEncodingJSON: every webhook of the test data and of the
// ingester's hostile corpus, and bodies made to take the unusual paths,
// parse the same with the scanning paths as with encoding/json alone.
func TestScanMatchesEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	hostile, _ := filepath.Glob("../ingest/testdata/hostile/*")
	if len(files) < 20 || len(hostile) < 10 {
		t.Fatalf("%d webhooks and %d hostile bodies found; want the test data", len(files), len(hostile))
	}
	bodies := map[string][]byte{}
	for _, f := range append(files, hostile...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[f] = b
	}
	const statuses = `{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"statuses":[{"id":"wamid.a","status":"read","timestamp":"1751247548"}]}`
	for name, body := range map[string]string{
		"escaped key":           `{"entry":[{"changes":[{"fi\u0065ld":"messages","value":` + statuses + `}]}]}`,
		"escaped field":         `{"entry":[{"changes":[{"field":"mess\u0061ges","value":` + statuses + `}]}]}`,
		"field not a string":    `{"entry":[{"changes":[{"field":7,"value":{}}]}]}`,
		"field null":            `{"entry":[{"changes":[{"field":null,"value":{}}]}]}`,
		"keys in capitals":      `{"entry":[{"changes":[{"Field":"messages","VALUE":{"Statuses":[{"id":"x","status":"sent"}]}}]}]}`,
		"value null":            `{"entry":[{"changes":[{"field":"messages","value":null}]}]}`,
		"no value":              `{"entry":[{"changes":[{"field":"messages"}]}]}`,
		"value not an object":   `{"entry":[{"changes":[{"field":"messages","value":[1,2]}]}]}`,
		"statuses not an array": `{"entry":[{"changes":[{"field":"messages","value":{"statuses":{"id":"x"}}}]}]}`,
		"statuses twice":        `{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"a"}],"statuses":[{"id":"b"},{"id":"c"}]}}]}]}`,
		"bad timestamp":         `{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"a","timestamp":"soon"}]}}]}]}`,
		"strings with quotes":   `{"entry":[{"changes":[{"value":{"messages":[{"id":"m\"}]","type":"text","text":{"body":"a \\\"b\\\" {[ ,"}}]},"field":"messages"}]}]}`,
		"spaces everywhere":     " {\n \"entry\" : [ { \"changes\" : [ { \"field\" : \"messages\" ,\t\"value\" : { \"statuses\" : [ { \"id\" : \"a\" } , { \"id\" : \"b\" } ] } } ] } ] } ",
		"null message":          `{"entry":[{"changes":[{"field":"messages","value":{"messages":[null,{"id":"a"}]}}]}]}`,
	} {
		bodies[name] = []byte(body)
	}
	for name, body := range bodies {
		if diff := parsedBoth(body); diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
	}
	// The usual shapes take the scanning paths rather than falling back.
	for _, name := range append(files, "strings with quotes", "spaces everywhere", "statuses twice", "null message") {
		if !scanned(t, bodies[name]) {
			t.Errorf("%s: a change fell back to encoding/json alone", name)
		}
	}
}

// scanned says whether every change of body, and every messages value,
// is read by the scanning paths.
func scanned(t *testing.T, body []byte) bool {
	var w struct {
		Entry []struct {
			Changes []json.RawMessage `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Entry {
		for _, raw := range e.Changes {
			var c Change
			if !c.unmarshalScanned(raw) {
				return false
			}
			if c.Field == FieldMessages {
				if ok, _ := new(MessagesValue).unmarshalScanned(c.Raw); !ok {
					return false
				}
			}
		}
	}
	return true
}

func FuzzScanMatchesEncodingJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/*.json")
	for _, path := range files {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if diff := parsedBoth(body); diff != "" {
			t.Error(diff)
		}
	})
}
