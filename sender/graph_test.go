package sender_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"wasp/schemas"
	"wasp/sender"
)

const token = "EAAGm0PX4ZCpsBAKZC-secret-system-user-token"

// graphRequest is a request as the fake Graph API received it.
type graphRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeGraph is an in-process HTTP server standing in for the Graph API: it
// records each request and answers with the status, content type and body
// set by the test (Meta's real bodies, from testdata/answers).
type fakeGraph struct {
	*httptest.Server
	mu       sync.Mutex
	requests []graphRequest
	status   int
	ctype    string
	answer   []byte
	hold     chan struct{} // when set, requests wait for it to close
	queue    [][]byte      // 200 answers given before answer, in order
}

func newFakeGraph(t *testing.T, tlsServer bool) *fakeGraph {
	t.Helper()
	fg := &fakeGraph{status: 200, ctype: "application/json", answer: []byte(`{"success":true}`)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fg.mu.Lock()
		fg.requests = append(fg.requests, graphRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		status, ctype, answer, hold := fg.status, fg.ctype, fg.answer, fg.hold
		if len(fg.queue) > 0 {
			status, ctype, answer = 200, "application/json", fg.queue[0]
			fg.queue = fg.queue[1:]
		}
		fg.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		w.Write(answer)
	})
	fg.Server = httptest.NewUnstartedServer(h)
	fg.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate test
	if tlsServer {
		fg.StartTLS()
	} else {
		fg.Start()
	}
	t.Cleanup(fg.Close)
	return fg
}

// answer sets the next answers.
func (fg *fakeGraph) answerWith(status int, ctype string, body []byte) {
	fg.mu.Lock()
	fg.status, fg.ctype, fg.answer = status, ctype, body
	fg.mu.Unlock()
}

// last returns the last request, failing the test if there was none.
func (fg *fakeGraph) last(t *testing.T) graphRequest {
	t.Helper()
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if len(fg.requests) == 0 {
		t.Fatal("the fake Graph API got no request")
	}
	return fg.requests[len(fg.requests)-1]
}

func (fg *fakeGraph) count() int {
	fg.mu.Lock()
	defer fg.mu.Unlock()
	return len(fg.requests)
}

func readAnswer(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/answers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkToken fails unless the request carried the token as a Bearer header
// and nowhere else.
func checkToken(t *testing.T, r graphRequest) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("got Authorization %q; want the Bearer token", got)
	}
	if strings.Contains(r.Path+r.RawQuery, token) || strings.Contains(string(r.Body), token) {
		t.Errorf("the token is in the URL or body: %s?%s %s", r.Path, r.RawQuery, r.Body)
	}
}

func TestGraphSend(t *testing.T) {
	fg := newFakeGraph(t, false)
	fg.answerWith(200, "application/json", readAnswer(t, "response_send_success.json"))
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	body, err := sender.NewBody(sender.Recipient{Phone: phone}, &sender.Text{Body: "hi"}, sender.BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := g.Send(context.Background(), token, "106540352242922", body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.WAMID(), "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"; got != want {
		t.Errorf("got wamid %q; want %q", got, want)
	}
	if len(resp.Contacts) != 1 || resp.Contacts[0].Input != phone || resp.Contacts[0].WaID != "16505551234" {
		t.Errorf("got contacts %+v", resp.Contacts)
	}
	r := fg.last(t)
	if r.Method != "POST" || r.Path != "/v25.0/106540352242922/messages" || r.RawQuery != "" {
		t.Errorf("got %s %s?%s; want POST /v25.0/106540352242922/messages", r.Method, r.Path, r.RawQuery)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q", ct)
	}
	if string(r.Body) != string(body) {
		t.Errorf("got body %s; want %s", r.Body, body)
	}
	checkToken(t, r)

	// Mark as read answers {"success":true}.
	fg.answerWith(200, "application/json", []byte(`{"success":true}`))
	resp, err = g.Send(context.Background(), token, "106540352242922", sender.MarkRead(wamid, true))
	if err != nil || !resp.Success || resp.WAMID() != "" {
		t.Errorf("mark as read: got %+v, %v", resp, err)
	}

	if _, err := g.Send(context.Background(), token, "../106540352242922", body); err == nil || Classify(err) != schemas.ClassFixFirst {
		t.Errorf("bad phone number id: got %v; want a fix_first error", err)
	}
}

// Classify is sender.Classify, short.
var Classify = sender.Classify

func TestGraphBaseURLWithPrefix(t *testing.T) {
	fg := newFakeGraph(t, false)
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL + "/sim/graph/", Version: "v26.0"})
	if _, err := g.Send(context.Background(), token, "1", sender.MarkRead("wamid.A", false)); err != nil {
		t.Fatal(err)
	}
	if r := fg.last(t); r.Path != "/sim/graph/v26.0/1/messages" {
		t.Errorf("got path %s; want /sim/graph/v26.0/1/messages", r.Path)
	}
}

