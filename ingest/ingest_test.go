package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"wasp/schemas"
	"wasp/stream"
)

const (
	testSecret = "test-app-secret"
	testToken  = "test-verify-token"
)

// server is an ingester on an in-memory listener over a real Badger log.
type server struct {
	in     *Ingester
	log    *stream.Badger
	client *fasthttp.Client
}

func newServer(t *testing.T, cfg Config) *server {
	t.Helper()
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir(), Topics: stream.Topics{Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return newServerOn(t, cfg, l, l)
}

func newServerOn(t *testing.T, cfg Config, app Appender, l *stream.Badger) *server {
	t.Helper()
	if cfg.Apps == nil {
		cfg.Apps = []App{{ID: "app1", Secret: testSecret}}
	}
	if cfg.VerifyToken == "" {
		cfg.VerifyToken = testToken
	}
	in, err := New(cfg, app)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &server{in: in, log: l, client: &fasthttp.Client{
		Dial: func(string) (net.Conn, error) { return ln.Dial() },
	}}
}

func (s *server) do(t *testing.T, method, uri string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://wasp" + uri)
	req.SetBody(body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := s.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp.StatusCode(), string(resp.Body())
}

func (s *server) post(t *testing.T, body []byte, secret string) int {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	if secret != "" {
		h["X-Hub-Signature-256"] = Sign(secret, body)
	}
	code, _ := s.do(t, "POST", "/webhook", body, h)
	return code
}

// records reads what the topic holds, which must be want records: an
// acknowledged webhook is readable by the time its 200 arrives.
func (s *server) records(t *testing.T, topic string, want int) []*stream.Record {
	t.Helper()
	got := allRecords(t, s.log, topic)
	if len(got) != want {
		t.Fatalf("%s holds %d records; want %d", topic, len(got), want)
	}
	return got
}

func TestVerification(t *testing.T) {
	s := newServer(t, Config{})
	f := func(query string, wantCode int, wantBody string) {
		t.Helper()
		code, body := s.do(t, "GET", "/webhook?"+query, nil, nil)
		if code != wantCode || (wantBody != "" && body != wantBody) {
			t.Fatalf("GET ?%s: got %d %q; want %d %q", query, code, body, wantCode, wantBody)
		}
	}
	f("hub.mode=subscribe&hub.verify_token="+testToken+"&hub.challenge=123", 200, "123")
	f("hub.mode=subscribe&hub.verify_token="+testToken+"&hub.challenge=1158201444", 200, "1158201444")
	f("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=123", 403, "")
	f("hub.mode=subscribe&hub.verify_token=&hub.challenge=123", 403, "")
	f("hub.mode=unsubscribe&hub.verify_token="+testToken+"&hub.challenge=123", 403, "")
	f("hub.challenge=123", 403, "")
}

// TestFixtures posts every reference payload and every payload of ours:
// each is answered 200 and stored under its phone_number_id (else its WABA
// id), split in one record per number when it names several.
func TestFixtures(t *testing.T) {
	files := fixtureFiles(t)
	s := newServer(t, Config{})
	whole := map[string]string{} // body → key, for bodies of one key
	split := map[string]int{}    // key → records expected from split bodies
	n := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if code := s.post(t, body, testSecret); code != 200 {
			t.Fatalf("POST %s: got %d; want 200", filepath.Base(f), code)
		}
		keys := expectedKeys(t, body)
		n += len(keys)
		if len(keys) == 1 {
			whole[string(body)] = keys[0]
			continue
		}
		for _, k := range keys {
			split[k]++
		}
	}
	for _, r := range s.records(t, schemas.TopicWebhooks, n) {
		if string(r.Header(schemas.HeaderAppID)) != "app1" || len(r.Header(schemas.HeaderReceivedAt)) == 0 {
			t.Fatalf("headers %v; want app-id app1 and received-at", r.Headers)
		}
		if key, ok := whole[string(r.Value)]; ok {
			if string(r.Key) != key {
				t.Fatalf("body %.60s… stored under key %q; want %q", r.Value, r.Key, key)
			}
			continue
		}
		if split[string(r.Key)] == 0 || !json.Valid(r.Value) || len(expectedKeys(t, r.Value)) != 1 {
			t.Fatalf("stored a body that was not posted: %.80s", r.Value)
		}
		split[string(r.Key)]--
	}
	s.records(t, schemas.TopicDLQ, 0)
}

func fixtureFiles(t *testing.T) []string {
	ref, _ := filepath.Glob("../../shared/reference/fixtures/webhook_*.json")
	if len(ref) == 0 && os.Getenv("CI") != "" {
		t.Fatal("no reference fixtures in ../../shared/reference/fixtures")
	}
	own, _ := filepath.Glob("../schemas/testdata/webhooks/*.json")
	return append(ref, own...)
}

// expectedKeys are the keys the ingester should choose, found by a full
// parse: each change's phone_number_id, else its entry's id.
func expectedKeys(t *testing.T, body []byte) []string {
	var env struct {
		Entry []struct {
			ID      string
			Changes []struct {
				Value struct {
					Metadata struct {
						PhoneNumberID string `json:"phone_number_id"`
					}
				}
			}
		}
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("fixture is not JSON: %v", err)
	}
	var keys []string
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			k := c.Value.Metadata.PhoneNumberID
			if k == "" {
				k = e.ID
			}
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func TestSignature(t *testing.T) {
	s := newServer(t, Config{Apps: []App{{ID: "a", Secret: "first"}, {ID: "b", Secret: testSecret}}})
	body := textWebhook("106540352242922", "wamid.sig")
	f := func(header string, want int) {
		t.Helper()
		h := map[string]string{}
		if header != "" {
			h["X-Hub-Signature-256"] = header
		}
		if code, _ := s.do(t, "POST", "/webhook", body, h); code != want {
			t.Fatalf("signature %q: got %d; want %d", header, code, want)
		}
	}
	f("", 401)
	f("sha256=", 401)
	f("sha256=zz", 401)
	f(Sign("wrong", body), 401)
	f(Sign(testSecret, append(body, ' ')), 401)
	f(strings.TrimPrefix(Sign(testSecret, body), "sha256="), 401)
	f("sha1="+strings.TrimPrefix(Sign(testSecret, body), "sha256="), 401)
	s.records(t, schemas.TopicWebhooks, 0)

	f(strings.ToUpper(Sign(testSecret, body)[7:]), 401) // prefix is case-sensitive
	f("sha256="+strings.ToUpper(Sign(testSecret, body)[7:]), 200)
	f(Sign("first", body), 200)
	rs := s.records(t, schemas.TopicWebhooks, 2)
	if got := string(rs[0].Header(schemas.HeaderAppID)) + string(rs[1].Header(schemas.HeaderAppID)); got != "ba" {
		t.Fatalf("app ids %q; want b then a", got)
	}
}

func TestLimitsAndMethods(t *testing.T) {
	s := newServer(t, Config{})
	// A 3 MB webhook, the most Meta sends, is taken.
	large := textWebhook("106540352242922", "wamid.large")
	large = bytes.Replace(large, []byte(`"hola"`), []byte(`"`+strings.Repeat("a", 3<<20)+`"`), 1)
	if code := s.post(t, large, testSecret); code != 200 {
		t.Fatalf("3 MiB body: got %d; want 200", code)
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		if code, _ := s.do(t, m, "/webhook", nil, nil); code != 405 {
			t.Fatalf("%s: got %d; want 405", m, code)
		}
	}
	if code, _ := s.do(t, "POST", "/other", nil, nil); code != 404 {
		t.Fatalf("POST /other: got %d; want 404", code)
	}
	s.records(t, schemas.TopicWebhooks, 1)
}

// TestTooLarge posts over real TCP, as curl does for a large body (with
// "Expect: 100-continue"): the server answers 413 from the Content-Length
// before the body is sent.
func TestTooLarge(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	in, err := New(Config{Apps: []App{{Secret: testSecret}}, VerifyToken: testToken}, l)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.Serve(ctx, ln)
	big := bytes.Repeat([]byte("x"), 5<<20)
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/webhook", bytes.NewReader(big))
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, big))
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST 5 MiB: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("5 MiB body: got %d; want 413", resp.StatusCode)
	}
}

