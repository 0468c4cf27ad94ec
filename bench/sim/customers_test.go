package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"wasp/schemas"
)

// kindOf tells which of InboundTypes a received message is.
func kindOf(m *schemas.Message) string {
	switch m.Type {
	case schemas.TypeText:
		switch {
		case m.Referral != nil:
			return "referral"
		case m.Context != nil && m.Context.ReferredProduct != nil:
			return "product_inquiry"
		case m.Context != nil:
			return "reply"
		}
	case schemas.TypeAudio:
		if m.Audio != nil && m.Audio.Voice {
			return "voice"
		}
	case schemas.TypeInteractive:
		if m.Interactive != nil {
			return m.Interactive.Type
		}
	}
	return m.Type
}

// inboundFixtures are the reference payloads each kind is shaped like,
// and the paths a generated message may lack (optional there).
var inboundFixtures = map[string]struct {
	file     string
	optional []string
}{
	"text":            {"webhook_message_text.json", nil},
	"referral":        {"webhook_message_text_click_to_whatsapp_ad_referral.json", nil},
	"reply":           {"webhook_message_text_reply_context.json", nil},
	"product_inquiry": {"webhook_message_text_message_business_button_referred_product.json", nil},
	"image":           {"webhook_message_image.json", nil},
	"voice":           {"webhook_message_audio_voice_note.json", nil},
	"document":        {"webhook_message_document_forwarded.json", []string{"entry[].changes[].value.messages[].context"}},
	"location":        {"webhook_message_location_named_place.json", []string{"entry[].changes[].value.messages[].context"}},
	"contacts":        {"webhook_message_contacts.json", nil},
	"button_reply":    {"webhook_message_interactive_button_reply.json", nil},
	"list_reply":      {"webhook_message_interactive_list_reply.json", nil},
	"nfm_reply":       {"webhook_message_interactive_nfm_reply_flow_completion.json", nil},
	"button":          {"webhook_message_button_template_quick_reply.json", nil},
	"reaction":        {"webhook_message_reaction.json", nil},
	"order":           {"webhook_message_order.json", nil},
	"system":          {"webhook_message_system_user_changed_number.json", nil},
	"unsupported":     {"webhook_message_unsupported_131051.json", nil},
}

func TestInboundEveryType(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Customers = Customers{Users: 10, ReplyToBot: true}
	s := start(t, cfg)
	for _, kind := range InboundTypes {
		// User 6 of the simulated customers has a phone, a BSUID and a parent BSUID.
		wamid, err := s.Inbound(phoneID, "16500000006", kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var body []byte
		waitFor(t, kind+" to arrive", func() bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, b := range r.bodies {
				if bytes.Contains(b, []byte(`"`+wamid+`"`)) {
					body = b
					return true
				}
			}
			return false
		})
		hook, err := schemas.ParseWebhook(body)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		n := 0
		for v, m := range hook.Messages() {
			n++
			if got := kindOf(m); got != kind {
				t.Errorf("%s: got a message of kind %s (type %s)", kind, got, m.Type)
			}
			if m.ID != wamid || m.From != "16500000006" || m.FromUserID != "US.10000000000000000006" || m.Timestamp.IsZero() {
				t.Errorf("%s: got id %s from %s/%s at %v; want %s from the user", kind, m.ID, m.From, m.FromUserID, m.Timestamp, wamid)
			}
			if v.Metadata.PhoneNumberID != phoneID || v.Metadata.DisplayPhoneNumber != DefaultDisplayNumber || v.MessagingProduct != "whatsapp" {
				t.Errorf("%s: got metadata %+v", kind, v.Metadata)
			}
			if kind == "system" {
				if len(v.Contacts) != 0 || m.System == nil || m.System.Type != schemas.SystemUserChangedNumber {
					t.Errorf("system: got contacts %v, system %+v; want no contacts and user_changed_number", v.Contacts, m.System)
				}
				continue
			}
			if c := v.Contact(m); c == nil || c.WaID != "16500000006" || c.UserID != "US.10000000000000000006" || c.Profile.Name == "" {
				t.Errorf("%s: got contact %+v; want the sender's", kind, c)
			}
			if m.Object() == nil {
				t.Errorf("%s: the message has no %s object", kind, m.Type)
			}
		}
		if n != 1 {
			t.Errorf("%s: got %d messages; want 1", kind, n)
		}
		if !bytes.Equal(body, escapeNonASCII(body)) {
			t.Errorf("%s: the body has raw non-ASCII bytes; Meta escapes them", kind)
		}
		if fx, ok := inboundFixtures[kind]; ok {
			var got any
			json.Unmarshal(body, &got)
			if missing := missingPaths(fixture(t, fx.file), got, fx.optional...); len(missing) > 0 {
				t.Errorf("%s: lacks %v of %s", kind, missing, fx.file)
			}
		}
	}
	waitFor(t, "the deliveries counted", func() bool { return s.Report().Webhooks.Messages == int64(len(InboundTypes)) })
	rep := s.Report()
	if rep.Inbound.Generated != int64(len(InboundTypes)) || rep.Numbers[phoneID].Inbound != int64(len(InboundTypes)) || rep.Webhooks.Messages != int64(len(InboundTypes)) {
		t.Errorf("got inbound %+v, number %d, delivered %d; want %d each", rep.Inbound, rep.Numbers[phoneID].Inbound, rep.Webhooks.Messages, len(InboundTypes))
	}
	if _, err := s.Inbound(phoneID, "16505551234", "poll"); err == nil {
		t.Error("Inbound of an unknown type: got no error")
	}
}

