package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"wasp/internal/rawjson"
	"wasp/schemas"
	"wasp/stream"
)

var (
	requestsOK          = metrics.NewCounter(`wasp_ingest_requests_total{outcome="ok"}`)
	requestsDeadLetter  = metrics.NewCounter(`wasp_ingest_requests_total{outcome="dead_letter"}`)
	requestsBadSig      = metrics.NewCounter(`wasp_ingest_requests_total{outcome="bad_signature"}`)
	requestsUnavailable = metrics.NewCounter(`wasp_ingest_requests_total{outcome="unavailable"}`)
	requestsTooLarge    = metrics.NewCounter(`wasp_ingest_requests_total{outcome="too_large"}`)
	requestsTimeout     = metrics.NewCounter(`wasp_ingest_requests_total{outcome="timeout"}`)
	requestsMalformed   = metrics.NewCounter(`wasp_ingest_requests_total{outcome="malformed"}`)
	requestsMethod      = metrics.NewCounter(`wasp_ingest_requests_total{outcome="method_not_allowed"}`)
	requestsNotFound    = metrics.NewCounter(`wasp_ingest_requests_total{outcome="not_found"}`)
	verifyOK            = metrics.NewCounter(`wasp_ingest_requests_total{outcome="verify_ok"}`)
	verifyDenied        = metrics.NewCounter(`wasp_ingest_requests_total{outcome="verify_denied"}`)
	requestDuration     = metrics.NewPrometheusHistogram(`wasp_ingest_request_duration_seconds`)
	receivedBytes       = metrics.NewCounter(`wasp_ingest_received_bytes_total`)
	appendedRecords     = metrics.NewCounter(`wasp_ingest_appended_records_total`)
	splitBodies         = metrics.NewCounter(`wasp_ingest_split_bodies_total`)
)

// WebhookCounts returns how many webhook POSTs this process answered 200
// (stored, or dead-lettered when signed but unreadable) and how many it
// refused (bad signature, too large, malformed, timed out, or the log
// unavailable), since it started. Meta retries the refused ones and, when
// they keep failing, disables the subscription: the alert rules watch the
// share.
func WebhookCounts() (ok, refused uint64) {
	ok = requestsOK.Get() + requestsDeadLetter.Get()
	refused = requestsBadSig.Get() + requestsUnavailable.Get() + requestsTooLarge.Get() +
		requestsTimeout.Get() + requestsMalformed.Get()
	return ok, refused
}

// Handle serves one request. It is the whole HTTP surface of the ingester,
// usable with any fasthttp server (tests use an in-memory listener).
func (in *Ingester) Handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if string(ctx.Path()) != in.cfg.Path {
		requestsNotFound.Inc()
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	switch {
	case ctx.IsPost():
		in.handlePost(ctx, start)
	case ctx.IsGet():
		in.handleVerify(ctx)
	default:
		requestsMethod.Inc()
		ctx.Response.Header.Set("Allow", "GET, POST")
		ctx.Error("method not allowed", fasthttp.StatusMethodNotAllowed)
	}
	requestDuration.UpdateDuration(start)
}

// handleVerify answers Meta's subscription handshake: the challenge back
// when the token matches, 403 otherwise.
func (in *Ingester) handleVerify(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	token := args.Peek("hub.verify_token")
	if string(args.Peek("hub.mode")) != "subscribe" ||
		subtle.ConstantTimeCompare(token, []byte(in.cfg.VerifyToken)) != 1 {
		verifyDenied.Inc()
		ctx.Error("verification failed", fasthttp.StatusForbidden)
		return
	}
	verifyOK.Inc()
	ctx.SetContentType("text/plain")
	ctx.SetBody(args.Peek("hub.challenge"))
}

