package sim

import (
	"sync"

	"github.com/valyala/fasthttp"
)

// Request is a Graph API request the simulator received, other than a
// send (POST /{phone_number_id}/messages, which Sends returns): the
// management calls and media downloads, as Requests returns them.
type Request struct {
	Method string
	// Path is the URL path, e.g. "/v25.0/106540352242922/register";
	// Query the raw query string.
	Path, Query string
	ContentType string
	// Body is the request body as received, cut at 64 KiB.
	Body []byte
	// Token is the bearer token, "" when there was none.
	Token string
}

// Caps of the requests kept: the first maxRequests, each body cut at
// maxRequestBody.
const (
	maxRequests    = 10_000
	maxRequestBody = 64 << 10
)

// requestLog keeps the requests for Requests.
type requestLog struct {
	mu   sync.Mutex
	list []Request
}

func (l *requestLog) add(ctx *fasthttp.RequestCtx) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.list) >= maxRequests {
		return
	}
	body := ctx.PostBody()
	l.list = append(l.list, Request{
		Method:      string(ctx.Method()),
		Path:        string(ctx.Path()),
		Query:       string(ctx.QueryArgs().QueryString()),
		ContentType: string(ctx.Request.Header.ContentType()),
		Body:        append([]byte(nil), body[:min(len(body), maxRequestBody)]...),
		Token:       string(bearer(ctx)),
	})
}

func (l *requestLog) clear() {
	l.mu.Lock()
	l.list = nil
	l.mu.Unlock()
}

// Requests returns the requests received since New or the last Reset,
// other than sends, in arrival order (the first 10,000).
func (s *Sim) Requests() []Request {
	s.requests.mu.Lock()
	defer s.requests.mu.Unlock()
	return append([]Request(nil), s.requests.list...)
}

// FailNextCall makes the next n Graph requests other than sends and media
// downloads (the management calls) fail with code once their token is
// checked: FailNextCall(1, 133016) scripts a register over Meta's limit.
// Scripted faults queue in call order.
func (s *Sim) FailNextCall(n int, code int) {
	s.callFaults.push(n, fault{kind: faultCode, code: code})
}