func TestCustomersGenerate(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Batch = 0.5
	types := map[string]float64{}
	for _, k := range InboundTypes {
		types[k] = 1
	}
	cfg.Customers = Customers{Rate: 400, Users: 40, Types: types}
	cfg.Numbers = []Number{{PhoneNumberID: "111"}, {PhoneNumberID: "222"}}
	s := start(t, cfg)
	seen := func() map[string]int {
		_, msgs := r.messages()
		out := map[string]int{}
		for _, m := range msgs {
			out[kindOf(m)]++
		}
		return out
	}
	waitFor(t, "every inbound type", func() bool { return len(seen()) == len(InboundTypes) })
	for k := range seen() {
		if !contains(InboundTypes, k) {
			t.Errorf("got a message of kind %q, not in InboundTypes", k)
		}
	}
	vals, msgs := r.messages()
	numbers := map[string]bool{}
	var bsuid, username, batched bool
	for i, m := range msgs {
		v := vals[i]
		numbers[v.Metadata.PhoneNumberID] = true
		bsuid = bsuid || m.FromUserID != "" && m.From != ""
		username = username || m.From == "" && m.FromUserID != ""
		batched = batched || len(v.Messages) > 1
		if m.Type != schemas.TypeSystem {
			if c := v.Contact(m); c == nil || c.UserKey() != m.UserKey() {
				t.Errorf("message %s from %s: no matching contact in %+v", m.ID, m.UserKey(), v.Contacts)
			}
		}
	}
	if !bsuid || !username || !batched || len(numbers) != 2 {
		t.Errorf("got BSUID users %v, username users %v, batches %v, numbers %v; want all", bsuid, username, batched, numbers)
	}
	rep := s.Report()
	if rep.Inbound.Generated < int64(len(msgs)) || len(rep.Inbound.ByType) < len(InboundTypes)-1 {
		t.Errorf("got %+v; want every message counted", rep.Inbound)
	}
}

