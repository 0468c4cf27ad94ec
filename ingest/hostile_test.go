package ingest

// Bad input, on purpose: the corpus in testdata/hostile (bodies Meta never
// sends but a proxy, a replay tool or an attacker might), signatures that
// are almost right, odd content types, sizes at the limits, a 3 MB batch
// of many numbers, and clients too slow to finish a request. The
// ingester answers each clearly, does not crash, and loses nothing: every
// body answered 200 is in wa.webhooks or wa.dlq, byte for byte. The
// processor then reads what was stored without crashing, and dead-letters
// what it cannot use.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasp/processor"
	"wasp/processor/bot"
	"wasp/schemas"
	"wasp/stream"
)

// hostileNumber is the corpus's business number, the processor tenant's.
const hostileNumber = "106540352242922"

// hostileWant is what becomes of a signed corpus file: the topic that
// holds it byte for byte, the start of the reason the processor
// dead-letters it with ("" when it does not), and whether the bot
// answers its message.
type hostileWant struct {
	topic     string
	processor string
	reply     bool
}

// hostileCorpus names every file of testdata/hostile; a file without an
// entry fails the test.
var hostileCorpus = map[string]hostileWant{
	"array.json":           {topic: schemas.TopicDLQ},
	"bom.json":             {topic: schemas.TopicDLQ},
	"deep-nesting.json":    {topic: schemas.TopicDLQ},
	"empty-object.json":    {topic: schemas.TopicDLQ},
	"not-a-webhook.json":   {topic: schemas.TopicDLQ},
	"truncated.json":       {topic: schemas.TopicDLQ},
	"entry-not-array.json": {topic: schemas.TopicWebhooks, processor: "cannot parse the webhook"},
	// JSON's syntax holds (the parser reads the bytes as U+FFFD); the
	// bytes are kept as signed.
	"invalid-utf8.json":            {topic: schemas.TopicWebhooks, reply: true},
	"millisecond-timestamp.json":   {topic: schemas.TopicWebhooks, reply: true},
	"null-values.json":             {topic: schemas.TopicWebhooks},
	"phone-number-id-in-text.json": {topic: schemas.TopicWebhooks, reply: true},
	"unicode-escapes.json":         {topic: schemas.TopicWebhooks, reply: true},
	"unknown-number.json":          {topic: schemas.TopicWebhooks, processor: "unknown phone_number_id"},
	// An unknown type updates the conversation only; its fields are kept
	// in the log.
	"unknown-type-and-fields.json": {topic: schemas.TopicWebhooks},
	// A change whose value does not fit its type is skipped by the
	// processor and the record dead-lettered with the reason.
	"wrong-value-types.json": {topic: schemas.TopicWebhooks, processor: "a change's value does not fit"},
}

// allRecords reads every record of topic from the start.
func allRecords(t *testing.T, l stream.Log, topic string) []*stream.Record {
	t.Helper()
	c, err := l.Consume(fmt.Sprintf("hostile-%d", time.Now().UnixNano()), topic)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []*stream.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		rs, _ := c.Fetch(ctx, 10_000)
		cancel()
		if len(rs) == 0 {
			return out
		}
		out = append(out, rs...)
	}
}

// values returns the values of rs as a count per value.
func values(rs []*stream.Record) map[string]int {
	out := map[string]int{}
	for _, r := range rs {
		out[string(r.Value)]++
	}
	return out
}

func TestHostileCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/hostile/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in testdata/hostile: %v", err)
	}
	s := newServer(t, Config{})
	bodies := map[string][]byte{}
	for _, f := range files {
		name := filepath.Base(f)
		if _, ok := hostileCorpus[name]; !ok {
			t.Errorf("%s has no expectation in hostileCorpus", name)
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[name] = body
		if code := s.post(t, body, testSecret); code != 200 {
			t.Errorf("%s signed: got %d; want 200", name, code)
		}
	}
	for name := range hostileCorpus {
		if bodies[name] == nil {
			t.Errorf("%s is expected but not in testdata/hostile", name)
		}
	}

	webhooks := allRecords(t, s.log, schemas.TopicWebhooks)
	dlq := allRecords(t, s.log, schemas.TopicDLQ)
	inWebhooks, inDLQ := values(webhooks), values(dlq)
	for name, body := range bodies {
		want, other := inWebhooks, inDLQ
		if hostileCorpus[name].topic == schemas.TopicDLQ {
			want, other = inDLQ, inWebhooks
		}
		if want[string(body)] != 1 || other[string(body)] != 0 {
			t.Errorf("%s: %d times in %s and %d in the other topic; want once, byte for byte",
				name, want[string(body)], hostileCorpus[name].topic, other[string(body)])
		}
	}
	for _, r := range dlq {
		if string(r.Header(schemas.HeaderReason)) == "" || string(r.Header(schemas.HeaderSource)) != "ingest" {
			t.Errorf("dead letter at offset %d without a reason or source: %v", r.Offset, r.Headers)
		}
	}
	if len(webhooks)+len(dlq) != len(bodies) {
		t.Errorf("%d records for %d bodies", len(webhooks)+len(dlq), len(bodies))
	}

	// The processor reads what the ingester stored: it does not crash,
	// dead-letters what it cannot use, and answers the texts.
	procDLQ := runProcessor(t, s.log)
	for name, body := range bodies {
		reason, want := procDLQ[string(body)], hostileCorpus[name].processor
		if hostileCorpus[name].topic != schemas.TopicWebhooks {
			continue
		}
		if want == "" && reason != "" || !strings.HasPrefix(reason, want) {
			t.Errorf("%s: the processor dead-lettered it with %q; want %q", name, reason, cmp.Or(want, "no dead letter"))
		}
	}
	replied := map[string]bool{}
	for _, r := range allRecords(t, s.log, schemas.TopicOutbound) {
		var c schemas.SendCommand
		if json.Unmarshal(r.Value, &c) == nil && c.MessageType() != "read" {
			replied[c.ReplyTo] = true
		}
	}
	for name, body := range bodies {
		ids := messageIDs(body)
		if got := len(ids) > 0 && replied[ids[0]]; got != hostileCorpus[name].reply {
			t.Errorf("%s: answered %v; want %v", name, got, hostileCorpus[name].reply)
		}
	}
}

