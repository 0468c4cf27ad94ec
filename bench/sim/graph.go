package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	controlPrefix   = []byte("/_sim/")
	attachmentsPath = []byte("/whatsapp_business/attachments")
)

// handle serves every request: the Graph API under /{version}/…, media
// downloads, and the test controls under /_sim/.
func (s *Sim) handle(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case bytes.HasPrefix(path, controlPrefix):
		s.handleControl(ctx)
		return
	case bytes.HasPrefix(path, attachmentsPath):
		s.requests.add(ctx)
		s.handleDownload(ctx)
		return
	}
	version, rest := cut(bytes.TrimPrefix(path, []byte("/")), '/')
	id, edge := cut(rest, '/')
	send := string(edge) == "messages"
	if !send {
		s.requests.add(ctx)
	}
	if !isVersion(version) || len(id) == 0 || bytes.IndexByte(edge, '/') >= 0 {
		s.fail(ctx, nil, errUnknownPath(string(path)))
		return
	}
	if !s.authorized(ctx) {
		s.fail(ctx, nil, errTokenInvalid())
		return
	}
	if d := s.cfg.Faults.Latency.sample(); d > 0 {
		time.Sleep(d)
	}
	if !send {
		if f, ok := s.callFaults.pop(); ok {
			s.fail(ctx, s.numbers[string(id)], newError(f.code, ""))
			return
		}
	}
	if n := s.numbers[string(id)]; n != nil {
		s.routeNumber(ctx, n, edge)
		return
	}
	if w := s.wabas[string(id)]; w != nil {
		s.routeWABA(ctx, w, edge)
		return
	}
	if len(edge) == 0 && (s.routeMedia(ctx, id) || s.routeTemplate(ctx, id)) {
		return
	}
	s.fail(ctx, nil, errUnknownObject(ctx.Method(), string(id)))
}

// routeNumber serves /{version}/{phone_number_id}/{edge}.
func (s *Sim) routeNumber(ctx *fasthttp.RequestCtx, n *number, edge []byte) {
	post, get := ctx.IsPost(), ctx.IsGet()
	switch string(edge) {
	case "messages":
		if post {
			s.handleSend(ctx, n)
			return
		}
	case "media":
		if post {
			s.handleUpload(ctx, n)
			return
		}
	case "":
		if get {
			s.handleNumberFields(ctx, n)
			return
		}
		if post {
			s.handleNumberUpdate(ctx, n)
			return
		}
	case "request_code":
		if post {
			s.handleRequestCode(ctx, n)
			return
		}
	case "verify_code":
		if post {
			s.handleVerifyCode(ctx, n)
			return
		}
	case "register":
		if post {
			s.handleRegister(ctx, n)
			return
		}
	case "deregister":
		if post {
			s.handleDeregister(ctx, n)
			return
		}
	case "whatsapp_business_profile":
		if get {
			s.handleProfileGet(ctx, n)
			return
		}
		if post {
			s.handleProfilePost(ctx, n)
			return
		}
	default:
		s.fail(ctx, n, errUnknownPath(string(ctx.Path())))
		return
	}
	s.fail(ctx, n, errUnknownObject(ctx.Method(), n.cfg.PhoneNumberID))
}

// routeWABA serves /{version}/{waba_id}/{edge}.
func (s *Sim) routeWABA(ctx *fasthttp.RequestCtx, w *waba, edge []byte) {
	switch string(edge) {
	case "message_templates":
		switch {
		case ctx.IsGet():
			s.handleTemplatesList(ctx, w)
			return
		case ctx.IsPost():
			s.handleTemplateCreate(ctx, w)
			return
		case ctx.IsDelete():
			s.handleTemplateDelete(ctx, w)
			return
		}
	case "phone_numbers":
		if ctx.IsGet() {
			s.handlePhoneNumbers(ctx, w)
			return
		}
	case "subscribed_apps":
		switch {
		case ctx.IsGet():
			s.handleSubscribedApps(ctx, w)
			return
		case ctx.IsPost():
			s.handleSubscribe(ctx, w)
			return
		case ctx.IsDelete():
			w.subscribed.Store(false)
			w.override.Store(nil)
			writeSuccess(ctx)
			return
		}
	case "":
		if ctx.IsGet() {
			writeJSON(ctx, object{
				{"id", w.id}, {"name", "Wasp Sim WABA"}, {"timezone_id", "1"},
				{"message_template_namespace", "wasp_sim_" + w.id},
			})
			return
		}
	default:
		s.fail(ctx, nil, errUnknownPath(string(ctx.Path())))
		return
	}
	s.fail(ctx, nil, errUnknownObject(ctx.Method(), w.id))
}

