// Package ingest is wasp's front door: the webhook endpoint Meta calls.
//
// GET answers Meta's verification handshake. POST checks the
// X-Hub-Signature-256 HMAC over the raw body, finds the business
// phone_number_id(s) without parsing the whole payload, appends the body to
// the webhooks topic keyed by that id, and answers 200 only once the append
// is durable. Everything after that happens downstream, from the log.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"wasp/internal/logs"
	"wasp/schemas"
	"wasp/stream"
)

// Appender is the part of the log the ingester writes to.
type Appender interface {
	Append(ctx context.Context, recs ...*stream.Record) error
}

// App is one Meta app whose webhooks this ingester takes.
type App struct {
	// ID names the app in the records' app-id header; may be empty.
	ID string
	// Secret is the app secret that signs the app's webhooks.
	Secret string
}

// Config configures the ingester. The zero value works once Apps and
// VerifyToken are set.
type Config struct {
	// Addr is the listen address. Empty means ":8080".
	Addr string
	// Path of the webhook endpoint. Empty means "/webhook".
	Path string
	// Apps whose signatures are accepted; each POST must be signed by one.
	Apps []App
	// VerifyToken answers Meta's GET verification.
	VerifyToken string
	// Topic receives the webhooks; DLQTopic what cannot be handled. Empty
	// means schemas.TopicWebhooks and schemas.TopicDLQ.
	Topic, DLQTopic string
	// MaxBodySize caps a request body; larger ones get 413. Zero means 4 MiB
	// (Meta sends up to 3 MB).
	MaxBodySize int
	// ReadTimeout, WriteTimeout and IdleTimeout bound slow clients. Zero
	// means 10 s, 10 s and 60 s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// AppendTimeout bounds the wait for a durable append; past it the
	// request gets 503 and Meta retries. Zero means 5 s.
	AppendTimeout time.Duration
	// Logger for failures; nil means slog.Default(). Nothing per request.
	Logger *slog.Logger
}

// Ingester is the webhook HTTP server.
type Ingester struct {
	cfg     Config
	log     Appender
	secrets []secret
	server  *fasthttp.Server
	logger  *slog.Logger
	addr    atomic.Value // net.Addr once listening
	failLog logs.Throttle

	deadline atomic.Pointer[deadline] // see appendContext
}

// New checks cfg and builds an ingester that appends to log.
func New(cfg Config, log Appender) (*Ingester, error) {
	if len(cfg.Apps) == 0 {
		return nil, errors.New("cannot start the ingester: no app secret (set WASP_APP_SECRET)")
	}
	for i, a := range cfg.Apps {
		if a.Secret == "" {
			return nil, fmt.Errorf("cannot start the ingester: app %d (%q) has an empty secret", i, a.ID)
		}
	}
	if cfg.VerifyToken == "" {
		return nil, errors.New("cannot start the ingester: the verify token is empty (set WASP_VERIFY_TOKEN)")
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.Path == "" {
		cfg.Path = "/webhook"
	}
	if cfg.Topic == "" {
		cfg.Topic = schemas.TopicWebhooks
	}
	if cfg.DLQTopic == "" {
		cfg.DLQTopic = schemas.TopicDLQ
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = 4 << 20
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.AppendTimeout <= 0 {
		cfg.AppendTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	in := &Ingester{cfg: cfg, log: log, logger: cfg.Logger, failLog: logs.Throttle{Every: 10 * time.Second}}
	for _, a := range cfg.Apps {
		in.secrets = append(in.secrets, newSecret(a.ID, a.Secret))
	}
	in.server = &fasthttp.Server{
		Handler:                       in.Handle,
		ErrorHandler:                  in.handleError,
		ExpectHandler:                 in.handleExpect,
		Name:                          "wasp",
		MaxRequestBodySize:            cfg.MaxBodySize,
		ReadTimeout:                   cfg.ReadTimeout,
		WriteTimeout:                  cfg.WriteTimeout,
		IdleTimeout:                   cfg.IdleTimeout,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		Logger:                        logs.Fasthttp{L: cfg.Logger, Prefix: "fasthttp: "},
		// The body is opaque bytes whatever its Content-Type: a multipart
		// one is not parsed (nor spooled to disk), only signed and stored.
		DisablePreParseMultipartForm: true,
	}
	return in, nil
}

// Run listens on cfg.Addr and serves until ctx ends, then stops accepting
// and waits for requests in flight (their appends included) to finish.
func (in *Ingester) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", in.cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (WASP_LISTEN): %w", in.cfg.Addr, err)
	}
	return in.Serve(ctx, ln)
}

// Serve is Run on a listener the caller made.
func (in *Ingester) Serve(ctx context.Context, ln net.Listener) error {
	in.addr.Store(ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- in.server.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("cannot serve webhooks: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), in.cfg.AppendTimeout+in.cfg.WriteTimeout)
	defer cancel()
	if err := in.server.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("cannot stop the webhook server cleanly: %w", err)
	}
	return <-errc
}

// Addr is the address the ingester listens on, or nil before it does.
func (in *Ingester) Addr() net.Addr {
	a, _ := in.addr.Load().(net.Addr)
	return a
}

// Ping reports whether the ingester takes webhooks: it listens.
func (in *Ingester) Ping(context.Context) error {
	if in.Addr() == nil {
		return errors.New("not listening yet")
	}
	return nil
}

// handleExpect answers "Expect: 100-continue" (curl sends it for bodies
// over 1 MiB): a body announced too large is refused before it is sent.
func (in *Ingester) handleExpect(ctx *fasthttp.RequestCtx) int {
	if ctx.Request.Header.ContentLength() > in.cfg.MaxBodySize {
		requestsTooLarge.Inc()
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusContinue
}

// handleError answers requests fasthttp could not read: too large bodies
// get 413 so that the sender knows not to retry the same bytes.
func (in *Ingester) handleError(ctx *fasthttp.RequestCtx, err error) {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		requestsTooLarge.Inc()
		ctx.Error("request body too large", fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		requestsTimeout.Inc()
		ctx.Error("request timeout", fasthttp.StatusRequestTimeout)
	default:
		requestsMalformed.Inc()
		ctx.Error("malformed request", fasthttp.StatusBadRequest)
	}
}

func itoa(n int64) []byte { return strconv.AppendInt(nil, n, 10) }
