package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/stream"
)

const (
	number = "106540352242922"
	waba   = "310958472216044" // of the account webhooks in schemas/testdata
)

// rig is a processor on a real embedded log and store, with the rules bot.
type rig struct {
	t    testing.TB
	log  *stream.Badger
	dir  string
	p    *Processor
	stop context.CancelFunc
	done chan error
	bot  bot.Bot
}

func newRig(t testing.TB, b bot.Bot) *rig {
	t.Helper()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir(), Topics: stream.Topics{Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if b == nil {
		rules, err := bot.NewRules(bot.DefaultRulesConfig())
		if err != nil {
			t.Fatal(err)
		}
		b = rules
	}
	r := &rig{t: t, log: l, dir: t.TempDir(), bot: b}
	r.start()
	t.Cleanup(r.shutdown)
	return r
}

func (r *rig) start() {
	p, err := New(Config{DataDir: r.dir, Tenants: []Tenant{{ID: "acme", Numbers: []string{number}, WABAID: waba,
		Business: bot.Business{Name: "Acme Café", Hours: "9 a 18", Phone: "+1 555 0100"}, Bot: r.bot}}}, r.log)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.p, r.stop, r.done = p, cancel, make(chan error, 1)
	go func() { r.done <- p.Run(ctx) }()
}

func (r *rig) shutdown() {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	if err := <-r.done; err != nil {
		r.t.Errorf("processor: %v", err)
	}
}

// post appends webhook bodies as the ingester does.
func (r *rig) post(bodies ...string) {
	r.t.Helper()
	var recs []*stream.Record
	for _, b := range bodies {
		recs = append(recs, &stream.Record{Topic: schemas.TopicWebhooks, Key: []byte(number), Value: []byte(b),
			Headers: []stream.Header{{Key: schemas.HeaderReceivedAt, Value: fmt.Append(nil, time.Now().UnixMilli())}}})
	}
	if err := r.log.Append(context.Background(), recs...); err != nil {
		r.t.Fatal(err)
	}
}

// drain reads what a topic holds now, waiting up to d for at least want.
func (r *rig) drain(topic string, want int, d time.Duration) []*stream.Record {
	r.t.Helper()
	c, err := r.log.Consume(fmt.Sprintf("check-%d", time.Now().UnixNano()), topic)
	if err != nil {
		r.t.Fatal(err)
	}
	defer c.Close()
	var got []*stream.Record
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		rs, err := c.Fetch(ctx, 10_000)
		cancel()
		got = append(got, rs...)
		if err != nil || len(got) >= want && want > 0 {
			return got
		}
	}
}

func commands(rs []*stream.Record) []schemas.SendCommand {
	var out []schemas.SendCommand
	for _, r := range rs {
		var c schemas.SendCommand
		json.Unmarshal(r.Value, &c)
		out = append(out, c)
	}
	return out
}

// replies are the commands that are not read receipts.
func replies(cs []schemas.SendCommand) []schemas.SendCommand {
	var out []schemas.SendCommand
	for _, c := range cs {
		if c.MessageType() != "read" {
			out = append(out, c)
		}
	}
	return out
}

func (r *rig) conversation(user string) *Conversation {
	r.t.Helper()
	c, err := r.p.store.Find(number, user)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// message returns a webhook body with one inbound message of user.
func message(user, wamid, typ, object string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Ana"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":%q,%s}]}}]}]}`,
		number, user, user, wamid, time.Now().Unix(), typ, object)
}

func text(user, wamid, body string) string {
	return message(user, wamid, "text", fmt.Sprintf(`"text":{"body":%q}`, body))
}

func status(user, wamid, st, callback string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q,"biz_opaque_callback_data":%q}]}}]}]}`,
		number, wamid, st, time.Now().Unix(), user, callback)
}

