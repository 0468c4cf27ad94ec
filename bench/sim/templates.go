package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// template is a message template of one WABA.
type template struct {
	id, waba, name, language, category, status string
	params                                     int
	named                                      bool
	components                                 json.RawMessage
}

// templateStore holds the templates of every WABA. Sends read it under
// the read lock.
type templateStore struct {
	mu    sync.RWMutex
	byKey map[string]*template // waba \x00 name \x00 language
	byID  map[string]*template
	list  map[string][]*template // per WABA, in creation order
	any   bool                   // no configured templates: accept any
}

func templateKey(waba, name, lang string) string { return waba + "\x00" + name + "\x00" + lang }

// init loads the configured templates, dropping any created since.
func (ts *templateStore) init(s *Sim) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.byKey = make(map[string]*template)
	ts.byID = make(map[string]*template)
	ts.list = make(map[string][]*template)
	ts.any = len(s.cfg.Templates) == 0
	for _, c := range s.cfg.Templates {
		wabas := s.wabaIDs
		if c.WABAID != "" {
			wabas = []string{c.WABAID}
		}
		category := strings.ToUpper(c.Category)
		if category == "" {
			category = "MARKETING"
		}
		var text strings.Builder
		text.WriteString("Hello")
		for i := 1; i <= c.Params; i++ {
			if c.Named {
				fmt.Fprintf(&text, " {{p%d}}", i)
			} else {
				fmt.Fprintf(&text, " {{%d}}", i)
			}
		}
		components, _ := json.Marshal([]object{{{"type", "BODY"}, {"text", text.String()}}})
		for _, w := range wabas {
			ts.add(&template{
				id: s.newID(), waba: w, name: c.Name, language: c.Language, category: category,
				status: "APPROVED", params: c.Params, named: c.Named, components: components,
			})
		}
	}
}

// add stores t; the caller holds mu.
func (ts *templateStore) add(t *template) {
	ts.byKey[templateKey(t.waba, t.name, t.language)] = t
	ts.byID[t.id] = t
	ts.list[t.waba] = append(ts.list[t.waba], t)
}

// check finds the template a send names and checks its parameters. It
// returns nil and no error when any template is accepted.
func (ts *templateStore) check(waba string, o *templateObject) (*template, *apiError) {
	ts.mu.RLock()
	t := ts.byKey[templateKey(waba, o.Name, o.Language.Code)]
	accept := ts.any
	ts.mu.RUnlock()
	if t == nil || t.status != "APPROVED" {
		if t == nil && accept {
			return nil, nil
		}
		return nil, newError(132001, fmt.Sprintf("template name (%s) does not exist in %s", o.Name, o.Language.Code))
	}
	got := 0
	for _, c := range o.Components {
		if !strings.EqualFold(c.Type, "body") {
			continue
		}
		for _, p := range c.Parameters {
			got++
			if t.named != (p.ParameterName != "") {
				return nil, newError(132012, "Parameter format does not match format in the created template")
			}
		}
	}
	if got != t.params {
		return nil, newError(132000, fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", got, t.params))
	}
	return t, nil
}

// view is the template as the Graph API shows it.
func (t *template) view() object {
	format := "POSITIONAL"
	if t.named {
		format = "NAMED"
	}
	return object{
		{"name", t.name}, {"parameter_format", format}, {"components", t.components},
		{"language", t.language}, {"status", t.status}, {"category", t.category}, {"id", t.id},
	}
}

// routeTemplate serves GET /{template_id}; it reports false when id is not
// a template.
func (s *Sim) routeTemplate(ctx *fasthttp.RequestCtx, id []byte) bool {
	s.templates.mu.RLock()
	t := s.templates.byID[string(id)]
	s.templates.mu.RUnlock()
	if t == nil || !ctx.IsGet() {
		return false
	}
	writeJSON(ctx, filterFields(t.view(), string(ctx.QueryArgs().Peek("fields")), "id"))
	return true
}

// handleTemplatesList serves GET /{waba}/message_templates with Graph's
// cursor paging (limit, after, before) and the name, status, category and
// language filters.
func (s *Sim) handleTemplatesList(ctx *fasthttp.RequestCtx, w *waba) {
	args := ctx.QueryArgs()
	limit := 25
	if l, err := strconv.Atoi(string(args.Peek("limit"))); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	name := string(args.Peek("name"))
	status := strings.ToUpper(string(args.Peek("status")))
	category := strings.ToUpper(string(args.Peek("category")))
	language := string(args.Peek("language"))
	s.templates.mu.RLock()
	var all []*template
	for _, t := range s.templates.list[w.id] {
		if (name == "" || strings.Contains(t.name, name)) && (status == "" || t.status == status) &&
			(category == "" || t.category == category) && (language == "" || t.language == language) {
			all = append(all, t)
		}
	}
	s.templates.mu.RUnlock()

	start, end := 0, 0
	if a := args.Peek("after"); len(a) > 0 {
		start = decodeCursor(a) + 1
	} else if b := args.Peek("before"); len(b) > 0 {
		start = max(0, decodeCursor(b)-limit)
	}
	start = min(start, len(all))
	end = min(start+limit, len(all))
	fields := string(args.Peek("fields"))
	data := make([]object, 0, end-start)
	for _, t := range all[start:end] {
		data = append(data, filterFields(t.view(), fields, "id"))
	}
	paging := object{}
	if end > start {
		paging = append(paging, member{"cursors", object{{"before", encodeCursor(start)}, {"after", encodeCursor(end - 1)}}})
	}
	if end < len(all) {
		u := fasthttp.AcquireURI()
		ctx.URI().CopyTo(u)
		u.QueryArgs().Del("before")
		u.QueryArgs().Set("after", encodeCursor(end-1))
		paging = append(paging, member{"next", u.String()})
		fasthttp.ReleaseURI(u)
	}
	if start > 0 {
		u := fasthttp.AcquireURI()
		ctx.URI().CopyTo(u)
		u.QueryArgs().Del("after")
		u.QueryArgs().Set("before", encodeCursor(start))
		paging = append(paging, member{"previous", u.String()})
		fasthttp.ReleaseURI(u)
	}
	writeJSON(ctx, object{{"data", data}, {"paging", paging}})
}

var templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

// handleTemplateCreate serves POST /{waba}/message_templates. The simulator
// approves templates at once and says so with a
// message_template_status_update webhook.
func (s *Sim) handleTemplateCreate(ctx *fasthttp.RequestCtx, w *waba) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, nil, e)
		return
	}
	name, _ := str(p, "name")
	language, _ := str(p, "language")
	category, _ := str(p, "category")
	category = strings.ToUpper(category)
	format, _ := str(p, "parameter_format")
	format = strings.ToUpper(format)
	var components []map[string]any
	if raw, ok := p["components"]; ok {
		b, _ := json.Marshal(raw)
		if s, ok := raw.(string); ok {
			b = []byte(s)
		}
		json.Unmarshal(b, &components)
	}
	switch {
	case name == "":
		e = newError(100, "The parameter name is required.")
	case !templateName.MatchString(name):
		e = newError(100, "Param name must contain only lowercase letters, numbers and underscores.")
	case language == "":
		e = newError(100, "The parameter language is required.")
	case category == "":
		e = newError(100, "The parameter category is required.")
	case category != "MARKETING" && category != "UTILITY" && category != "AUTHENTICATION":
		e = newError(100, fmt.Sprintf("Param category must be one of {AUTHENTICATION, MARKETING, UTILITY} - got %q.", category))
	case len(components) == 0:
		e = newError(100, "The parameter components is required.")
	case format != "" && format != "POSITIONAL" && format != "NAMED":
		e = newError(100, fmt.Sprintf("Param parameter_format must be one of {NAMED, POSITIONAL} - got %q.", format))
	}
	if e != nil {
		s.fail(ctx, nil, e)
		return
	}
	params := 0
	for _, c := range components {
		if t, _ := c["type"].(string); strings.EqualFold(t, "BODY") {
			text, _ := c["text"].(string)
			params = countPlaceholders(text)
		}
	}
	raw, _ := json.Marshal(components)
	t := &template{
		id: s.newID(), waba: w.id, name: name, language: language, category: category,
		status: "APPROVED", params: params, named: format == "NAMED", components: raw,
	}
	s.templates.mu.Lock()
	switch {
	case s.templates.byKey[templateKey(w.id, name, language)] != nil:
		e = &apiError{code: 100, subcode: 2388024, details: "Content in this language already exists"}
	case len(s.templates.list[w.id]) >= 250:
		e = newError(2388019, "")
	default:
		s.templates.add(t)
	}
	s.templates.mu.Unlock()
	if e != nil {
		s.fail(ctx, nil, e)
		return
	}
	s.templateStatusWebhook(w, t, "APPROVED")
	writeJSON(ctx, object{{"id", t.id}, {"status", t.status}, {"category", t.category}})
}