// messageIDs returns the wamids of the messages in a webhook body, found
// by a parse of their id fields alone.
func messageIDs(body []byte) []string {
	var env struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						ID string `json:"id"`
					} `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	json.Unmarshal(body, &env)
	var ids []string
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				ids = append(ids, m.ID)
			}
		}
	}
	return ids
}

// runProcessor runs the processor over l, with the rules bot for
// hostileNumber, until it has committed every webhook, and returns the
// reasons of its dead letters by value.
func runProcessor(t *testing.T, l *stream.Badger) map[string]string {
	t.Helper()
	rules, err := bot.NewRules(bot.DefaultRulesConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := processor.New(processor.Config{DataDir: t.TempDir(),
		Tenants: []processor.Tenant{{ID: "acme", Numbers: []string{hostileNumber}, Bot: rules}}}, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ps, err := l.Positions(context.Background(), "wasp-processor", schemas.TopicWebhooks)
		lag := stream.Lag(ps)
		if err == nil && lag == 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the processor stopped on the corpus: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processor did not get through the corpus: lag %d, %v", lag, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("processor: %v", err)
	}
	reasons := map[string]string{}
	for _, r := range allRecords(t, l, schemas.TopicDLQ) {
		if string(r.Header(schemas.HeaderSource)) == "processor" {
			reasons[string(r.Value)] = string(r.Header(schemas.HeaderReason))
		}
	}
	return reasons
}

// TestHostileSignatures: only the HMAC of the exact bytes under the app
// secret, as "sha256=" and 64 hex digits, is accepted; everything else
// gets 401 and stores nothing. Hex digits are read in either case: the
// MAC they spell is the same.
func TestHostileSignatures(t *testing.T) {
	s := newServer(t, Config{})
	body := textWebhook(hostileNumber, "wamid.sig")
	good := Sign(testSecret, body)
	hexDigits := strings.TrimPrefix(good, "sha256=")
	f := func(name, header string, set bool, want int) {
		t.Helper()
		h := map[string]string{"Content-Type": "application/json"}
		if set {
			h["X-Hub-Signature-256"] = header
		}
		if code, _ := s.do(t, "POST", "/webhook", body, h); code != want {
			t.Errorf("%s: got %d; want %d", name, code, want)
		}
	}
	f("no header", "", false, 401)
	f("empty", "", true, 401)
	f("prefix only", "sha256=", true, 401)
	f("wrong secret", Sign("another-secret", body), true, 401)
	f("another body's", Sign(testSecret, append(body, ' ')), true, 401)
	f("truncated", good[:len(good)-1], true, 401)
	f("one digit more", good+"0", true, 401)
	f("missing prefix", hexDigits, true, 401)
	f("sha1 prefix", "sha1="+hexDigits, true, 401)
	f("uppercase prefix", "SHA256="+hexDigits, true, 401)
	f("space after prefix", "sha256= "+hexDigits[1:], true, 401)
	f("not hex", "sha256="+strings.Repeat("zz", 32), true, 401)
	changed := "0"
	if good[len(good)-1] == '0' {
		changed = "1"
	}
	f("one digit changed", good[:len(good)-1]+changed, true, 401)
	f("uppercase hex", "sha256="+strings.ToUpper(hexDigits), true, 200)
	f("right", good, true, 200)
	if n := len(allRecords(t, s.log, schemas.TopicWebhooks)); n != 2 {
		t.Errorf("wa.webhooks holds %d records; want the 2 accepted", n)
	}
	if n := len(allRecords(t, s.log, schemas.TopicDLQ)); n != 0 {
		t.Errorf("wa.dlq holds %d records; want none", n)
	}
}

// TestHostileContentTypes: the signature decides, not the content type.
// Signed bodies are stored byte for byte whatever they claim to be (form
// encoding is not decoded); unsigned ones are refused whatever they claim.
func TestHostileContentTypes(t *testing.T) {
	s := newServer(t, Config{})
	var stored []string
	for i, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
		"application/json; charset=ISO-8859-1", "application/octet-stream"} {
		body := textWebhook(hostileNumber, fmt.Sprintf("wamid.ct.%d", i))
		h := map[string]string{}
		if ct != "" {
			h["Content-Type"] = ct
		}
		if code, _ := s.do(t, "POST", "/webhook", body, h); code != 401 {
			t.Errorf("unsigned, Content-Type %q: got %d; want 401", ct, code)
		}
		h["X-Hub-Signature-256"] = Sign(testSecret, body)
		if code, _ := s.do(t, "POST", "/webhook", body, h); code != 200 {
			t.Errorf("signed, Content-Type %q: got %d; want 200", ct, code)
		}
		stored = append(stored, string(body))
	}
	got := values(allRecords(t, s.log, schemas.TopicWebhooks))
	for i, b := range stored {
		if got[b] != 1 {
			t.Errorf("body %d: stored %d times; want once, byte for byte", i, got[b])
		}
	}
	if len(got) != len(stored) {
		t.Errorf("wa.webhooks holds %d bodies; want %d", len(got), len(stored))
	}
}

// TestHostileSizes: an empty signed body is dead-lettered (200, nothing
// to retry), an empty unsigned one refused; a body of exactly the 4 MiB
// limit is taken and one byte more is refused with 413, with and without
// "Expect: 100-continue", over TCP.
func TestHostileSizes(t *testing.T) {
	s := newServer(t, Config{})
	if code := s.post(t, nil, testSecret); code != 200 {
		t.Errorf("empty signed body: got %d; want 200", code)
	}
	if code := s.post(t, nil, ""); code != 401 {
		t.Errorf("empty unsigned body: got %d; want 401", code)
	}
	dlq := allRecords(t, s.log, schemas.TopicDLQ)
	if len(dlq) != 1 || len(dlq[0].Value) != 0 || !strings.Contains(string(dlq[0].Header(schemas.HeaderReason)), "not valid JSON") {
		t.Errorf("wa.dlq after an empty signed body: %d records; want one, empty, saying why", len(dlq))
	}

	addr := tcpServer(t, Config{})
	atLimit := textWebhook(hostileNumber, "wamid.limit")
	atLimit = bytes.Replace(atLimit, []byte(`"hola"`), []byte(`"`+strings.Repeat("a", 4<<20-len(atLimit)+4)+`"`), 1)
	if len(atLimit) != 4<<20 {
		t.Fatalf("built %d bytes; want 4 MiB", len(atLimit))
	}
	if code := postTCP(t, addr, atLimit, false); code != 200 {
		t.Errorf("4 MiB body: got %d; want 200", code)
	}
	over := append(bytes.Clone(atLimit[:len(atLimit)-1]), ' ', '}')
	if code := postTCP(t, addr, over, true); code != 413 {
		t.Errorf("4 MiB + 1 byte with Expect: 100-continue: got %d; want 413", code)
	}
	// Without Expect the 413 comes from the Content-Length, before the
	// body is read: a client still sending the body may see the
	// connection reset instead of the answer (fasthttp does not linger),
	// and stores nothing either way. Headers alone show the answer.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: wasp\r\nContent-Length: %d\r\nX-Hub-Signature-256: %s\r\n\r\n", len(over), Sign(testSecret, over))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 413 {
		t.Errorf("4 MiB + 1 byte announced without Expect: %v %v; want 413", resp, err)
	}
}

// tcpServer is an ingester on a TCP port over a Badger log of its own;
// it returns the address.
func tcpServer(t *testing.T, cfg Config) string {
	t.Helper()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Apps, cfg.VerifyToken = "127.0.0.1:0", []App{{ID: "app1", Secret: testSecret}}, testToken
	in, err := New(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- in.Run(t.Context()) }() // until the test ends
	t.Cleanup(func() {
		<-ran
		l.Close()
	})
	for deadline := time.Now().Add(5 * time.Second); in.Addr() == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the ingester does not listen")
		}
	}
	return in.Addr().String()
}

// postTCP posts a signed body with net/http, as Meta's client would.
func postTCP(t *testing.T, addr string, body []byte, expect bool) int {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
	if expect {
		req.Header.Set("Expect", "100-continue")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %d bytes: %v", len(body), err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHostileBigBatch: a signed 3 MB body of 1,000 messages for several
// numbers, as Meta batches them, is taken, split into one record per
// number, each message under its own number.
func TestHostileBigBatch(t *testing.T) {
	numbers := []string{"106540352242922", "106540352242923", "106540352242924", "106540352242925", "106540352242926"}
	const n = 1000
	var b bytes.Buffer
	b.WriteString(`{"object":"whatsapp_business_account","entry":[`)
	want := map[string]string{} // wamid → number
	for i := range n {
		number := numbers[i%len(numbers)]
		wamid := fmt.Sprintf("wamid.batch.%d", i)
		want[wamid] = number
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Ana"},"wa_id":"52155500%05d"}],"messages":[{"from":"52155500%05d","id":%q,"timestamp":"1751247548","type":"text","text":{"body":%q}}]}}]}`,
			number, i, i, wamid, strings.Repeat("x", 2700))
	}
	b.WriteString(`]}`)
	if b.Len() < 3_000_000 || b.Len() > 3_300_000 {
		t.Fatalf("built %d bytes; want about 3 MB", b.Len())
	}
	s := newServer(t, Config{})
	if code := s.post(t, b.Bytes(), testSecret); code != 200 {
		t.Fatalf("3 MB batch: got %d; want 200", code)
	}
	rs := allRecords(t, s.log, schemas.TopicWebhooks)
	keys := map[string]bool{}
	found := 0
	for _, r := range rs {
		keys[string(r.Key)] = true
		for _, id := range messageIDs(r.Value) {
			if want[id] != string(r.Key) {
				t.Fatalf("message %s stored under %s; want %s", id, r.Key, want[id])
			}
			delete(want, id)
			found++
		}
	}
	if len(rs) != len(numbers) || len(keys) != len(numbers) || found != n || len(want) != 0 {
		t.Errorf("%d records under %d keys holding %d messages, %d missing; want %d records, one per number, holding all %d",
			len(rs), len(keys), found, len(want), len(numbers), n)
	}
}

