package schemas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasp/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/webhooks/*.golden from the parser's output")

// webhookFiles returns the payloads in testdata/webhooks.
func webhookFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/webhooks/*.json")
	if err != nil || len(files) < 35 {
		t.Fatalf("got %d files in testdata/webhooks (err %v); want at least 35", len(files), err)
	}
	return files
}

func parseFile(t testing.TB, path string) *schemas.Webhook {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := schemas.ParseWebhook(body)
	if err != nil {
		t.Fatalf("ParseWebhook(%s): %v", path, err)
	}
	return w
}

// TestGolden parses every payload in testdata/webhooks and compares what it
// read with the .golden file beside it: the typed webhook as JSON, then one
// line per message, status, raw value and change error.
func TestGolden(t *testing.T) {
	for _, path := range webhookFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			w := parseFile(t, path)
			got := describe(t, w)
			golden := strings.TrimSuffix(path, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./schemas -run TestGolden -update, then review)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			checkInvariants(t, w, strings.HasPrefix(filepath.Base(path), "change_with_bad"))
		})
	}
}

// describe renders what the parser read, for golden files.
func describe(t *testing.T, w *schemas.Webhook) string {
	t.Helper()
	js, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		t.Fatalf("cannot marshal webhook: %v", err)
	}
	var b strings.Builder
	b.Write(js)
	b.WriteString("\n")
	for e, c := range w.Changes() {
		if c.Err != nil {
			fmt.Fprintf(&b, "change %s %s: error: %v\n", e.ID, c.Field, c.Err)
		} else if raw, ok := c.Value.(json.RawMessage); ok {
			fmt.Fprintf(&b, "change %s %s: raw %d bytes\n", e.ID, c.Field, len(raw))
		}
	}
	for v, m := range w.Messages() {
		fmt.Fprintf(&b, "message %s: type=%s key=%s text=%q", m.ID, m.Type, m.UserKey(), m.Text())
		if c := v.Contact(m); c != nil {
			fmt.Fprintf(&b, " contact=%q", c.Profile.Name)
		}
		if obj := m.Object(); obj != nil && !modelled[m.Type] {
			fmt.Fprintf(&b, " object=%s", compact(t, obj))
		}
		b.WriteString("\n")
	}
	for _, s := range w.Statuses() {
		fmt.Fprintf(&b, "status %s: %s key=%s at %s\n", s.ID, s.Status, s.UserKey(), s.Timestamp.Format(time.RFC3339))
	}
	return b.String()
}

// modelled are the message types with a typed field in Message.
var modelled = map[string]bool{
	schemas.TypeText: true, schemas.TypeImage: true, schemas.TypeVideo: true, schemas.TypeAudio: true,
	schemas.TypeDocument: true, schemas.TypeSticker: true, schemas.TypeLocation: true,
	schemas.TypeContacts: true, schemas.TypeInteractive: true, schemas.TypeButton: true,
	schemas.TypeReaction: true, schemas.TypeOrder: true, schemas.TypeSystem: true,
	schemas.TypeUnsupported: true, schemas.TypeEdit: true, schemas.TypeRevoke: true,
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("cannot compact %s: %v", raw, err)
	}
	return b.String()
}

// checkInvariants checks what holds for every webhook: each message and
// status has an id and keeps its JSON, each change keeps its value, and
// only the payloads meant to carry a bad value have a change error.
func checkInvariants(t *testing.T, w *schemas.Webhook, wantErr bool) {
	t.Helper()
	if w.Object != schemas.ObjectWhatsApp {
		t.Errorf("got object %q; want %q", w.Object, schemas.ObjectWhatsApp)
	}
	var errs int
	for _, c := range w.Changes() {
		if c.Err != nil {
			errs++
		}
		if !json.Valid(c.Raw) {
			t.Errorf("change %s: got invalid Raw %q", c.Field, c.Raw)
		}
	}
	if got := errs > 0; got != wantErr {
		t.Errorf("got %d change errors; want errors %v", errs, wantErr)
	}
	for _, m := range w.Messages() {
		if m.ID == "" || m.Type == "" || !json.Valid(m.Raw) {
			t.Errorf("message %q: got type %q, raw valid %v; want id, type and valid raw", m.ID, m.Type, json.Valid(m.Raw))
		}
	}
	for _, s := range w.Statuses() {
		if s.ID == "" || s.Status == "" || !json.Valid(s.Raw) {
			t.Errorf("status %q: got status %q, raw valid %v; want id, status and valid raw", s.ID, s.Status, json.Valid(s.Raw))
		}
	}
}

// TestRoundTrip checks that marshalling a parsed webhook and parsing it again
// gives the same typed webhook.
func TestRoundTrip(t *testing.T) {
	for _, path := range webhookFiles(t) {
		w := parseFile(t, path)
		first, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("%s: cannot marshal: %v", path, err)
		}
		w2, err := schemas.ParseWebhook(first)
		if err != nil {
			t.Fatalf("%s: cannot parse marshalled webhook: %v", path, err)
		}
		second, err := json.Marshal(w2)
		if err != nil {
			t.Fatalf("%s: cannot marshal again: %v", path, err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("%s: got\n%s\nafter a round trip; want\n%s", path, second, first)
		}
	}
}

// TestReferenceFixtures parses Meta's published payloads kept beside the
// reference notes.
func TestReferenceFixtures(t *testing.T) {
	const dir = "../../shared/reference/fixtures"
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no fixtures in %s", dir)
		}
		t.Skipf("no fixtures in %s", dir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			w := parseFile(t, path)
			checkInvariants(t, w, false)
			var n int
			for _, c := range w.Changes() {
				n++
				if _, raw := c.Value.(json.RawMessage); raw || c.Value == nil {
					t.Errorf("field %s: got value %T; want a typed value", c.Field, c.Value)
				}
			}
			if n == 0 {
				t.Error("got no changes")
			}
		})
	}
	// Spot checks on values the fixtures are known to hold.
	w := parseFile(t, filepath.Join(dir, "webhook_message_template_status_update_approved.json"))
	if got := w.Entries[0].Changes[0].Value.(*schemas.TemplateStatusUpdate).MessageTemplateID; got != "1689556908129832" {
		t.Errorf("got message_template_id %q; want 1689556908129832", got)
	}
	w = parseFile(t, filepath.Join(dir, "webhook_message_reaction_removed_empty_emoji.json"))
	for _, m := range w.Messages() {
		if !m.Reaction.Removed() {
			t.Errorf("got Removed() false for emoji %q; want true", m.Reaction.Emoji)
		}
	}
}

func TestParseWebhookErrors(t *testing.T) {
	f := func(body string) {
		t.Helper()
		w, err := schemas.ParseWebhook([]byte(body))
		if err == nil || w != nil {
			t.Errorf("ParseWebhook(%q): got %v, %v; want an error", body, w, err)
		} else if !strings.HasPrefix(err.Error(), "cannot parse webhook: ") {
			t.Errorf("ParseWebhook(%q): got error %q; want it to start with %q", body, err, "cannot parse webhook: ")
		}
	}
	f(``)
	f(`  `)
	f(`null`)
	f(`[]`)
	f(`"x"`)
	f(`{`)
	f(`{"entry": {}}`)
	f(`{"entry": [{"changes": {}}]}`)
	f(`{"entry": [{"changes": [{"field": 7}]}]}`)
	f(`{"entry": [{"id": 310958472216044}]}`)
	f(`{} trailing`)
}

func TestParseWebhookEmpty(t *testing.T) {
	w, err := schemas.ParseWebhook([]byte(` {} `))
	if err != nil || len(w.Entries) != 0 {
		t.Fatalf("got %+v, %v; want an empty webhook", w, err)
	}
}

// parseMessage parses one message JSON inside a minimal webhook.
func parseMessage(t *testing.T, msg string) *schemas.Message {
	t.Helper()
	w := parseValue(t, schemas.FieldMessages, `{"messages": [`+msg+`]}`)
	v := w.Entries[0].Changes[0].Value.(*schemas.MessagesValue)
	if len(v.Messages) != 1 {
		t.Fatalf("got %d messages; want 1", len(v.Messages))
	}
	return &v.Messages[0]
}

// parseValue parses a webhook with one change of field with value.
func parseValue(t *testing.T, field, value string) *schemas.Webhook {
	t.Helper()
	body := `{"object":"whatsapp_business_account","entry":[{"id":"310958472216044","changes":[{"field":"` +
		field + `","value":` + value + `}]}]}`
	w, err := schemas.ParseWebhook([]byte(body))
	if err != nil {
		t.Fatalf("ParseWebhook(%s): %v", body, err)
	}
	if c := w.Entries[0].Changes[0]; c.Err != nil {
		t.Fatalf("ParseWebhook(%s): change error %v", body, c.Err)
	}
	return w
}

func TestMessageText(t *testing.T) {
	f := func(msg, want string) {
		t.Helper()
		if got := parseMessage(t, msg).Text(); got != want {
			t.Errorf("Text() of %s: got %q; want %q", msg, got, want)
		}
	}
	f(`{"type":"text","text":{"body":"hello"}}`, "hello")
	f(`{"type":"text","text":{"body":"caf\u00e9 \ud83d\ude00"}}`, "café 😀")
	f(`{"type":"image","image":{"id":"1","caption":"look"}}`, "look")
	f(`{"type":"video","video":{"id":"1","caption":"watch"}}`, "watch")
	f(`{"type":"document","document":{"id":"1","filename":"a.pdf","caption":"read"}}`, "read")
	f(`{"type":"document","document":{"id":"1","filename":"a.pdf"}}`, "")
	f(`{"type":"audio","audio":{"id":"1","voice":true}}`, "")
	f(`{"type":"sticker","sticker":{"id":"1","animated":true}}`, "")
	f(`{"type":"button","button":{"payload":"P","text":"Stop promotions"}}`, "Stop promotions")
	f(`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b","title":"Yes"}}}`, "Yes")
	f(`{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r","title":"Row","description":"d"}}}`, "Row")
	f(`{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{}"}}}`, "")
	f(`{"type":"interactive","interactive":{"type":"call_permission_reply","call_permission_reply":{"response":"accept"}}}`, "")
	f(`{"type":"reaction","reaction":{"message_id":"wamid.1","emoji":"\ud83d\udc4d"}}`, "👍")
	f(`{"type":"reaction","reaction":{"message_id":"wamid.1","emoji":""}}`, "")
	f(`{"type":"order","order":{"catalog_id":"1","text":"gift wrap","product_items":[]}}`, "gift wrap")
	f(`{"type":"location","location":{"latitude":1,"longitude":2,"name":"Cafe","address":"1 Main St"}}`, "Cafe, 1 Main St")
	f(`{"type":"location","location":{"latitude":1,"longitude":2}}`, "")
	f(`{"type":"contacts","contacts":[{"name":{"formatted_name":"A B"}},{"name":{"formatted_name":"C"}}]}`, "A B, C")
	f(`{"type":"system","system":{"body":"User A changed number","type":"user_changed_number"}}`, "User A changed number")
	f(`{"type":"edit","edit":{"original_message_id":"wamid.0","message":{"type":"text","text":{"body":"fixed"}}}}`, "fixed")
	f(`{"type":"edit","edit":{"original_message_id":"wamid.0"}}`, "")
	f(`{"type":"revoke","revoke":{"original_message_id":"wamid.0"}}`, "")
	f(`{"type":"request_welcome"}`, "")
	f(`{"type":"poll_vote","poll_vote":{"text":"not read"}}`, "")
}

func TestMessageUserKey(t *testing.T) {
	f := func(msg, want string) {
		t.Helper()
		if got := parseMessage(t, msg).UserKey(); got != want {
			t.Errorf("UserKey() of %s: got %q; want %q", msg, got, want)
		}
	}
	f(`{"from":"5215550001111","type":"text"}`, "5215550001111")
	f(`{"from_user_id":"MX.48201","type":"text"}`, "MX.48201")
	f(`{"from":"5215550001111","from_user_id":"MX.48201","from_parent_user_id":"MX.ENT.1","type":"text"}`, "MX.48201")
	f(`{"type":"system","system":{"type":"user_changed_user_id","user_id":"PT.1"}}`, "")
}

func TestStatusUserKey(t *testing.T) {
	f := func(status, want string) {
		t.Helper()
		w := parseValue(t, schemas.FieldMessages, `{"statuses":[`+status+`]}`)
		s := &w.Entries[0].Changes[0].Value.(*schemas.MessagesValue).Statuses[0]
		if got := s.UserKey(); got != want {
			t.Errorf("UserKey() of %s: got %q; want %q", status, got, want)
		}
	}
	f(`{"id":"wamid.1","status":"sent","recipient_id":"4915550002222"}`, "4915550002222")
	f(`{"id":"wamid.1","status":"sent","recipient_user_id":"DE.77"}`, "DE.77")
	f(`{"id":"wamid.1","status":"sent","recipient_id":"4915550002222","recipient_user_id":"DE.77"}`, "DE.77")
	f(`{"id":"wamid.1","status":"read","recipient_id":"1203630@g.us","recipient_type":"group","recipient_participant_user_id":"BR.55"}`, "1203630@g.us")
}

func TestContactLookup(t *testing.T) {
	w := parseFile(t, "testdata/webhooks/messages_batch.json")
	var got []string
	for v, m := range w.Messages() {
		c := v.Contact(m)
		if c == nil {
			t.Fatalf("message %s: got no contact", m.ID)
		}
		got = append(got, m.ID+"="+c.Profile.Name+"/"+c.UserKey())
	}
	want := "wamid.BATCH0001=Lucia Perez/MX.4820193746510298374 wamid.BATCH0002=Ana/BR.5502918374650192837 wamid.BATCH0003=Jonas/4915550002222"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q; want %q", strings.Join(got, " "), want)
	}
}

func TestReactionRemoved(t *testing.T) {
	f := func(reaction string, want bool) {
		t.Helper()
		m := parseMessage(t, `{"type":"reaction","reaction":`+reaction+`}`)
		if got := m.Reaction.Removed(); got != want {
			t.Errorf("Removed() of %s: got %v; want %v", reaction, got, want)
		}
	}
	f(`{"message_id":"wamid.1","emoji":"\u2764\ufe0f"}`, false)
	f(`{"message_id":"wamid.1","emoji":""}`, true)
	f(`{"message_id":"wamid.1"}`, true)
	f(`{"message_id":"wamid.1","emoji":null}`, true)
}

func TestTimestamp(t *testing.T) {
	f := func(in string, want time.Time) {
		t.Helper()
		var ts schemas.Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil {
			t.Fatalf("Unmarshal(%s): %v", in, err)
		}
		if !ts.Equal(want) || ts.IsZero() != want.IsZero() {
			t.Errorf("Unmarshal(%s): got %v; want %v", in, ts.Time, want)
		}
	}
	sec := time.Date(2025, 10, 31, 9, 0, 34, 0, time.UTC) // 1761901234
	f(`"1761901234"`, sec)
	f(`1761901234`, sec)
	f(`"1761901234567"`, sec.Add(567*time.Millisecond))
	f(`1761901234567`, sec.Add(567*time.Millisecond))
	f(`"253402300799"`, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)) // the last second allowed
	f(`1000000000000`, time.UnixMilli(1e12))                              // from 1e12: milliseconds, 2001-09-09
	f(`"2025-10-31T09:00:34Z"`, sec)
	f(`"2025-10-31T11:00:34.5+02:00"`, sec.Add(500*time.Millisecond))
	f(`""`, time.Time{})
	f(`null`, time.Time{})
	f(`0`, time.Time{})
	f(`"0"`, time.Time{})

	bad := func(in string) {
		t.Helper()
		var ts schemas.Timestamp
		err := json.Unmarshal([]byte(in), &ts)
		if err == nil || !strings.Contains(err.Error(), "cannot parse timestamp") {
			t.Errorf("Unmarshal(%s): got %v, %v; want a cannot parse timestamp error", in, ts.Time, err)
		}
		if !ts.IsZero() {
			t.Errorf("Unmarshal(%s): got %v; want the zero time with the error", in, ts.Time)
		}
	}
	bad(`"yesterday"`)
	bad(`"-5"`)
	bad(`-5`)
	bad(`1761901234.5`)
	bad(`1.7e9`)
	bad(`" 1761901234"`)
	bad(`"99999999999999999999"`)
	bad(`253402300800`)                // seconds, the year 10000
	bad(`999999999999`)                // seconds below 1e12, year 33658
	bad(`999999999999999999`)          // milliseconds, past the year 9999
	bad(`"9999-12-31T23:59:59-01:00"`) // the year 10000 in UTC
	bad(`"0000-01-01T00:00:00+01:00"`) // the year -1 in UTC
	bad(`true`)
	bad(`{}`)
	bad(`["1761901234"]`)
}

func TestTimestampMarshal(t *testing.T) {
	f := func(ts schemas.Timestamp, want string) {
		t.Helper()
		got, err := json.Marshal(ts)
		if err != nil || string(got) != want {
			t.Errorf("Marshal(%v): got %s, %v; want %s", ts.Time, got, err, want)
		}
	}
	f(schemas.Timestamp{}, `""`)
	f(schemas.Timestamp{Time: time.Unix(1761901234, 0)}, `"2025-10-31T09:00:34Z"`)
	f(schemas.Timestamp{Time: time.UnixMilli(1761901234567)}, `"2025-10-31T09:00:34.567Z"`)
}

func TestScalar(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		var s schemas.Scalar
		if err := json.Unmarshal([]byte(in), &s); err != nil || string(s) != want {
			t.Errorf("Unmarshal(%s): got %q, %v; want %q", in, s, err, want)
		}
	}
	f(`9876543210987653`, "9876543210987653") // above 2^53: a float64 would make it ...652
	f(`"1689556908129832"`, "1689556908129832")
	f(`"TIER_2K"`, "TIER_2K")
	f(`2000`, "2000")
	f(`129.99`, "129.99")
	f(`true`, "true")
	f(`null`, "")
	f(`"caf\u00e9"`, "café")
	for _, in := range []string{`{}`, `[1]`} {
		var s schemas.Scalar
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s): got %q; want an error", in, s)
		}
	}
}

func TestTemplateIDPrecision(t *testing.T) {
	f := func(id string) {
		t.Helper()
		w := parseValue(t, schemas.FieldTemplateStatusUpdate, `{"event":"APPROVED","message_template_id":`+id+`}`)
		if got := w.Entries[0].Changes[0].Value.(*schemas.TemplateStatusUpdate).MessageTemplateID; string(got) != id {
			t.Errorf("got message_template_id %q; want %q", got, id)
		}
	}
	f("1689556908129832")
	f("9007199254740993") // 2^53+1, the first integer a float64 cannot hold
	f("9876543210987653")
	f("18446744073709551617") // past uint64 too

	w := parseFile(t, "testdata/webhooks/message_template_quality_update.json")
	if got := w.Entries[0].Changes[0].Value.(*schemas.TemplateQualityUpdate).MessageTemplateID; got != "9007199254740993" {
		t.Errorf("got %q from the quality update; want 9007199254740993", got)
	}
}

func TestMillisecondTimestamps(t *testing.T) {
	w := parseFile(t, "testdata/webhooks/message_text_ms_timestamp.json")
	if got, want := w.Entries[0].Time.Time, time.UnixMilli(1761902500123).UTC(); !got.Equal(want) {
		t.Errorf("got entry time %v; want %v", got, want)
	}
	for _, m := range w.Messages() {
		if got, want := m.Timestamp.Time, time.UnixMilli(1761902500456).UTC(); !got.Equal(want) {
			t.Errorf("got message time %v; want %v", got, want)
		}
	}
}

func TestUnknownMessageType(t *testing.T) {
	m := parseMessage(t, `{"from":"4915550002222","id":"wamid.P","timestamp":"1761905300","type":"poll_vote",`+
		`"poll_vote":{"poll_message_id":"wamid.Q","selected_options":[{"id":"opt-2"}]},"new_key":1}`)
	if m.Type != "poll_vote" || m.ID != "wamid.P" || m.Timestamp.Unix() != 1761905300 {
		t.Errorf("got type %q id %q time %v; want poll_vote, wamid.P, 1761905300", m.Type, m.ID, m.Timestamp.Unix())
	}
	if got, want := string(m.Object()), `{"poll_message_id":"wamid.Q","selected_options":[{"id":"opt-2"}]}`; got != want {
		t.Errorf("got Object() %s; want %s", got, want)
	}
	if !bytes.Contains(m.Raw, []byte(`"new_key":1`)) {
		t.Errorf("got Raw %s; want it to keep new_key", m.Raw)
	}
	if got := parseMessage(t, `{"type":"request_welcome"}`).Object(); got != nil {
		t.Errorf("got Object() %s for request_welcome; want nil", got)
	}
}

func TestUnknownField(t *testing.T) {
	w := parseFile(t, "testdata/webhooks/unknown_field.json")
	c := &w.Entries[0].Changes[0]
	raw, ok := c.Value.(json.RawMessage)
	if !ok || c.Err != nil {
		t.Fatalf("got value %T, error %v; want json.RawMessage, no error", c.Value, c.Err)
	}
	if c.Field != "smb_message_echoes" || !bytes.Equal(raw, c.Raw) || !bytes.Contains(raw, []byte(`"sent from the phone app"`)) {
		t.Errorf("got field %q, value %s; want smb_message_echoes and the value as sent", c.Field, raw)
	}
}

func TestChangeError(t *testing.T) {
	w := parseFile(t, "testdata/webhooks/change_with_bad_timestamp.json")
	bad, good := &w.Entries[0].Changes[0], &w.Entries[0].Changes[1]
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "cannot parse messages value: cannot parse timestamp \"yesterday\"") {
		t.Errorf("got error %v; want cannot parse messages value: cannot parse timestamp \"yesterday\"…", bad.Err)
	}
	if raw, ok := bad.Value.(json.RawMessage); !ok || !bytes.Contains(raw, []byte("my clock is broken")) {
		t.Errorf("got value %T %s; want the raw value", bad.Value, bad.Value)
	}
	if good.Err != nil {
		t.Errorf("got error %v on the good change; want none", good.Err)
	}
	var ids []string
	for _, m := range w.Messages() {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "wamid.GOODTS0002" {
		t.Errorf("got messages %v; want only wamid.GOODTS0002", ids)
	}
}

func TestErrorData(t *testing.T) {
	f := func(errJSON string, want schemas.Error) {
		t.Helper()
		w := parseValue(t, schemas.FieldMessages, `{"errors":[`+errJSON+`]}`)
		if got := w.Entries[0].Changes[0].Value.(*schemas.MessagesValue).Errors[0]; got != want {
			t.Errorf("got %+v; want %+v", got, want)
		}
	}
	f(`{"code":131049,"title":"T","message":"T","error_data":{"details":"D"},"href":"/h"}`,
		schemas.Error{Code: 131049, Title: "T", Message: "T", ErrorData: schemas.ErrorData{Details: "D"}, Href: "/h"})
	f(`{"code":130429,"error_data":"as a string"}`,
		schemas.Error{Code: 130429, ErrorData: schemas.ErrorData{Details: "as a string"}})
	f(`{"code":131000,"error_data":{"messaging_product":"whatsapp","details":"D"}}`,
		schemas.Error{Code: 131000, ErrorData: schemas.ErrorData{Details: "D", MessagingProduct: "whatsapp"}})
	f(`{"code":131000,"error_data":null}`, schemas.Error{Code: 131000})
}

func TestIterators(t *testing.T) {
	w := parseFile(t, "testdata/webhooks/messages_batch.json")
	var got []string
	for e, c := range w.Changes() {
		got = append(got, e.ID+"/"+c.Field)
	}
	for v, m := range w.Messages() {
		got = append(got, v.Metadata.PhoneNumberID+":"+m.Text())
	}
	for _, s := range w.Statuses() {
		got = append(got, s.ID+":"+s.Status)
	}
	want := "310958472216044/messages 310958472216044/messages 420193857730211/messages " +
		"118429306451287:first 118429306451287:second 129384756610293:third, other number " +
		"wamid.BATCHOUT01:delivered wamid.BATCHOUT01:read"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q; want %q", strings.Join(got, " "), want)
	}
	for range w.Messages() {
		break // stopping early must not panic
	}
}

// TestRawIsACopy checks that the parsed webhook does not share memory with
// the body, which the caller may reuse.
func TestRawIsACopy(t *testing.T) {
	body, err := os.ReadFile("testdata/webhooks/message_text.json")
	if err != nil {
		t.Fatal(err)
	}
	w, err := schemas.ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	var m *schemas.Message
	for _, m = range w.Messages() {
	}
	want := string(m.Raw)
	wantValue := string(w.Entries[0].Changes[0].Raw)
	for i := range body {
		body[i] = 'x'
	}
	if string(m.Raw) != want || string(w.Entries[0].Changes[0].Raw) != wantValue {
		t.Errorf("got Raw changed with the body; want a copy")
	}
}
