package schemas_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"wasp/schemas"
)

// FuzzParse feeds ParseWebhook arbitrary bodies, seeded with the payloads in
// testdata/webhooks. ParseWebhook must never panic; what it accepts must
// survive the helpers, and marshal to JSON that parses back to the same
// webhook.
func FuzzParse(f *testing.F) {
	for _, path := range webhookFiles(f) {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := schemas.ParseWebhook(body)
		if err != nil {
			return
		}
		for _, c := range w.Changes() {
			if c.Err != nil && c.Value == nil {
				t.Errorf("change %q: got error %v and no raw value", c.Field, c.Err)
			}
		}
		for v, m := range w.Messages() {
			_, _, _ = m.Text(), m.UserKey(), v.Contact(m)
			if m.Reaction != nil {
				_ = m.Reaction.Removed()
			}
			if !json.Valid(m.Raw) {
				t.Errorf("message %q: got invalid Raw %q", m.ID, m.Raw)
			}
			_ = m.Object()
		}
		for _, s := range w.Statuses() {
			_ = s.UserKey()
		}
		first, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("cannot marshal parsed webhook: %v", err)
		}
		w2, err := schemas.ParseWebhook(first)
		if err != nil {
			t.Fatalf("cannot parse marshalled webhook %s: %v", first, err)
		}
		second, err := json.Marshal(w2)
		if err != nil {
			t.Fatalf("cannot marshal again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("got\n%s\nafter a round trip; want\n%s", second, first)
		}
	})
}