// authorized reports whether the request carries a valid bearer token.
func (s *Sim) authorized(ctx *fasthttp.RequestCtx) bool {
	tok := bearer(ctx)
	if len(tok) == 0 {
		return false
	}
	if len(s.tokens) == 0 {
		return true
	}
	_, ok := s.tokens[string(tok)]
	return ok
}

// bearer returns the token of the Authorization header ("Bearer <token>"
// or "OAuth <token>"), nil without one.
func bearer(ctx *fasthttp.RequestCtx) []byte {
	h := ctx.Request.Header.Peek("Authorization")
	switch {
	case len(h) > 7 && strings.EqualFold(string(h[:7]), "Bearer "):
		return bytes.TrimSpace(h[7:])
	case len(h) > 6 && strings.EqualFold(string(h[:6]), "OAuth "):
		return bytes.TrimSpace(h[6:])
	}
	return nil
}

// fail answers ctx with e and counts it, on n when the error concerns a
// number.
func (s *Sim) fail(ctx *fasthttp.RequestCtx, n *number, e *apiError) {
	if n != nil {
		n.countError(e.code)
	} else {
		s.stats.countError(e.code)
	}
	e.write(ctx)
}

// writeJSON answers 200 with v as JSON, non-ASCII escaped as Graph does.
func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		newError(1, "").write(ctx)
		return
	}
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.Response.SetBodyRaw(escapeNonASCII(b))
}

var successBody = []byte(`{"success":true}`)

// writeSuccess answers {"success":true}, Graph's answer to mutations.
func writeSuccess(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.Response.SetBodyRaw(successBody)
}

// params reads the parameters of a management request: a JSON body, or
// form fields, then the query string (which does not override the body).
func params(ctx *fasthttp.RequestCtx) (map[string]any, *apiError) {
	m := make(map[string]any)
	body := bytes.TrimSpace(ctx.PostBody())
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, newError(100, "The request body is not valid JSON.")
		}
	} else {
		ctx.PostArgs().VisitAll(func(k, v []byte) { m[string(k)] = string(v) })
	}
	ctx.QueryArgs().VisitAll(func(k, v []byte) {
		if _, ok := m[string(k)]; !ok {
			m[string(k)] = string(v)
		}
	})
	return m, nil
}

// str returns m[key] as a string and whether it is present.
func str(m map[string]any, key string) (string, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		b, _ := json.Marshal(v)
		return string(b), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

// cut splits b around the first sep.
func cut(b []byte, sep byte) (before, after []byte) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// isVersion reports whether b is a Graph version, "v25.0".
func isVersion(b []byte) bool {
	if len(b) < 4 || b[0] != 'v' {
		return false
	}
	dot := bytes.IndexByte(b, '.')
	if dot < 2 || dot == len(b)-1 {
		return false
	}
	for i, c := range b[1:] {
		if i+1 != dot && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// sample draws a delay.
func (l Latency) sample() time.Duration {
	if l.P50 > 0 {
		sigma := 0.0
		if l.P99 > l.P50 {
			sigma = math.Log(float64(l.P99)/float64(l.P50)) / 2.3263
		}
		d := float64(l.P50) * math.Exp(sigma*rand.NormFloat64())
		return time.Duration(min(d, 10*float64(max(l.P99, l.P50))))
	}
	d := l.Fixed
	if l.Jitter > 0 {
		d += rand.N(l.Jitter)
	}
	return d
}

// sample draws a duration from the range.
func (r Range) sample() time.Duration {
	if r.Max <= r.Min {
		return r.Min
	}
	return r.Min + rand.N(r.Max-r.Min+1)
}