func TestGraphHTTPS(t *testing.T) {
	fg := newFakeGraph(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(fg.Certificate())
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL, TLSConfig: &tls.Config{RootCAs: roots}})
	if _, err := g.Send(context.Background(), token, "1", sender.MarkRead("wamid.A", false)); err != nil {
		t.Fatal(err)
	}
	checkToken(t, fg.last(t))

	// A certificate nobody vouches for is a configuration error.
	g = sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	_, err := g.Send(context.Background(), token, "1", sender.MarkRead("wamid.A", false))
	if err == nil || Classify(err) != schemas.ClassFixFirst {
		t.Errorf("untrusted certificate: got %v (class %q); want a fix_first error", err, Classify(err))
	}
}

func TestGraphConcurrent(t *testing.T) {
	fg := newFakeGraph(t, false)
	fg.answerWith(200, "application/json", readAnswer(t, "response_send_success.json"))
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL, MaxConnsPerHost: 8})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if _, err := g.Send(context.Background(), token, "1", sender.MarkRead("wamid.A", false)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if fg.count() != 64 {
		t.Errorf("got %d requests; want 64", fg.count())
	}
}

func TestErrorRateLimit(t *testing.T) {
	fg := newFakeGraph(t, false)
	fg.answerWith(400, "application/json; charset=UTF-8", readAnswer(t, "response_error_130429.json"))
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	_, err := g.Send(context.Background(), token, "1", []byte(`{}`))
	var ae *sender.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v; want an *APIError", err)
	}
	want := sender.APIError{HTTPStatus: 400, Code: 130429, Subcode: 2494055, Type: "OAuthException",
		Message: "(#130429) Rate limit hit", Details: "Cloud API message throughput has been reached.",
		FBTraceID: "Az8or2yhqkZfEZ-_4Qn_Bam"}
	if *ae != want {
		t.Errorf("got %+v\nwant %+v", *ae, want)
	}
	if ae.Class() != schemas.ClassPace || Classify(err) != schemas.ClassPace {
		t.Errorf("got class %q, Classify %q; want pace", ae.Class(), Classify(err))
	}
	wantMsg := "cannot send message: graph error 130429 (HTTP 400, subcode 2494055, fbtrace_id Az8or2yhqkZfEZ-_4Qn_Bam): " +
		"(#130429) Rate limit hit: Cloud API message throughput has been reached."
	if err.Error() != wantMsg {
		t.Errorf("got  %q\nwant %q", err, wantMsg)
	}
}