func TestNotJSONGoesToDeadLetters(t *testing.T) {
	s := newServer(t, Config{})
	for _, body := range []string{`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"1065"`, "hello", `[]`, `{}`} {
		if code := s.post(t, []byte(body), testSecret); code != 200 {
			t.Fatalf("signed %q: got %d; want 200", body, code)
		}
	}
	rs := s.records(t, schemas.TopicDLQ, 4)
	reasons := map[string]string{}
	for _, r := range rs {
		reasons[string(r.Value)] = string(r.Header(schemas.HeaderReason))
	}
	if r := reasons["hello"]; !strings.Contains(r, "not valid JSON") {
		t.Fatalf("reason for hello: %q", r)
	}
	if r := reasons["[]"]; !strings.Contains(r, "not an object") {
		t.Fatalf("reason for []: %q", r)
	}
	if r := reasons["{}"]; !strings.Contains(r, "no entry") {
		t.Fatalf("reason for {}: %q", r)
	}
	s.records(t, schemas.TopicWebhooks, 0)
}

func TestSplitsSeveralNumbers(t *testing.T) {
	s := newServer(t, Config{})
	body := []byte(`{"object":"whatsapp_business_account","entry":[
	 {"id":"WABA1","changes":[
	   {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001","phone_number_id":"111"},"messages":[{"id":"wamid.a","type":"text","text":{"body":"caf\u00e9 <b>"}}]}},
	   {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550002","phone_number_id":"222"},"statuses":[{"id":"wamid.b","status":"sent"}]}}]},
	 {"id":"WABA1","time":1751247548,"changes":[
	   {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1689556908129832}}]},
	 {"id":"WABA1","changes":[
	   {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001","phone_number_id":"111"},"messages":[{"id":"wamid.c","type":"text","text":{"body":"x"}}]}}]}]}`)
	if code := s.post(t, body, testSecret); code != 200 {
		t.Fatalf("got %d; want 200", code)
	}
	byKey := map[string]string{}
	for _, r := range s.records(t, schemas.TopicWebhooks, 3) {
		byKey[string(r.Key)] = string(r.Value)
	}
	f := func(key string, want ...string) {
		t.Helper()
		v, ok := byKey[key]
		if !ok {
			t.Fatalf("no record for key %s; have %v", key, byKey)
		}
		if !json.Valid([]byte(v)) {
			t.Fatalf("record %s is not JSON: %s", key, v)
		}
		for _, w := range want {
			if !strings.Contains(v, w) {
				t.Fatalf("record %s = %s; want it to contain %s", key, v, w)
			}
		}
	}
	f("111", `wamid.a`, `wamid.c`, `caf\u00e9 <b>`, `"object":"whatsapp_business_account"`)
	f("222", `wamid.b`)
	f("WABA1", `1689556908129832`, `"time":1751247548`)
	if strings.Contains(byKey["222"], "wamid.a") || strings.Contains(byKey["111"], "wamid.b") {
		t.Fatalf("a number's record holds another number's changes: %v", byKey)
	}
}