// TestEachInboundType: the state and the action for each kind of message.
func TestEachInboundType(t *testing.T) {
	r := newRig(t, nil)
	f := func(user, typ, object string, wantReply string, wantText string) {
		t.Helper()
		wamid := "wamid." + user
		r.post(message(user, wamid, typ, object))
		r.waitFor(user+"'s conversation", func() bool { c := r.conversation(user); return c != nil && len(c.Messages) > 0 })
		c := r.conversation(user)
		in := c.Messages[0]
		if in.Dir != "in" || in.Type != typ || in.Wamid != wamid || !strings.Contains(in.Text, wantText) {
			t.Fatalf("%s: first message %+v; want the inbound %s with text %q", typ, in, typ, wantText)
		}
		var got []schemas.SendCommand
		for _, cmd := range replies(commands(r.drain(schemas.TopicOutbound, 0, 300*time.Millisecond))) {
			if cmd.To == user {
				got = append(got, cmd)
			}
		}
		switch wantReply {
		case "":
			if len(got) != 0 {
				t.Fatalf("%s: got %d replies; want none", typ, len(got))
			}
		default:
			if len(got) != 1 || got[0].MessageType() != wantReply || got[0].ReplyTo != wamid {
				t.Fatalf("%s: got %+v; want one %s reply to %s", typ, got, wantReply, wamid)
			}
			if got[0].ID != schemas.CommandID("acme", wamid, "reply") {
				t.Fatalf("%s: command id %s is not the deterministic one", typ, got[0].ID)
			}
			if !c.WindowUntil.After(time.Now().Add(23 * time.Hour)) {
				t.Fatalf("%s: window until %v; want 24 hours from the message", typ, c.WindowUntil)
			}
		}
	}
	f("5215550000101", "text", `"text":{"body":"hola"}`, "text", "hola")
	f("5215550000102", "image", `"image":{"id":"1","mime_type":"image/jpeg","caption":"mira"}`, "text", "mira")
	f("5215550000103", "location", `"location":{"latitude":19.4,"longitude":-99.1,"name":"Casa"}`, "text", "Casa")
	f("5215550000104", "interactive", `"interactive":{"type":"button_reply","button_reply":{"id":"hours","title":"Horario"}}`, "text", "Horario")
	f("5215550000105", "reaction", `"reaction":{"message_id":"wamid.x","emoji":"👍"}`, "", "")
	f("5215550000106", "contacts", `"contacts":[{"name":{"formatted_name":"Luis"},"phones":[{"phone":"+1 555"}]}]`, "text", "")
	f("5215550000107", "unsupported", `"errors":[{"code":131051,"title":"Message type unknown"}],"unsupported":{"type":"poll_creation"}`, "text", "")
	f("5215550000108", "unsupported", `"errors":[{"code":131051,"title":"Message type unknown"}],"unsupported":{"type":"edit"}`, "", "")
}

// TestUnreadableGetsAnApology: a message the Cloud API could not deliver
// is answered in the customer's language, asking them to write it.
func TestUnreadableGetsAnApology(t *testing.T) {
	r := newRig(t, nil)
	const user = "5215550000109"
	r.post(text(user, "wamid.before", "hello, good morning"))
	r.drain(schemas.TopicOutbound, 2, 5*time.Second)
	r.post(message(user, "wamid.poll", "unsupported", `"errors":[{"code":131051}],"unsupported":{"type":"poll_creation"}`))
	cs := replies(commands(r.drain(schemas.TopicOutbound, 4, 5*time.Second))) // from the start
	if len(cs) != 2 || cs[1].ReplyTo != "wamid.poll" {
		t.Fatalf("replies %+v; want the greeting's, then one to the poll", cs)
	}
	var body struct{ Text struct{ Body string } }
	json.Unmarshal(cs[1].Message, &body)
	if body.Text.Body != apologies["en"] {
		t.Fatalf("reply %q; want the English apology", body.Text.Body)
	}
}