// TestHostileSlowClients: a client that sends its headers a byte at a
// time, and one whose body never completes, are cut off by the read
// timeout, while other clients are served meanwhile.
func TestHostileSlowClients(t *testing.T) {
	const timeout = time.Second
	addr := tcpServer(t, Config{ReadTimeout: timeout})
	slow := func(name string, write func(net.Conn) error) chan string {
		out := make(chan string, 1)
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				out <- name + ": " + err.Error()
				return
			}
			defer c.Close()
			start := time.Now()
			werr := write(c)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			answer, _ := io.ReadAll(bufio.NewReader(c)) // until the server closes
			took := time.Since(start)
			switch {
			case took > timeout+3*time.Second:
				out <- fmt.Sprintf("%s: the connection stayed open %v; want it closed after about %v", name, took, timeout)
			case bytes.HasPrefix(answer, []byte("HTTP/1.1 200")):
				out <- name + ": answered 200"
			default:
				out <- ""
				t.Logf("%s: closed after %v (write error %v), answer %.30q", name, took.Round(10*time.Millisecond), werr, answer)
			}
		}()
		return out
	}
	// Headers a byte every 100 ms, for up to 5 s.
	loris := slow("slowloris", func(c net.Conn) error {
		head := "POST /webhook HTTP/1.1\r\nHost: wasp\r\nContent-Type: application/json\r\nX-Hub-Signature-256: sha256=" + strings.Repeat("0", 64) + "\r\n"
		for i := 0; i < 50 && i < len(head); i++ {
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	})
	// A body announced at 1,000 bytes, of which 10 come.
	stalled := slow("stalled body", func(c net.Conn) error {
		_, err := fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: wasp\r\nContent-Length: 1000\r\nX-Hub-Signature-256: sha256=%s\r\n\r\n{\"object\":", strings.Repeat("0", 64))
		return err
	})
	// Meanwhile a well-behaved client is served, every time.
	served := 0
	for end := time.Now().Add(2 * timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if code := postTCP(t, addr, textWebhook(hostileNumber, fmt.Sprintf("wamid.slow.%d", served)), false); code != 200 {
			t.Errorf("a client served during the slow ones got %d; want 200", code)
		}
		served++
	}
	for _, ch := range []chan string{loris, stalled} {
		if msg := <-ch; msg != "" {
			t.Error(msg)
		}
	}
	t.Logf("%d webhooks served while the slow clients hung on", served)
}