func TestUnavailableLogAnswers503(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s := newServerOn(t, Config{}, l, l)
	l.Close()
	if code := s.post(t, textWebhook("1", "wamid.x"), testSecret); code != 503 {
		t.Fatalf("closed log: got %d; want 503", code)
	}
	slow := appenderFunc(func(ctx context.Context, _ ...*stream.Record) error {
		<-ctx.Done()
		return ctx.Err()
	})
	s = newServerOn(t, Config{AppendTimeout: 50 * time.Millisecond}, slow, nil)
	if code := s.post(t, textWebhook("1", "wamid.x"), testSecret); code != 503 {
		t.Fatalf("log that does not answer: got %d; want 503", code)
	}
}

type appenderFunc func(context.Context, ...*stream.Record) error

func (f appenderFunc) Append(ctx context.Context, recs ...*stream.Record) error {
	return f(ctx, recs...)
}

func TestNewValidates(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		_, err := New(cfg, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("New(%+v): got %v; want an error naming %s", cfg, err, want)
		}
	}
	f(Config{VerifyToken: "v"}, "WASP_APP_SECRET")
	f(Config{Apps: []App{{Secret: "s"}}}, "WASP_VERIFY_TOKEN")
	f(Config{Apps: []App{{ID: "x"}}, VerifyToken: "v"}, "empty secret")
}

func TestHandleAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector; make bench and go test without -race check them")
	}
	in, err := New(Config{Apps: []App{{Secret: testSecret}}, VerifyToken: testToken},
		appenderFunc(func(context.Context, ...*stream.Record) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	body := textWebhook("106540352242922", "wamid.alloc")
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/webhook")
	ctx.Request.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
	ctx.Request.SetBody(body)
	in.Handle(&ctx)
	allocs := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		in.Handle(&ctx)
	})
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d; want 200", ctx.Response.StatusCode())
	}
	// context.WithTimeout is the only allocation left: its context and timer.
	if allocs > 4 {
		t.Fatalf("%.0f allocations per request; want at most 4", allocs)
	}
}

func TestScanPhoneNumberIDs(t *testing.T) {
	f := func(body string, want ...string) {
		t.Helper()
		var got []string
		for _, id := range scanPhoneNumberIDs([]byte(body), nil) {
			got = append(got, string(id))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan(%s) = %v; want %v", body, got, want)
		}
	}
	f(`{}`)
	f(`{"phone_number_id":"123"}`, "123")
	f(`{"phone_number_id" : "123", "x":{"phone_number_id":"123"}}`, "123")
	f(`{"phone_number_id":"1","b":{"phone_number_id":"2"}}`, "1", "2")
	f(`{"text":{"body":"phone_number_id"},"phone_number_id":"9"}`, "9")
	f(`{"text":{"body":"\"phone_number_id\":\"666\""},"phone_number_id":"9"}`, "9")
	f(`{"phone_number_id":123}`)
	f(`{"phone_number_id":""}`)
	f(`{"phone_number_id":"12`)
}

func TestShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	app := appenderFunc(func(ctx context.Context, _ ...*stream.Record) error {
		started <- struct{}{}
		<-release
		return nil
	})
	in, err := New(Config{Apps: []App{{Secret: testSecret}}, VerifyToken: testToken}, app)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Serve(ctx, ln) }()
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	codes := make(chan int, 1)
	go func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		body := textWebhook("1", "wamid.inflight")
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://wasp/webhook")
		req.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
		req.SetBody(body)
		if err := client.Do(req, resp); err != nil {
			codes <- -1
			return
		}
		codes <- resp.StatusCode()
	}()
	<-started
	cancel() // shut down while the append is in flight
	select {
	case err := <-done:
		t.Fatalf("server stopped before its request finished: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if code := <-codes; code != 200 {
		t.Fatalf("in-flight request got %d; want 200", code)
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("serve: %v", err)
	}
}

func textWebhook(phoneNumberID, wamid string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5215550001111"}],"messages":[{"from":"5215550001111","id":%q,"timestamp":"1751247548","text":{"body":"hola"},"type":"text"}]},"field":"messages"}]}]}`, phoneNumberID, wamid)
}

// TestPingUntilListening: the ingester is not ready (readiness fails)
// until it listens, so that a client told it is ready can connect.
func TestPingUntilListening(t *testing.T) {
	in, err := New(Config{Apps: []App{{ID: "app1", Secret: testSecret}}, VerifyToken: testToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Ping(context.Background()); err == nil {
		t.Fatal("ready before listening")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Serve(ctx, fasthttputil.NewInmemoryListener()) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); in.Ping(ctx) != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready while serving: %v", in.Ping(ctx))
		}
	}
}
