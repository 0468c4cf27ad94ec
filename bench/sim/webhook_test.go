package sim

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"wasp/schemas"
)

func TestStatusWebhooks(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Concurrency = 1 // one POST at a time, so statuses arrive in order
	s := start(t, cfg)
	callback := schemas.Callback{CommandID: "cmd_0123456789abcdef01234567", ReplyTo: "wamid.in"}.Encode()
	status, m := send(t, s, `{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"¡hola!"},"biz_opaque_callback_data":"`+callback+`"}`)
	if status != 200 {
		t.Fatalf("send: got %d %v", status, m)
	}
	wamid := wamidOf(m)
	waitFor(t, "sent, delivered and read", func() bool { return len(r.statuses()) == 3 })
	sts := r.statuses()
	for i, want := range []string{"sent", "delivered", "read"} {
		st := sts[i]
		if st.Status != want || st.ID != wamid || st.RecipientID != "16505551234" || st.BizOpaqueCallbackData != callback {
			t.Errorf("status %d: got %s %s to %s with %q; want %s of %s with the callback data", i, st.Status, st.ID, st.RecipientID, st.BizOpaqueCallbackData, want, wamid)
		}
		if c, ok := schemas.ParseCallback(st.BizOpaqueCallbackData); !ok || c.CommandID != "cmd_0123456789abcdef01234567" || c.ReplyTo != "wamid.in" {
			t.Errorf("got callback %+v; want it parsed back", c)
		}
		if st.Conversation != nil {
			t.Errorf("status %s has a conversation; want the v24 shape without", want)
		}
		if hasPricing := st.Pricing != nil; hasPricing != (want != "read") {
			t.Errorf("status %s: pricing %v; want pricing on sent and delivered only", want, st.Pricing)
		} else if hasPricing && (st.Pricing.PricingModel != "PMP" || st.Pricing.Type != "free_customer_service" || st.Pricing.Category != "service" || st.Pricing.Billable) {
			t.Errorf("status %s: got pricing %+v; want PMP free_customer_service service", want, st.Pricing)
		}
		if d := time.Since(st.Timestamp.Time); d < -time.Second || d > time.Minute {
			t.Errorf("status %s: timestamp %v is not now", want, st.Timestamp)
		}
	}
	if r.badSig != 0 {
		t.Errorf("got %d webhooks with a bad signature", r.badSig)
	}
	// Shapes: the read status is the reference's v24 status; the sent one
	// is the PMP status without its conversation.
	var read, sent any
	json.Unmarshal(sts[2].Raw, &read)
	json.Unmarshal(sts[0].Raw, &sent)
	want := fixture(t, "webhook_status_v24_no_conversation_no_pricing.json")
	st := want.(map[string]any)["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)["statuses"].([]any)[0]
	if missing := missingPaths(st, read); len(missing) > 0 {
		t.Errorf("read status lacks %v", missing)
	}
	want = fixture(t, "webhook_status_sent_marketing_pmp.json")
	st = want.(map[string]any)["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)["statuses"].([]any)[0]
	if missing := missingPaths(st, sent, "conversation"); len(missing) > 0 {
		t.Errorf("sent status lacks %v", missing)
	}
	// The envelope is the reference's.
	r.mu.Lock()
	var body any
	json.Unmarshal(r.bodies[0], &body)
	r.mu.Unlock()
	if missing := missingPaths(fixture(t, "webhook_status_v24_no_conversation_no_pricing.json"), body); len(missing) > 0 {
		t.Errorf("envelope lacks %v", missing)
	}
	hook := r.hooks[0]
	if e := hook.Entries[0]; e.ID != wabaID || hook.Object != schemas.ObjectWhatsApp {
		t.Errorf("got entry %s, object %s; want the WABA and whatsapp_business_account", e.ID, hook.Object)
	}
	waitFor(t, "the deliveries counted", func() bool { return s.Report().Webhooks.Delivered == 3 })
	rep := s.Report().Webhooks
	if rep.Statuses["sent"] != 1 || rep.Statuses["delivered"] != 1 || rep.Statuses["read"] != 1 || rep.Delivered != 3 || rep.Errors != 0 {
		t.Errorf("got report %+v; want 3 statuses delivered", rep)
	}
}

func TestStatusVariants(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Conversation = true
	cfg.Templates = []Template{{Name: "promo", Language: "en_US", Category: "MARKETING"}}
	s := start(t, cfg)
	byID := func(id string) map[string]*schemas.Status {
		out := map[string]*schemas.Status{}
		for _, st := range r.statuses() {
			if st.ID == id {
				out[st.Status] = st
			}
		}
		return out
	}

	_, m := send(t, s, `{"messaging_product":"whatsapp","to":"16505551234","type":"audio","audio":{"id":"1234","voice":true}}`)
	voice := wamidOf(m)
	_, m = send(t, s, `{"messaging_product":"whatsapp","to":"16505551234","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"👍"}}`)
	reaction := wamidOf(m)
	_, m = send(t, s, templateSend("promo", "en_US", 0))
	tpl := wamidOf(m)
	waitFor(t, "played", func() bool { return byID(voice)["played"] != nil })
	waitFor(t, "the template's three statuses", func() bool { return len(byID(tpl)) == 3 })
	waitFor(t, "the reaction sent", func() bool { return byID(reaction)["sent"] != nil })

	sent := byID(tpl)["sent"]
	if p := sent.Pricing; p == nil || p.Type != "regular" || p.Category != "marketing" || !p.Billable {
		t.Errorf("template sent: got pricing %+v; want regular marketing billable", p)
	}
	if c := sent.Conversation; c == nil || c.ID == "" || c.ExpirationTimestamp.IsZero() || c.Origin.Type != "marketing" {
		t.Errorf("template sent: got conversation %+v; want id, expiration and origin", c)
	}
	if c := byID(tpl)["delivered"].Conversation; c == nil || !c.ExpirationTimestamp.IsZero() {
		t.Errorf("template delivered: got conversation %+v; want one without expiration", c)
	}
	if byID(tpl)["read"].Conversation != nil {
		t.Error("template read carries a conversation; want it on sent and delivered only")
	}
	var raw any
	json.Unmarshal(sent.Raw, &raw)
	want := fixture(t, "webhook_status_sent_marketing_pmp.json")
	st := want.(map[string]any)["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)["statuses"].([]any)[0]
	if missing := missingPaths(st, raw); len(missing) > 0 {
		t.Errorf("v23-shaped sent status lacks %v", missing)
	}
	// A reaction gets sent only, and no more.
	time.Sleep(50 * time.Millisecond)
	if got := byID(reaction); len(got) != 1 {
		t.Errorf("reaction: got statuses %v; want sent only", got)
	}
}

func TestFailedStatuses(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.FailRate = 1
	cfg.Webhook.FailCodes = []int{131049}
	s := start(t, cfg)
	_, m := send(t, s, textTo("16505551234", "hi"))
	waitFor(t, "failed", func() bool {
		for _, st := range r.statuses() {
			if st.Status == "failed" {
				return true
			}
		}
		return false
	})
	for _, st := range r.statuses() {
		if st.ID != wamidOf(m) || st.Status != "failed" && st.Status != "sent" {
			t.Errorf("got %s %s; want sent or failed of the send", st.ID, st.Status)
		}
		if st.Status != "failed" {
			continue
		}
		if len(st.Errors) != 1 || st.Errors[0].Code != 131049 || st.Errors[0].ErrorData.Details == "" || st.Errors[0].Title == "" {
			t.Errorf("got errors %+v; want 131049 with title and details", st.Errors)
		}
		var raw any
		json.Unmarshal(st.Raw, &raw)
		want := fixture(t, "webhook_status_failed_131049.json")
		fst := want.(map[string]any)["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)["statuses"].([]any)[0]
		if missing := missingPaths(fst, raw); len(missing) > 0 {
			t.Errorf("failed status lacks %v", missing)
		}
	}
}

func TestWebhookRetries(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Statuses = false
	cfg.Webhook.RetryBackoff = 20 * time.Millisecond
	s := start(t, cfg)
	r.fail.Store(3)
	if _, err := s.Inbound(phoneID, "16505551234", "text"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message after 3 failures", func() bool { return r.posts() == 1 && s.Report().Webhooks.Delivered == 1 })
	rep := s.Report().Webhooks
	if rep.Attempts != 4 || rep.Errors != 3 || rep.Retries != 3 || rep.Delivered != 1 || rep.Messages != 1 || rep.Failed != 0 {
		t.Errorf("got %+v; want 4 attempts, 3 errors and retries, 1 delivered", rep)
	}

	// Given up after MaxAttempts.
	cfg.Webhook.MaxAttempts = 2
	s = start(t, cfg)
	r.fail.Store(2)
	s.Inbound(phoneID, "16505551234", "text")
	waitFor(t, "the POST to be given up", func() bool { return s.Report().Webhooks.Failed == 1 })
	if rep := s.Report().Webhooks; rep.Attempts != 2 || rep.Delivered != 0 {
		t.Errorf("got %+v; want 2 attempts, nothing delivered", rep)
	}
}

func TestDuplicatesAndOutOfOrder(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Duplicates = 1
	cfg.Webhook.OutOfOrder = 1
	cfg.Webhook.Concurrency = 1
	cfg.Webhook.Delay = Range{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond}
	s := start(t, cfg)
	_, m := send(t, s, textTo("16505551234", "hi"))
	waitFor(t, "every status twice", func() bool { return r.posts() == 6 })
	sts := r.statuses()
	count := map[string]int{}
	for _, st := range sts {
		count[st.Status]++
		if st.ID != wamidOf(m) {
			t.Errorf("got status of %s; want %s", st.ID, wamidOf(m))
		}
	}
	if count["sent"] != 2 || count["delivered"] != 2 || count["read"] != 2 {
		t.Errorf("got %v; want each status twice", count)
	}
	if sts[0].Status != "read" {
		t.Errorf("first status to arrive: got %s; want read (reversed order)", sts[0].Status)
	}
	r.mu.Lock()
	same := 0
	for i, a := range r.bodies {
		for _, b := range r.bodies[i+1:] {
			if bytes.Equal(a, b) {
				same++
			}
		}
	}
	r.mu.Unlock()
	if same != 3 {
		t.Errorf("got %d identical pairs of bodies; want each of 3 bodies duplicated byte for byte", same)
	}
	if rep := s.Report().Webhooks; rep.Duplicates != 3 || rep.Statuses["read"] != 1 {
		t.Errorf("got %+v; want 3 duplicates, statuses counted once", rep)
	}
	// Each status keeps its true timestamp.
	if sent, read := find(sts, "sent"), find(sts, "read"); read.Timestamp.Before(sent.Timestamp.Time) {
		t.Errorf("read at %v before sent at %v; want true timestamps", read.Timestamp, sent.Timestamp)
	}
}

func find(sts []*schemas.Status, status string) *schemas.Status {
	for _, st := range sts {
		if st.Status == status {
			return st
		}
	}
	return nil
}

func TestBatchedStatuses(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Webhook.Batch = 1
	s := start(t, cfg)
	send(t, s, textTo("16505551234", "hi"))
	waitFor(t, "three statuses", func() bool { return len(r.statuses()) == 3 })
	if r.posts() >= 3 {
		t.Errorf("got %d POSTs for 3 statuses due together; want them batched", r.posts())
	}
}

func TestTemplateStatusWebhook(t *testing.T) {
	r := newReceiver(t)
	s := start(t, webhookConfig(r))
	status, m := call(t, s, "POST", "/v25.0/"+wabaID+"/message_templates",
		`{"name":"order_confirmation","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Order {{1}} confirmed"}]}`)
	if status != 200 {
		t.Fatalf("create: got %d %v", status, m)
	}
	waitFor(t, "the template status update", func() bool { return r.posts() == 1 })
	r.mu.Lock()
	hook, body := r.hooks[0], r.bodies[0]
	r.mu.Unlock()
	for e, c := range hook.Changes() {
		u, ok := c.Value.(*schemas.TemplateStatusUpdate)
		if !ok || c.Field != schemas.FieldTemplateStatusUpdate || u.Event != "APPROVED" || u.MessageTemplateID.String() != m["id"] ||
			u.MessageTemplateName != "order_confirmation" || e.ID != wabaID || e.Time.IsZero() {
			t.Errorf("got %s %+v in entry %+v; want APPROVED of the template", c.Field, c.Value, e)
		}
	}
	var got any
	json.Unmarshal(body, &got)
	if missing := missingPaths(fixture(t, "webhook_message_template_status_update_approved.json"), got); len(missing) > 0 {
		t.Errorf("template status update lacks %v", missing)
	}
}

func TestWebhookOverride(t *testing.T) {
	main, other := newReceiver(t), newReceiver(t)
	s := start(t, webhookConfig(main))
	if status, m := call(t, s, "POST", "/v25.0/"+phoneID, `{"webhook_configuration":{"override_callback_uri":"`+other.URL+`","verify_token":"v"}}`); status != 200 {
		t.Fatalf("override: got %d %v", status, m)
	}
	send(t, s, textTo("16505551234", "hi"))
	waitFor(t, "statuses at the override", func() bool { return len(other.statuses()) == 3 })
	if main.posts() != 0 {
		t.Errorf("got %d POSTs at the app's URL; want all at the override", main.posts())
	}
}