// handleTemplateDelete serves DELETE /{waba}/message_templates?name=…
// (every language) or &hsm_id=… (one template).
func (s *Sim) handleTemplateDelete(ctx *fasthttp.RequestCtx, w *waba) {
	p, e := params(ctx)
	if e != nil {
		s.fail(ctx, nil, e)
		return
	}
	name, _ := str(p, "name")
	hsmID, _ := str(p, "hsm_id")
	if name == "" {
		s.fail(ctx, nil, newError(100, "The parameter name is required."))
		return
	}
	ts := &s.templates
	ts.mu.Lock()
	deleted := 0
	kept := ts.list[w.id][:0]
	for _, t := range ts.list[w.id] {
		if t.name == name && (hsmID == "" || t.id == hsmID) {
			delete(ts.byKey, templateKey(t.waba, t.name, t.language))
			delete(ts.byID, t.id)
			deleted++
			continue
		}
		kept = append(kept, t)
	}
	ts.list[w.id] = kept
	ts.mu.Unlock()
	if deleted == 0 {
		s.fail(ctx, nil, newError(100, fmt.Sprintf("Message template %q was not found.", name)))
		return
	}
	writeSuccess(ctx)
}

// countPlaceholders counts the distinct {{…}} variables of a template text.
func countPlaceholders(text string) int {
	seen := map[string]bool{}
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(text[i:], "}}")
		if j < 0 {
			break
		}
		seen[strings.TrimSpace(text[i+2:i+j])] = true
		text = text[i+j+2:]
	}
	return len(seen)
}

func encodeCursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i)))
}

func decodeCursor(b []byte) int {
	d, err := base64.RawURLEncoding.DecodeString(string(b))
	if err != nil {
		return 0
	}
	i, _ := strconv.Atoi(string(d))
	return max(i, 0)
}

// filterFields keeps the members named in the comma-separated fields (all
// when empty), plus always.
func filterFields(o object, fields string, always string) object {
	if fields == "" {
		return o
	}
	want := map[string]bool{always: true}
	for _, f := range strings.Split(fields, ",") {
		f, _, _ = strings.Cut(strings.TrimSpace(f), "{")
		want[f] = true
	}
	out := object{}
	for _, m := range o {
		if want[m.key] {
			out = append(out, m)
		}
	}
	return out
}