// TestWithoutBotNothingIsAutomatic: a tenant whose bot is off gets no
// reply of any kind, not even the acknowledgement of a photo; its
// conversations are still kept.
func TestWithoutBotNothingIsAutomatic(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &rig{t: t, log: l, dir: t.TempDir()} // bot nil
	r.start()
	t.Cleanup(r.shutdown)
	const user = "5215550000110"
	r.post(text(user, "wamid.t", "hola"),
		message(user, "wamid.i", "image", `"image":{"id":"1","mime_type":"image/jpeg"}`),
		message(user, "wamid.u", "unsupported", `"unsupported":{"type":"poll_creation"}`))
	r.waitFor("the three messages", func() bool { c := r.conversation(user); return c != nil && len(c.Messages) == 3 })
	if cs := commands(r.drain(schemas.TopicOutbound, 0, 500*time.Millisecond)); len(cs) != 0 {
		t.Fatalf("commands %+v; want none without a bot", cs)
	}
}

// TestHolaGetsSpanish: the rules bot answers "hola" in Spanish, with a read
// receipt and typing first.
func TestHolaGetsSpanish(t *testing.T) {
	r := newRig(t, nil)
	r.post(text("5215550000201", "wamid.hola", "hola"))
	cs := commands(r.drain(schemas.TopicOutbound, 2, 5*time.Second))
	if len(cs) != 2 || cs[0].MessageType() != "read" || !strings.Contains(string(cs[0].Message), "typing_indicator") {
		t.Fatalf("commands %+v; want a read receipt with typing, then the reply", cs)
	}
	var body struct{ Text struct{ Body string } }
	json.Unmarshal(cs[1].Message, &body)
	if bot.DetectLanguage(body.Text.Body, "en") != "es" {
		t.Fatalf("reply %q is not Spanish", body.Text.Body)
	}
}

// TestDeliveredThreeTimesRepliesOnce: Meta's retries of one webhook.
func TestDeliveredThreeTimesRepliesOnce(t *testing.T) {
	r := newRig(t, nil)
	b := text("5215550000301", "wamid.thrice", "hola")
	r.post(b, b)
	r.post(b)
	r.waitFor("the conversation", func() bool { c := r.conversation("5215550000301"); return c != nil })
	time.Sleep(300 * time.Millisecond)
	if n := len(replies(commands(r.drain(schemas.TopicOutbound, 0, 300*time.Millisecond)))); n != 1 {
		t.Fatalf("%d replies; want one", n)
	}
	if c := r.conversation("5215550000301"); c.Counters.Inbound != 1 {
		t.Fatalf("inbound counted %d times; want once", c.Counters.Inbound)
	}
}

// TestStatusLadder: statuses out of order and duplicated never move a
// message backwards; failed is terminal.
func TestStatusLadder(t *testing.T) {
	r := newRig(t, nil)
	user := "5215550000401"
	r.post(text(user, "wamid.in401", "hola"))
	r.waitFor("the reply", func() bool { c := r.conversation(user); return c != nil && len(c.Messages) == 2 })
	cb := schemas.Callback{CommandID: schemas.CommandID("acme", "wamid.in401", "reply"), ReplyTo: "wamid.in401"}.Encode()
	out := "wamid.out401"
	for _, st := range []string{"read", "sent", "delivered", "read", "sent"} {
		r.post(status(user, out, st, cb))
	}
	r.waitFor("the status", func() bool { return r.conversation(user).Messages[1].Status == "read" })
	time.Sleep(300 * time.Millisecond)
	m := r.conversation(user).Messages[1]
	if m.Status != "read" || m.Wamid != out {
		t.Fatalf("outbound message %+v; want read with wamid %s", m, out)
	}
	r.post(status(user, out, "failed", cb), status(user, out, "delivered", cb))
	time.Sleep(300 * time.Millisecond)
	if m := r.conversation(user).Messages[1]; m.Status != "read" {
		t.Fatalf("status %s after read; failed after read and delivered after must not move it", m.Status)
	}
	n := 0
	for _, rec := range r.drain(schemas.TopicEvents, 0, 300*time.Millisecond) {
		if bytes.Contains(rec.Value, []byte(`"kind":"status"`)) {
			n++
		}
	}
	if n != 4 { // read, sent, delivered, failed: each once
		t.Fatalf("%d status events; want 4, one per distinct status", n)
	}
}