func TestReplyToBot(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Statuses = false
	cfg.EnforceWindow = true
	cfg.Customers = Customers{Users: 10, ReplyToBot: true, Turns: 2}
	s := start(t, cfg)
	const user = "16500000003"
	if status, m := send(t, s, textTo("+"+user, "hello?")); errorCode(m) != 131047 {
		t.Fatalf("before the customer wrote: got %d %v; want 131047", status, m)
	}
	if _, err := s.Inbound(phoneID, user, "text"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the customer's message", func() bool { _, msgs := r.messages(); return len(msgs) == 1 })
	status, m := send(t, s, interactiveButtonsTo(user, "Yes", "No"))
	if status != 200 {
		t.Fatalf("the bot's buttons: got %d %v; want accepted in the window", status, m)
	}
	buttons := wamidOf(m)
	reply := func(to string) *schemas.Message {
		var got *schemas.Message
		waitFor(t, "the customer's answer to "+to, func() bool {
			_, msgs := r.messages()
			for _, m := range msgs {
				if m.Context != nil && m.Context.ID == to {
					got = m
					return true
				}
			}
			return false
		})
		return got
	}
	m1 := reply(buttons)
	if m1.Type != "interactive" || m1.Interactive.Type != "button_reply" || (m1.Interactive.ButtonReply.Title != "Yes" && m1.Interactive.ButtonReply.Title != "No") ||
		m1.Context.From != DefaultDisplayNumber || m1.From != user {
		t.Errorf("got %+v %+v; want a tap on one of the buttons quoting the bot", m1, m1.Interactive)
	}
	_, m = send(t, s, textTo(user, "Anything else?"))
	m2 := reply(wamidOf(m))
	if m2.Type != "text" || m2.TextBody.Body == "" {
		t.Errorf("got %+v; want a text answer", m2)
	}
	// Two turns, then the customer stops answering.
	send(t, s, textTo(user, "Bye"))
	if _, msgs := r.messages(); len(msgs) != 3 {
		t.Errorf("got %d inbound messages; want 3", len(msgs))
	}
	if f := s.Report().Inbound.FollowUps; f != 2 {
		t.Errorf("got %d follow-ups; want 2", f)
	}
}

func interactiveButtonsTo(to string, titles ...string) string {
	return strings.Replace(interactiveButtons(titles...), `"16505551234"`, `"`+to+`"`, 1)
}

func TestUsernameUsers(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.EnforceWindow = true
	cfg.Customers = Customers{Users: 10, ReplyToBot: true}
	s := start(t, cfg)
	// User 9 is a username user: Meta shows their BSUID, not their phone.
	const bsuid = "US.10000000000000000009"
	wamid, err := s.Inbound(phoneID, bsuid, "text")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message", func() bool { _, msgs := r.messages(); return len(msgs) == 1 })
	vals, msgs := r.messages()
	m, v := msgs[0], vals[0]
	if m.ID != wamid || m.From != "" || m.FromUserID != bsuid || v.Contacts[0].WaID != "" || v.Contacts[0].UserID != bsuid ||
		v.Contacts[0].Profile.Username == "" || v.Contacts[0].ParentUserID == "" {
		t.Errorf("got message %+v, contact %+v; want the BSUID only", m, v.Contacts[0])
	}
	status, resp := send(t, s, `{"messaging_product":"whatsapp","recipient":"`+bsuid+`","type":"text","text":{"body":"hi"}}`)
	if status != 200 {
		t.Fatalf("send to the BSUID: got %d %v", status, resp)
	}
	waitFor(t, "sent", func() bool { return len(r.statuses()) > 0 })
	st := r.statuses()[0]
	if st.RecipientUserID != bsuid || st.RecipientID != "" || st.UserKey() != bsuid {
		t.Errorf("got status to %q/%q; want recipient_user_id only", st.RecipientID, st.RecipientUserID)
	}
	if sends := s.Sends(); sends[0].Recipient != bsuid || sends[0].To != "" {
		t.Errorf("got send %+v; want the recipient recorded", sends[0])
	}
}

func TestInboundMediaDownloads(t *testing.T) {
	r := newReceiver(t)
	s := start(t, webhookConfig(r))
	s.Inbound(phoneID, "16505551234", "image")
	waitFor(t, "the image", func() bool { _, msgs := r.messages(); return len(msgs) == 1 })
	_, msgs := r.messages()
	img := msgs[0].Image
	_, m := call(t, s, "GET", "/v25.0/"+img.ID, "")
	url, _ := m["url"].(string)
	if m["mime_type"] != "image/jpeg" || url == "" {
		t.Fatalf("got %v; want the media's url", m)
	}
	for _, u := range []string{url, img.URL} {
		status, data := callRaw(t, s, "GET", strings.TrimPrefix(u, s.URL()), "", testToken, nil)
		sum := sha256.Sum256(data)
		if status != 200 || base64.StdEncoding.EncodeToString(sum[:]) != img.SHA256 {
			t.Errorf("download %s: got %d, sha256 %x; want the file the webhook hashed", u, status, sum)
		}
	}
}