func TestErrorBodies(t *testing.T) {
	fg := newFakeGraph(t, false)
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	f := func(status int, ctype, body string, want sender.APIError, class schemas.ErrorClass) {
		t.Helper()
		fg.answerWith(status, ctype, []byte(body))
		_, err := g.Send(context.Background(), token, "1", []byte(`{}`))
		var ae *sender.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("HTTP %d %s: got %v; want an *APIError", status, body, err)
		}
		if *ae != want {
			t.Errorf("HTTP %d %s:\ngot  %+v\nwant %+v", status, body, *ae, want)
		}
		if got := Classify(err); got != class {
			t.Errorf("HTTP %d %s: got class %q; want %q", status, body, got, class)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the token is in the error: %v", err)
		}
	}
	// error_data as a string.
	f(400, "application/json", `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,`+
		`"error_data":"Param to must be a valid phone number","fbtrace_id":"AbC"}}`,
		sender.APIError{HTTPStatus: 400, Code: 100, Type: "OAuthException", Message: "(#100) Invalid parameter",
			Details: "Param to must be a valid phone number", FBTraceID: "AbC"}, schemas.ClassFixFirst)
	// Meta echoing the token is scrubbed; error_user_msg fills in Details.
	f(401, "application/json", `{"error":{"message":"Malformed access token `+token+`","type":"OAuthException","code":190,`+
		`"error_user_msg":"Session expired","fbtrace_id":"X"}}`,
		sender.APIError{HTTPStatus: 401, Code: 190, Type: "OAuthException", Message: "Malformed access token [token]",
			Details: "Session expired", FBTraceID: "X"}, schemas.ClassFixFirst)
	// The code decides, not the status: 131056 is pace whatever the status.
	f(429, "application/json", `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","type":"OAuthException","code":131056}}`,
		sender.APIError{HTTPStatus: 429, Code: 131056, Type: "OAuthException", Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit"},
		schemas.ClassPace)
	f(500, "application/json", `{"error":{"message":"(#131047) Re-engagement message","code":131047}}`,
		sender.APIError{HTTPStatus: 500, Code: 131047, Message: "(#131047) Re-engagement message"}, schemas.ClassNever)
	// A code the table does not know: fix first, unless Meta says transient.
	f(400, "application/json", `{"error":{"message":"new","code":987654}}`,
		sender.APIError{HTTPStatus: 400, Code: 987654, Message: "new"}, schemas.ClassFixFirst)
	f(400, "application/json", `{"error":{"message":"new","code":987654,"is_transient":true}}`,
		sender.APIError{HTTPStatus: 400, Code: 987654, Message: "new", IsTransient: true}, schemas.ClassRetry)
	// No Meta error object: an HTML 502 from a proxy, an empty 429, an HTML 404.
	f(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>",
		sender.APIError{HTTPStatus: 502, Code: sender.NoCode, Message: "Bad Gateway",
			Details: "the answer is not a Graph error (text/html, 50 bytes)"}, schemas.ClassRetry)
	f(429, "text/plain", "",
		sender.APIError{HTTPStatus: 429, Code: sender.NoCode, Message: "Too Many Requests",
			Details: "the answer is not a Graph error (text/plain, 0 bytes)"}, schemas.ClassRetry)
	f(404, "text/html", "<html>Not Found</html>",
		sender.APIError{HTTPStatus: 404, Code: sender.NoCode, Message: "Not Found",
			Details: "the answer is not a Graph error (text/html, 22 bytes)"}, schemas.ClassFixFirst)

	fg.answerWith(502, "text/html", []byte("<html>502</html>"))
	_, err := g.Send(context.Background(), token, "1", []byte(`{}`))
	if want := "cannot send message: graph answered HTTP 502 without an error object: Bad Gateway: the answer is not a Graph error (text/html, 16 bytes)"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestErrorTimeout(t *testing.T) {
	fg := newFakeGraph(t, false)
	hold := make(chan struct{})
	defer close(hold)
	fg.mu.Lock()
	fg.hold = hold
	fg.mu.Unlock()

	// GraphConfig.Timeout passes.
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := g.Send(context.Background(), token, "1", []byte(`{}`))
	if !errors.Is(err, fasthttp.ErrTimeout) || Classify(err) != schemas.ClassRetry {
		t.Errorf("got %v (class %q); want a timeout, retry", err, Classify(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call took %v; want about 100ms", d)
	}

	// The caller's deadline passes while the request is in flight: a
	// timeout too.
	g = sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = g.Send(ctx, token, "1", []byte(`{}`))
	if !errors.Is(err, fasthttp.ErrTimeout) || Classify(err) != schemas.ClassRetry {
		t.Errorf("caller's deadline in flight: got %v (class %q); want a timeout, retry", err, Classify(err))
	}

	// A context done before the call: nothing is sent, no class.
	n := fg.count()
	for _, ctx := range []context.Context{ctx, canceled()} {
		_, err = g.Send(ctx, token, "1", []byte(`{}`))
		if err == nil || Classify(err) != "" {
			t.Errorf("context done before the call: got %v (class %q); want an error with no class", err, Classify(err))
		}
	}
	if fg.count() != n {
		t.Errorf("got %d requests after the context was done; want none", fg.count()-n)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestErrorConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	g := sender.NewGraph(sender.GraphConfig{BaseURL: "http://" + addr})
	_, err = g.Send(context.Background(), token, "1", []byte(`{}`))
	if err == nil || Classify(err) != schemas.ClassRetry {
		t.Errorf("connection refused: got %v (class %q); want retry", err, Classify(err))
	}

	// A server that closes the connection without answering.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.Close()
		}
	}()
	g = sender.NewGraph(sender.GraphConfig{BaseURL: "http://" + ln.Addr().String()})
	_, err = g.Send(context.Background(), token, "1", []byte(`{}`))
	if err == nil || Classify(err) != schemas.ClassRetry {
		t.Errorf("connection closed: got %v (class %q); want retry", err, Classify(err))
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("the token is in the error: %v", err)
	}
}

func TestErrorClassify(t *testing.T) {
	f := func(err error, want schemas.ErrorClass) {
		t.Helper()
		if got := sender.Classify(err); got != want {
			t.Errorf("Classify(%v): got %q; want %q", err, got, want)
		}
	}
	f(nil, "")
	f(context.Canceled, "")
	f(context.DeadlineExceeded, "")
	f(&sender.InvalidError{Field: "text.body", Reason: "is missing"}, schemas.ClassFixFirst)
	f(errors.New("something else"), schemas.ClassFixFirst)
	f(&sender.APIError{HTTPStatus: 400, Code: 131000}, schemas.ClassRetry)
	f(&sender.APIError{HTTPStatus: 503, Code: sender.NoCode}, schemas.ClassRetry)
	f(&sender.APIError{HTTPStatus: 400, Code: sender.NoCode}, schemas.ClassFixFirst)
	f(&sender.APIError{HTTPStatus: 200, Code: 131049}, schemas.ClassWaitLong)
	f(&sender.APIError{HTTPStatus: 403, Code: 250}, schemas.ClassFixFirst)
	f(fasthttp.ErrTimeout, schemas.ClassRetry)
	f(fasthttp.ErrNoFreeConns, schemas.ClassRetry)
	f(io.ErrUnexpectedEOF, schemas.ClassRetry)
}