// TestBatchOfThousand: one webhook of 1,000 messages from 100 users is
// processed whole.
func TestBatchOfThousand(t *testing.T) {
	r := newRig(t, nil)
	var msgs, contacts []string
	for i := range 1000 {
		user := fmt.Sprintf("52155506%05d", i%100)
		msgs = append(msgs, fmt.Sprintf(`{"from":%q,"id":"wamid.b%d","timestamp":"%d","type":"text","text":{"body":"hola %d"}}`, user, i, time.Now().Unix(), i))
		if i < 100 {
			contacts = append(contacts, fmt.Sprintf(`{"profile":{"name":"U%d"},"wa_id":%q}`, i, user))
		}
	}
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"contacts":[%s],"messages":[%s]}}]}]}`,
		number, strings.Join(contacts, ","), strings.Join(msgs, ","))
	r.post(body)
	cs := replies(commands(r.drain(schemas.TopicOutbound, 2000, 30*time.Second)))
	if len(cs) != 1000 {
		t.Fatalf("%d replies; want 1000", len(cs))
	}
	r.waitFor("offsets committed", func() bool { return r.p.track.Pending() == 0 })
}

// TestRestartMidBatchNoSecondReply: the processor stops in the middle of
// a batch and starts again: every message is answered, and a message
// answered twice gets the same command id (which the sender sends once).
func TestRestartMidBatchNoSecondReply(t *testing.T) {
	r := newRig(t, nil)
	var bodies []string
	for i := range 300 {
		bodies = append(bodies, text(fmt.Sprintf("52155507%05d", i%30), fmt.Sprintf("wamid.r%d", i), "hola"))
	}
	r.post(bodies...)
	time.Sleep(20 * time.Millisecond)
	r.shutdown()
	r.start()
	ids := map[string]bool{}
	r.waitFor("a reply to every message", func() bool {
		for _, c := range replies(commands(r.drain(schemas.TopicOutbound, 0, 100*time.Millisecond))) {
			ids[c.ID] = true
		}
		return len(ids) >= 300
	})
	if len(ids) != 300 {
		t.Fatalf("%d distinct replies; want 300 (one per message)", len(ids))
	}
}

// slowLLM is an OpenAI-compatible server that takes 5 s for one user.
func slowLLM(t *testing.T, slowWord string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string }
		}
		json.NewDecoder(r.Body).Decode(&req)
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, slowWord) {
			time.Sleep(5 * time.Second)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSlowLLMDoesNotDelayOthers: a 5-second LLM call in one conversation
// does not delay the other conversations of the same number.
func TestSlowLLMDoesNotDelayOthers(t *testing.T) {
	srv := slowLLM(t, "despacio")
	o, err := bot.NewOpenAI(bot.OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "k", Model: "m", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, o)
	r.post(text("5215550000501", "wamid.slow", "despacio por favor"))
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	var bodies []string
	for i := range 5 {
		bodies = append(bodies, text(fmt.Sprintf("52155500006%02d", i), fmt.Sprintf("wamid.fast%d", i), "hola"))
	}
	r.post(bodies...)
	cs := replies(commands(r.drain(schemas.TopicOutbound, 10, 3*time.Second)))
	if len(cs) < 5 {
		t.Fatalf("%d replies within 3 s; want the 5 other conversations answered while the slow one waits", len(cs))
	}
	for _, c := range cs {
		if c.To == "5215550000501" {
			t.Fatalf("the slow conversation answered before the others")
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("other conversations took %v", took)
	}
}

// TestHandoffAndAPI: a handoff keyword silences the bot, the API shows the
// handoff, an agent's message is sent, and release gives the conversation
// back to the bot.
func TestHandoffAndAPI(t *testing.T) {
	r := newRig(t, nil)
	mux := http.NewServeMux()
	r.p.Register(mux)
	api := httptest.NewServer(mux)
	defer api.Close()
	user := "5215550000701"
	r.post(text(user, "wamid.h1", "quiero hablar con un humano"))
	r.waitFor("the handoff", func() bool { c := r.conversation(user); return c != nil && c.Handoff.Mode == ModeHuman })
	r.post(text(user, "wamid.h2", "hola?"))
	r.waitFor("the second message", func() bool { return r.conversation(user).Counters.Inbound == 2 })
	for _, c := range replies(commands(r.drain(schemas.TopicOutbound, 0, 300*time.Millisecond))) {
		if c.ReplyTo == "wamid.h2" {
			t.Fatal("the bot answered while the conversation was handed off")
		}
	}
	id := r.conversation(user).ID
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %v; want %d", method, path, resp.StatusCode, out, want)
		}
		return out
	}
	got := call("GET", "/api/v1/conversations/"+id, "", 200)
	if mode := got["conversation"].(map[string]any)["handoff"].(map[string]any)["mode"]; mode != ModeHuman {
		t.Fatalf("API shows handoff mode %v; want human", mode)
	}
	list := call("GET", "/api/v1/conversations?state=human", "", 200)
	if n := len(list["conversations"].([]any)); n != 1 {
		t.Fatalf("%d handed-off conversations listed; want 1", n)
	}
	if e := call("GET", "/api/v1/conversations?limit=all", "", 400); e["error"] != "limit must be a number from 1 to 500" {
		t.Fatalf("limit=all: %v", e)
	}
	sent := call("POST", "/api/v1/messages", fmt.Sprintf(`{"phone_number_id":%q,"to":%q,"text":"Hola, soy Marta"}`, number, user), 202)
	var agent *schemas.SendCommand
	for _, c := range commands(r.drain(schemas.TopicOutbound, 0, 300*time.Millisecond)) {
		if c.ID == sent["command_id"] {
			agent = &c
		}
	}
	if agent == nil || agent.Origin != schemas.OriginAgent || !strings.Contains(string(agent.Message), "Hola, soy Marta") {
		t.Fatalf("agent command %+v; want the agent's text with origin agent", agent)
	}
	call("POST", "/api/v1/conversations/"+id+"/release", `{}`, 200)
	r.post(text(user, "wamid.h3", "hola"))
	r.waitFor("the bot's reply after release", func() bool {
		for _, c := range replies(commands(r.drain(schemas.TopicOutbound, 0, 100*time.Millisecond))) {
			if c.ReplyTo == "wamid.h3" {
				return true
			}
		}
		return false
	})
	// Outside the window only templates go.
	call("POST", "/api/v1/messages", fmt.Sprintf(`{"phone_number_id":%q,"to":"5215550009999","text":"hola"}`, number), 422)
}

// TestEveryInboundShape posts each inbound message of the project's
// testdata (schemas/testdata/webhooks/message_*.json): each is recorded in
// its conversation once, and answered as its type says: bot replies for
// text and interactive messages, an acknowledgement for media, location,
// contacts and orders, an apology for what the Cloud API could not
// deliver (but edits of that kind), nothing for reactions, system
// messages, edits and revokes.
func TestEveryInboundShape(t *testing.T) {
	const testdataNumber = "118429306451287"
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// One customer writes most of the testdata; without the low-confidence
	// rule the bot keeps answering them.
	rc := bot.DefaultRulesConfig()
	rc.MinConfidence = -1
	rules, _ := bot.NewRules(rc)
	p, err := New(Config{DataDir: t.TempDir(), Tenants: []Tenant{{ID: "t", Numbers: []string{testdataNumber}, Bot: rules}}}, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	files, _ := filepath.Glob("../schemas/testdata/webhooks/message_*.json")
	want := map[string]string{} // wamid → "reply", "ack" or ""
	counted := 0                // messages that count as the customer's
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		hook, err := schemas.ParseWebhook(body)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, m := range hook.Messages() {
			if m.Type != "system" {
				counted++
			}
			switch {
			case m.Type == "text" || m.Type == "interactive" || m.Type == "button" || m.Type == "request_welcome":
				want[m.ID] = "reply"
			case m.Type == "unsupported" && m.Unsupported.Type != "edit" || m.Type == "unknown":
				want[m.ID] = "apology"
			case acknowledged(m.Type):
				want[m.ID] = "ack"
			default:
				want[m.ID] = ""
			}
		}
		if err := l.Append(ctx, &stream.Record{Topic: schemas.TopicWebhooks, Key: []byte(testdataNumber), Value: body}); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) < 30 {
		t.Fatalf("%d inbound messages in the testdata; want every shape", len(want))
	}
	var keys []string
	for wamid := range want {
		keys = append(keys, "m:"+wamid)
	}
	r := &rig{t: t, log: l}
	r.waitFor("every message processed", func() bool {
		seen, _ := p.store.Seen(keys...)
		return len(seen) == len(keys)
	})
	got := map[string]int{}
	for _, c := range replies(commands(r.drain(schemas.TopicOutbound, 0, 500*time.Millisecond))) {
		got[c.ReplyTo]++
	}
	for wamid, action := range want {
		if n := got[wamid]; (action == "") != (n == 0) || n > 1 {
			t.Errorf("%s: %d replies; want %q", wamid, n, action)
		}
	}
	// Each message counted in its conversation once.
	in := 0
	cs, _, _ := p.store.List("", "", "", 500)
	for _, c := range cs {
		in += c.Counters.Inbound
	}
	if in != counted {
		t.Fatalf("conversations counted %d inbound messages; want %d", in, counted)
	}
}

// TestAccountEvents: quality and account updates become account events of
// the WABA's tenant, adverse or not, without the display phone number.
func TestAccountEvents(t *testing.T) {
	r := newRig(t, nil)
	var bodies []string
	want := map[string]string{}
	for name, status := range map[string]string{
		"phone_number_quality_update": schemas.StatusInfo,
		"account_update_disabled":     schemas.StatusAdverse,
		"account_update_restriction":  schemas.StatusAdverse,
	} {
		b, err := os.ReadFile(filepath.Join("..", "schemas", "testdata", "webhooks", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
		want[name] = status
	}
	r.post(bodies...)
	got := map[string]string{}
	for _, rec := range r.drain(schemas.TopicEvents, 3, 10*time.Second) {
		var e schemas.Event
		if err := json.Unmarshal(rec.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind != schemas.EventAccount {
			continue
		}
		if e.Tenant != "acme" || e.PhoneNumberID != number {
			t.Errorf("%s: tenant %q number %q; want acme %s", e.Reason, e.Tenant, e.PhoneNumberID, number)
		}
		if strings.Contains(e.Reason, "15550100234") {
			t.Errorf("the reason %q holds the display phone number", e.Reason)
		}
		switch {
		case strings.HasPrefix(e.Reason, "phone number quality"):
			got["phone_number_quality_update"] = e.Status
		case strings.Contains(e.Reason, "DISABLED_UPDATE"):
			got["account_update_disabled"] = e.Status
		case strings.Contains(e.Reason, "ACCOUNT_RESTRICTION"):
			got["account_update_restriction"] = e.Status
		}
	}
	for name, st := range want {
		if got[name] != st {
			t.Errorf("%s: status %q; want %q", name, got[name], st)
		}
	}
}
