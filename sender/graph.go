package sender

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// GraphConfig configures the Graph API client. The zero value talks to
// https://graph.facebook.com/v25.0.
type GraphConfig struct {
	// BaseURL is the Graph API root, http or https, with an optional path
	// prefix (a simulator at http://127.0.0.1:9090/graph). Default
	// https://graph.facebook.com.
	BaseURL string
	// Version is the Graph API version, default "v25.0".
	Version string
	// Timeout bounds each call, from the wait for a connection to the last
	// byte of the answer. Default 30 s. A call that runs out of it fails
	// with a timeout, which Classify calls ClassRetry.
	Timeout time.Duration
	// MaxConnsPerHost caps the kept-alive connections to one host, so the
	// number of calls in flight. Default 512.
	MaxConnsPerHost int
	// TLSConfig is used for https; nil uses the system's roots.
	TLSConfig *tls.Config
}

// Default values of GraphConfig.
const (
	DefaultGraphURL     = "https://graph.facebook.com"
	DefaultGraphVersion = "v25.0"
)

// GraphClient is a client of Meta's Graph API for WhatsApp: sending
// messages and the management calls (phone numbers, profile,
// subscriptions, templates, media). It is safe for concurrent use; calls
// share kept-alive connections (closed after 10 s idle, before servers
// tend to close them under a request).
//
// The access token is an argument of each call, since tenants have their
// own system-user tokens. It is sent in the Authorization header only:
// never in a URL, and never in an error (Meta's error text is scrubbed of
// it).
//
// Calls respect the deadline of their context: the earlier of it and
// GraphConfig.Timeout bounds each call. A context already done stops a
// call before anything is sent; canceling a context does not abort a call
// in flight, which runs to its deadline, so that a send under way at a
// shutdown still gets its answer.
//
// It implements the stage's Graph interface.
type GraphClient struct {
	prefix  string // "{base}/{version}/"
	origin  string // scheme://host of the base URL
	timeout time.Duration
	client  *fasthttp.Client
}

var _ Graph = (*GraphClient)(nil)

// NewGraph returns a client with cfg (see GraphConfig for the defaults).
// It does not check BaseURL: with a malformed one every call fails with an
// error that Classify calls ClassFixFirst (cmd validates the setting).
func NewGraph(cfg GraphConfig) *GraphClient {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultGraphURL
	}
	version := strings.Trim(cfg.Version, "/")
	if version == "" {
		version = DefaultGraphVersion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = 512
	}
	origin := base
	if u, err := url.Parse(base); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	return &GraphClient{
		prefix:  base + "/" + version + "/",
		origin:  origin,
		timeout: cfg.Timeout,
		client: &fasthttp.Client{
			Name:                   "wasp",
			MaxConnsPerHost:        cfg.MaxConnsPerHost,
			MaxConnWaitTimeout:     cfg.Timeout,
			MaxResponseBodySize:    maxAnswerBytes,
			TLSConfig:              cfg.TLSConfig,
			DisablePathNormalizing: true,
		},
	}
}

// maxAnswerBytes caps a JSON answer of the Graph API (media downloads
// stream and have their own cap).
const maxAnswerBytes = 16 << 20

// SendResponse is the answer to a send: the message was accepted, which
// is not delivered (the status webhooks say that). A mark-as-read answer
// has Success only.
type SendResponse struct {
	MessagingProduct string        `json:"messaging_product"`
	Contacts         []SentContact `json:"contacts"`
	Messages         []SentMessage `json:"messages"`
	Success          bool          `json:"success,omitempty"`
}

// SentContact is the recipient as Meta resolved it.
type SentContact struct {
	// Input is the "to" of the body.
	Input string `json:"input"`
	// WaID is the recipient's WhatsApp id.
	WaID string `json:"wa_id"`
	// UserID is the recipient's BSUID, when Meta gives it.
	UserID string `json:"user_id,omitempty"`
}

// SentMessage is the accepted message.
type SentMessage struct {
	// ID is the message's wamid.
	ID string `json:"id"`
	// MessageStatus is the pacing status of a template ("accepted",
	// "held_for_quality_assessment"), when Meta gives one.
	MessageStatus string `json:"message_status,omitempty"`
	// GroupID is set for a message to a group.
	GroupID string `json:"group_id,omitempty"`
}

// WAMID returns the wamid of the accepted message, "" if there is none.
func (r *SendResponse) WAMID() string {
	if r == nil || len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[0].ID
}

// Send posts body, a complete message body (NewBody, CompleteBody,
// MarkRead), to {base}/{version}/{phoneNumberID}/messages. An error
// answer is an *APIError; see Classify for what to do with any error.
// Send does not validate body (ValidateBody does), does not keep it after
// it returns, and never retries: a retry after a timeout can send the
// message twice.
func (g *GraphClient) Send(ctx context.Context, token, phoneNumberID string, body []byte) (*SendResponse, error) {
	if err := checkID("phone_number_id", phoneNumberID); err != nil {
		return nil, fmt.Errorf("cannot send message: %w", err)
	}
	r := &SendResponse{}
	if err := g.call(ctx, token, fasthttp.MethodPost, g.prefix+phoneNumberID+"/messages", "application/json", body, r); err != nil {
		return nil, fmt.Errorf("cannot send message: %w", err)
	}
	return r, nil
}

// checkID refuses an id that would change the URL's path.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s is empty", what)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return fmt.Errorf("%s %q is not a Graph id", what, id)
		}
	}
	return nil
}

// url returns the address of path (under the version) with query q.
func (g *GraphClient) url(path string, q url.Values) string {
	if len(q) == 0 {
		return g.prefix + path
	}
	return g.prefix + path + "?" + q.Encode()
}

// call makes one request to uri and decodes a 2xx answer into out (when
// not nil). A non-2xx answer is an *APIError.
func (g *GraphClient) call(ctx context.Context, token, method, uri, contentType string, body []byte, out any) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(uri)
	req.Header.SetMethod(method)
	setToken(req, token)
	if body != nil {
		req.Header.SetContentType(contentType)
		req.SetBodyRaw(body)
	}
	if err := g.do(ctx, req, resp); err != nil {
		return err
	}
	if s := resp.StatusCode(); s < 200 || s > 299 {
		return parseAPIError(s, string(resp.Header.ContentType()), resp.Body(), token)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("cannot decode the answer (HTTP %d, %d bytes): %w", resp.StatusCode(), len(resp.Body()), err)
	}
	return nil
}

func setToken(req *fasthttp.Request, token string) {
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
}

// do runs the request until the context's deadline or the timeout,
// whichever comes first. A context already done stops the call before
// anything is sent (its error is returned as is); a deadline that passes
// while the request is in flight is a timeout (fasthttp.ErrTimeout).
func (g *GraphClient) do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	deadline := now.Add(g.timeout)
	if d, ok := ctx.Deadline(); ok {
		if !d.After(now) {
			return context.DeadlineExceeded // ctx.Err may lag its deadline
		}
		if d.Before(deadline) {
			deadline = d
		}
	}
	return g.client.DoDeadline(req, resp, deadline)
}

// success is the answer of most management calls.
type success struct {
	Success bool `json:"success"`
}

// callOK makes a call whose answer is {"success":true}.
func (g *GraphClient) callOK(ctx context.Context, token, method, uri string, body any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var s success
	if err := g.call(ctx, token, method, uri, "application/json", data, &s); err != nil {
		return err
	}
	if !s.Success {
		return errors.New("graph answered without success")
	}
	return nil
}