// handlePost checks the signature, appends and answers. The body is the
// fasthttp request buffer: Append does not keep it past its return, and
// this handler returns after Append does, so nothing outlives the request.
func (in *Ingester) handlePost(ctx *fasthttp.RequestCtx, start time.Time) {
	body := ctx.PostBody()
	receivedBytes.Add(len(body))
	app := in.verify(ctx.Request.Header.Peek("X-Hub-Signature-256"), body)
	if app == nil {
		requestsBadSig.Inc()
		ctx.Error("invalid signature", fasthttp.StatusUnauthorized)
		return
	}

	b := batchPool.Get().(*batch)
	defer b.release()
	deadLetter := b.build(body, app.id, start, in.cfg.Topic, in.cfg.DLQTopic)
	err := in.log.Append(in.appendContext(start), b.ptrs...)
	if err != nil {
		requestsUnavailable.Inc()
		if in.failLog.Allow() {
			in.logger.Error("cannot store a webhook; answering 503 so that Meta retries", "err", err)
		}
		ctx.Error("cannot store the webhook, retry later", fasthttp.StatusServiceUnavailable)
		ctx.Response.Header.Set("Retry-After", "5") // after Error, which resets the headers
		return
	}
	appendedRecords.Add(len(b.ptrs))
	if deadLetter {
		requestsDeadLetter.Inc()
	} else {
		requestsOK.Inc()
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// deadline is a context requests share for their appends.
type deadline struct {
	ctx    context.Context
	cancel context.CancelFunc // never needed: the context ends at its deadline
	until  time.Time          // when requests stop taking it
}

// appendContext returns a context that ends between AppendTimeout and
// AppendTimeout plus a twentieth of it (at most 100 ms) after now. The
// requests of each such step share one, so that a request costs no timer
// of its own (a context.WithTimeout each was 3 % of the ingester's CPU).
func (in *Ingester) appendContext(now time.Time) context.Context {
	if d := in.deadline.Load(); d != nil && now.Before(d.until) {
		return d.ctx
	}
	step := min(in.cfg.AppendTimeout/20, 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), in.cfg.AppendTimeout+step)
	in.deadline.Store(&deadline{ctx: ctx, cancel: cancel, until: now.Add(step)})
	return ctx
}

// verify returns the app whose secret signed body, or nil. The header is
// "sha256=" and the hex HMAC-SHA256 of the raw body; every comparison is in
// constant time.
func (in *Ingester) verify(header, body []byte) *secret {
	const prefix = "sha256="
	if len(header) != len(prefix)+2*sha256.Size || string(header[:len(prefix)]) != prefix {
		return nil
	}
	var want [sha256.Size]byte
	if _, err := hex.Decode(want[:], header[len(prefix):]); err != nil {
		return nil
	}
	for i := range in.secrets {
		if in.secrets[i].signed(body, want[:]) {
			return &in.secrets[i]
		}
	}
	return nil
}

// secret is one app's key with a pool of keyed hashes, so that a request
// costs no allocation for its HMAC.
type secret struct {
	id   []byte
	pool *sync.Pool
}

// keyedHash is a reusable HMAC with room for its sum.
type keyedHash struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newSecret(id, key string) secret {
	k := []byte(key)
	return secret{id: []byte(id), pool: &sync.Pool{New: func() any {
		return &keyedHash{h: hmac.New(sha256.New, k)}
	}}}
}

func (s *secret) signed(body, want []byte) bool {
	k := s.pool.Get().(*keyedHash)
	k.h.Reset()
	k.h.Write(body)
	ok := hmac.Equal(k.h.Sum(k.sum[:0]), want)
	s.pool.Put(k)
	return ok
}

// Sign returns the X-Hub-Signature-256 header value of body under secret,
// as Meta computes it. The simulator and tests use it.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// batch holds the records of one request, pooled so that the common case,
// one body for one phone number, allocates nothing.
type batch struct {
	one      stream.Record
	ptrs     []*stream.Record
	hdrs     [2]stream.Header
	received []byte
	split    []stream.Record
	ids      [][]byte
}

var batchPool = sync.Pool{New: func() any { return &batch{ptrs: make([]*stream.Record, 0, 4)} }}

func (b *batch) release() {
	b.one = stream.Record{}
	clear(b.ptrs)
	b.ptrs = b.ptrs[:0]
	b.split = nil
	clear(b.ids)
	b.ids = b.ids[:0]
	batchPool.Put(b)
}

// build fills the batch with the records for body and reports whether body
// went to the dead-letter topic.
func (b *batch) build(body, appID []byte, received time.Time, topic, dlq string) (deadLetter bool) {
	b.received = strconv.AppendInt(b.received[:0], received.UnixMilli(), 10)
	b.hdrs = [2]stream.Header{
		{Key: schemas.HeaderReceivedAt, Value: b.received},
		{Key: schemas.HeaderAppID, Value: appID},
	}
	if !rawjson.Valid(body) {
		b.deadLetter(body, dlq, "signed body is not valid JSON")
		return true
	}
	b.ids = scanPhoneNumberIDs(body, b.ids)
	if len(b.ids) == 1 {
		b.one = stream.Record{Topic: topic, Key: b.ids[0], Value: body, Headers: b.hdrs[:]}
		b.ptrs = append(b.ptrs, &b.one)
		return false
	}
	parts, err := splitByNumber(body)
	if err != nil {
		b.deadLetter(body, dlq, err.Error())
		return true
	}
	if len(parts) == 1 {
		// One key after all (an account-level field keyed by its WABA):
		// keep the bytes Meta signed.
		b.one = stream.Record{Topic: topic, Key: []byte(parts[0].key), Value: body, Headers: b.hdrs[:]}
		b.ptrs = append(b.ptrs, &b.one)
		return false
	}
	splitBodies.Inc()
	b.split = make([]stream.Record, len(parts))
	for i, p := range parts {
		b.split[i] = stream.Record{Topic: topic, Key: []byte(p.key), Value: p.body, Headers: b.hdrs[:]}
		b.ptrs = append(b.ptrs, &b.split[i])
	}
	return false
}

func (b *batch) deadLetter(body []byte, dlq, reason string) {
	hdrs := append(b.hdrs[:], stream.Header{Key: schemas.HeaderReason, Value: []byte(reason)},
		stream.Header{Key: schemas.HeaderSource, Value: []byte("ingest")})
	var key []byte
	if ids := scanPhoneNumberIDs(body, nil); len(ids) > 0 {
		key = ids[0]
	}
	b.one = stream.Record{Topic: dlq, Key: key, Value: body, Headers: hdrs}
	b.ptrs = append(b.ptrs, &b.one)
}

var errNoChanges = errors.New("not a WhatsApp webhook: no entry with changes")
