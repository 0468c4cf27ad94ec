package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"wasp/bench/sim"
	"wasp/sender"
)

const (
	adminToken = "admin-test-token"
	adminPhone = sim.DefaultPhoneNumberID
	adminWABA  = sim.DefaultWABAID
	graphRoot  = "/" + sender.DefaultGraphVersion + "/"
)

// adminSim serves a simulator that takes adminToken on a random port
// until the test ends.
func adminSim(t *testing.T, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.Tokens = append(cfg.Tokens, adminToken)
	cfg.Logger = slog.New(slog.DiscardHandler)
	return serveSim(t, cfg)
}

// serveSim serves a simulator on a random port until the test ends; its
// URL is set when it returns.
func serveSim(t *testing.T, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); s.URL() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the simulator does not serve")
		}
	}
	return s
}

// adminEnv is the environment of a single tenant on the simulator's
// default number, plus kv.
func adminEnv(s *sim.Sim, kv ...string) map[string]string {
	m := map[string]string{
		"WASP_GRAPH_URL": s.URL(), "WASP_ACCESS_TOKEN": adminToken,
		"WASP_PHONE_NUMBER_ID": adminPhone, "WASP_WABA_ID": adminWABA,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// runAdminWith runs `wasp admin args…` through run, as main does.
func runAdminWith(environ map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"admin"}, args...), func(k string) string { return environ[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// mustAdmin runs a command that must succeed and returns its output.
func mustAdmin(t *testing.T, s *sim.Sim, args ...string) string {
	t.Helper()
	code, out, errs := runAdminWith(adminEnv(s), args...)
	if code != 0 {
		t.Fatalf("wasp admin %v: exit %d, stderr %q", args, code, errs)
	}
	return out
}

// idOf returns "id" of a command's JSON output.
func idOf(t *testing.T, out string) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
		t.Fatalf("got output %q; want JSON with an id", out)
	}
	return v.ID
}

// wantCall is a request the simulator must have recorded.
type wantCall struct {
	method, path string
	// query holds the parameters; with anyQuery others may come too.
	query    url.Values
	anyQuery bool
	// body is the JSON body ("" for none); multipart checks an upload's.
	body      string
	multipart map[string]string
}

func (w wantCall) check(t *testing.T, r sim.Request) {
	t.Helper()
	if r.Method != w.method || r.Path != w.path {
		t.Errorf("got %s %s; want %s %s", r.Method, r.Path, w.method, w.path)
	}
	if r.Token != adminToken {
		t.Errorf("%s %s: got token %q; want %q", r.Method, r.Path, r.Token, adminToken)
	}
	q, _ := url.ParseQuery(r.Query)
	for k, v := range w.query {
		if !reflect.DeepEqual(q[k], v) {
			t.Errorf("%s %s: got query %s=%q; want %q", r.Method, r.Path, k, q[k], v)
		}
	}
	if !w.anyQuery && len(q) != len(w.query) {
		t.Errorf("%s %s: got query %v; want %v", r.Method, r.Path, q, w.query)
	}
	switch {
	case w.multipart != nil:
		checkMultipart(t, r, w.multipart)
	case w.body == "" && len(r.Body) > 0:
		t.Errorf("%s %s: got body %s; want none", r.Method, r.Path, r.Body)
	case w.body != "" && !sameJSON(r.Body, []byte(w.body)):
		t.Errorf("%s %s: got body %s; want %s", r.Method, r.Path, r.Body, w.body)
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// checkMultipart checks the parts of an upload: want maps each field
// name to its value, and "file" to the file name, a space, the bytes.
func checkMultipart(t *testing.T, r sim.Request, want map[string]string) {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.ContentType)
	if err != nil {
		t.Fatalf("got Content-Type %q: %v", r.ContentType, err)
	}
	got := map[string]string{}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("cannot read the multipart body: %v", err)
		}
		data, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			data = append([]byte(p.FileName()+" "), data...)
		}
		got[p.FormName()] = string(data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got parts %q; want %q", got, want)
	}
}

// adminCase is one command run against the simulator, once for the table
// (when table is set) and once with --json (when json is set).
type adminCase struct {
	args []string
	// prep, if set, runs before each run; what it returns replaces {id}
	// in args, in the paths and queries of want and in the output.
	prep func(t *testing.T) string
	want []wantCall
	// table holds lines of the output, their spaces squeezed; json
	// substrings of the output compacted.
	table []string
	json  []string
}

func (c adminCase) run(t *testing.T, s *sim.Sim, asJSON bool) {
	t.Helper()
	id := ""
	if c.prep != nil {
		id = c.prep(t)
	}
	args := make([]string, len(c.args))
	for i, a := range c.args {
		args[i] = strings.ReplaceAll(a, "{id}", id)
	}
	if asJSON {
		args = append(args, "--json")
	}
	before := len(s.Requests())
	out := mustAdmin(t, s, args...)
	got := s.Requests()[before:]
	if len(got) != len(c.want) {
		t.Fatalf("wasp admin %v: got %d requests %+v; want %d", args, len(got), got, len(c.want))
	}
	for i, w := range c.want {
		w.path = strings.ReplaceAll(w.path, "{id}", id)
		q := url.Values{}
		for k, v := range w.query {
			q[k] = []string{strings.ReplaceAll(v[0], "{id}", id)}
		}
		w.query = q
		w.check(t, got[i])
	}
	if asJSON {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(out)); err != nil {
			t.Fatalf("wasp admin %v: got output %q; want one JSON document: %v", args, out, err)
		}
		for _, want := range c.json {
			if want = strings.ReplaceAll(want, "{id}", id); !strings.Contains(compact.String(), want) {
				t.Errorf("wasp admin %v: got %s; want it to hold %s", args, compact.String(), want)
			}
		}
		return
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range c.table {
		if want = strings.ReplaceAll(want, "{id}", id); !lines[want] {
			t.Errorf("wasp admin %v: got\n%s\nwant the line %q", args, out, want)
		}
	}
}

const templateYAML = `name: order_ready
category: UTILITY
language: es_ES
components:
  - type: BODY
    text: "Hola {{1}}, tu pedido está listo."
    example:
      body_text: [["Ana"]]
  - type: BUTTONS
    buttons:
      - {type: QUICK_REPLY, text: Gracias}
`

const templateBody = `{"name":"order_ready","category":"UTILITY","language":"es_ES","components":[
	{"type":"BODY","text":"Hola {{1}}, tu pedido está listo.","example":{"body_text":[["Ana"]]}},
	{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Gracias"}]}]}`

// TestAdminCommands runs every command against the simulator and checks
// the requests it made and what it printed.
func TestAdminCommands(t *testing.T) {
	s := adminSim(t, sim.Config{})
	dir := t.TempDir()
	tplFile := filepath.Join(dir, "order_ready.yaml")
	photo := filepath.Join(dir, "photo.jpg")
	photoBytes := bytes.Repeat([]byte{0xff, 0xd8, 'j', 'p'}, 512)
	os.WriteFile(tplFile, []byte(templateYAML), 0o600)
	os.WriteFile(photo, photoBytes, 0o600)
	out := filepath.Join(dir, "out.jpg")

	phone, waba := graphRoot+adminPhone, graphRoot+adminWABA
	success := []string{`{"success":true}`}
	createTemplate := func(t *testing.T) string {
		s.Reset() // the template may exist already
		return idOf(t, mustAdmin(t, s, "templates", "create", "--file", tplFile, "--json"))
	}
	upload := func(t *testing.T) string {
		return idOf(t, mustAdmin(t, s, "media", "upload", "--file", photo, "--json"))
	}

	cases := []adminCase{{
		args: []string{"phone", "list"},
		want: []wantCall{{method: "GET", path: waba + "/phone_numbers", query: url.Values{"fields": {sender.PhoneNumberFields}}}},
		table: []string{
			"ID NUMBER VERIFIED NAME QUALITY MESSAGING LIMIT THROUGHPUT STATUS NAME STATUS CODE VERIFICATION",
			adminPhone + " +1 555-078-3881 Wasp Sim GREEN TIER_250 STANDARD CONNECTED APPROVED VERIFIED",
		},
		json: []string{`[{"id":"` + adminPhone + `","display_phone_number":"+1 555-078-3881","verified_name":"Wasp Sim","quality_rating":"GREEN"`},
	}, {
		args:  []string{"phone", "request-code", "--method", "voice", "--language", "es_ES"},
		want:  []wantCall{{method: "POST", path: phone + "/request_code", query: url.Values{"code_method": {"VOICE"}, "language": {"es_ES"}}}},
		table: []string{"verification code requested for " + adminPhone + " by VOICE in es_ES"},
		json:  success,
	}, {
		args:  []string{"phone", "verify-code", "--code", sim.VerificationCode},
		prep:  func(t *testing.T) string { mustAdmin(t, s, "phone", "request-code"); return "" },
		want:  []wantCall{{method: "POST", path: phone + "/verify_code", body: `{"code":"` + sim.VerificationCode + `"}`}},
		table: []string{"phone number " + adminPhone + " verified"},
		json:  success,
	}, {
		args:  []string{"phone", "register", "--pin", "123456", "--region", "de"},
		want:  []wantCall{{method: "POST", path: phone + "/register", body: `{"messaging_product":"whatsapp","pin":"123456","data_localization_region":"DE"}`}},
		table: []string{"phone number " + adminPhone + " registered, its data stored in DE"},
		json:  success,
	}, {
		args:  []string{"phone", "set-pin", "--pin", "654321"},
		want:  []wantCall{{method: "POST", path: phone, body: `{"pin":"654321"}`}},
		table: []string{"two-step verification PIN set for " + adminPhone},
		json:  success,
	}, {
		args:  []string{"phone", "deregister"},
		want:  []wantCall{{method: "POST", path: phone + "/deregister"}},
		table: []string{"phone number " + adminPhone + " deregistered"},
		json:  success,
	}, {
		args: []string{"profile", "set", "--about", "Café de barrio ☕", "--address", "Calle Mayor 1, Madrid",
			"--description", "Desayunos y meriendas", "--email", "hola@cafe.example",
			"--website", "https://cafe.example", "--website", "https://cafe.example/carta", "--vertical", "restaurant"},
		want: []wantCall{{method: "POST", path: phone + "/whatsapp_business_profile", body: `{"messaging_product":"whatsapp",
			"about":"Café de barrio ☕","address":"Calle Mayor 1, Madrid","description":"Desayunos y meriendas",
			"email":"hola@cafe.example","websites":["https://cafe.example","https://cafe.example/carta"],"vertical":"RESTAURANT"}`}},
		table: []string{"business profile of " + adminPhone + " updated: about, address, description, email, vertical, website"},
		json:  success,
	}, {
		args: []string{"profile", "get"},
		want: []wantCall{{method: "GET", path: phone + "/whatsapp_business_profile", query: url.Values{"fields": {sender.BusinessProfileFields}}}},
		table: []string{"about Café de barrio ☕", "address Calle Mayor 1, Madrid", "email hola@cafe.example",
			"websites https://cafe.example https://cafe.example/carta", "vertical RESTAURANT", "profile picture -"},
		json: []string{`"about":"Café de barrio ☕"`, `"websites":["https://cafe.example","https://cafe.example/carta"]`},
	}, {
		args:  []string{"webhook", "subscribe", "--callback-url", "https://hooks.example/wasp", "--verify-token", "vt-1"},
		want:  []wantCall{{method: "POST", path: waba + "/subscribed_apps", body: `{"override_callback_uri":"https://hooks.example/wasp","verify_token":"vt-1"}`}},
		table: []string{"app subscribed to the webhooks of WABA " + adminWABA + ", sent to https://hooks.example/wasp"},
		json:  success,
	}, {
		args:  []string{"webhook", "status"},
		want:  []wantCall{{method: "GET", path: waba + "/subscribed_apps"}},
		table: []string{"APP ID APP CALLBACK OVERRIDE", "100000000000001 Wasp https://hooks.example/wasp"},
		json:  []string{`"override_callback_uri":"https://hooks.example/wasp"`, `"id":"100000000000001"`},
	}, {
		args:  []string{"webhook", "unsubscribe"},
		want:  []wantCall{{method: "DELETE", path: waba + "/subscribed_apps"}},
		table: []string{"app unsubscribed from the webhooks of WABA " + adminWABA},
		json:  success,
	}, {
		args:  []string{"webhook", "status"},
		want:  []wantCall{{method: "GET", path: waba + "/subscribed_apps"}},
		table: []string{"no app is subscribed to the WABA's webhooks (wasp admin webhook subscribe)"},
		json:  []string{`[]`},
	}, {
		args:  []string{"webhook", "subscribe"},
		want:  []wantCall{{method: "POST", path: waba + "/subscribed_apps"}},
		table: []string{"app subscribed to the webhooks of WABA " + adminWABA},
		json:  success,
	}, {
		args:  []string{"templates", "create", "--file", tplFile},
		prep:  func(*testing.T) string { s.Reset(); return "" },
		want:  []wantCall{{method: "POST", path: waba + "/message_templates", body: templateBody}},
		table: []string{"ID STATUS CATEGORY"},
		json:  []string{`"status":"APPROVED","category":"UTILITY"`},
	}, {
		args: []string{"templates", "list", "--status", "approved", "--name", "order", "--limit", "5"},
		prep: createTemplate,
		want: []wantCall{{method: "GET", path: waba + "/message_templates",
			query: url.Values{"fields": {sender.TemplateFields}, "status": {"APPROVED"}, "name": {"order"}, "limit": {"5"}}}},
		table: []string{"ID NAME LANGUAGE CATEGORY STATUS QUALITY", "{id} order_ready es_ES UTILITY APPROVED -"},
		json:  []string{`[{"id":"{id}","name":"order_ready","category":"UTILITY","language":"es_ES"`},
	}, {
		args:  []string{"templates", "delete", "--name", "order_ready"},
		prep:  createTemplate,
		want:  []wantCall{{method: "DELETE", path: waba + "/message_templates", query: url.Values{"name": {"order_ready"}}}},
		table: []string{"template order_ready deleted in every language"},
		json:  success,
	}, {
		args:  []string{"templates", "delete", "--name", "order_ready", "--id", "{id}"},
		prep:  createTemplate,
		want:  []wantCall{{method: "DELETE", path: waba + "/message_templates", query: url.Values{"name": {"order_ready"}, "hsm_id": {"{id}"}}}},
		table: []string{"template order_ready (id {id}) deleted"},
		json:  success,
	}, {
		args: []string{"media", "upload", "--file", photo},
		want: []wantCall{{method: "POST", path: phone + "/media",
			multipart: map[string]string{"messaging_product": "whatsapp", "type": "image/jpeg", "file": "photo.jpg " + string(photoBytes)}}},
		table: []string{"file " + photo, "mime type image/jpeg", "size 2048 bytes"},
		json:  []string{`"mime_type":"image/jpeg","file_size":2048`},
	}, {
		args:  []string{"media", "get", "--id", "{id}", "--phone-number-id", adminPhone},
		prep:  upload,
		want:  []wantCall{{method: "GET", path: graphRoot + "{id}", query: url.Values{"phone_number_id": {adminPhone}}}},
		table: []string{"id {id}", "mime type image/jpeg", "size 2048 bytes"},
		json:  []string{`"id":"{id}"`, `"mime_type":"image/jpeg"`, `"file_size":"2048"`},
	}, {
		args: []string{"media", "download", "--id", "{id}", "--out", out},
		prep: upload,
		want: []wantCall{
			{method: "GET", path: graphRoot + "{id}"},
			{method: "GET", path: "/whatsapp_business/attachments/", anyQuery: true},
		},
		table: []string{"id {id}", "file " + out, "mime type image/jpeg", "size 2048 bytes"},
		json:  []string{`"id":"{id}","file":"` + out + `","mime_type":"image/jpeg","file_size":2048`},
	}, {
		args:  []string{"media", "delete", "--id", "{id}"},
		prep:  upload,
		want:  []wantCall{{method: "DELETE", path: graphRoot + "{id}"}},
		table: []string{"media {id} deleted"},
		json:  success,
	}}
	for _, c := range cases {
		c.run(t, s, false)
		c.run(t, s, true)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, photoBytes) {
		t.Errorf("media download: got %d bytes (%v); want the %d bytes uploaded", len(got), err, len(photoBytes))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".wasp-download-*")); len(left) > 0 {
		t.Errorf("got temporary files %v left; want none", left)
	}
}

// TestAdminTableAligned checks that columns line up.
func TestAdminTableAligned(t *testing.T) {
	s := adminSim(t, sim.Config{})
	lines := strings.Split(mustAdmin(t, s, "phone", "list"), "\n")
	if col := strings.Index(lines[0], "NUMBER"); col < 0 || strings.Index(lines[1], "+1 555") != col {
		t.Errorf("got\n%s\n%s\nwant the number under NUMBER", lines[0], lines[1])
	}
}

// TestAdminBadInput checks that bad input fails with exit 2 and a message
// naming the flag and the fix, before any request.
func TestAdminBadInput(t *testing.T) {
	s := adminSim(t, sim.Config{})
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	big := file("big.jpg", "")
	os.Truncate(big, 5<<20+1)
	f := func(env map[string]string, want string, args ...string) {
		t.Helper()
		code, _, errs := runAdminWith(env, args...)
		if code != 2 || !strings.Contains(errs, want) {
			t.Errorf("wasp admin %v: exit %d, stderr %q; want exit 2 and %q", args, code, errs, want)
		}
		if n := len(s.Requests()); n > 0 {
			t.Fatalf("wasp admin %v: got %d requests; want none", args, n)
		}
	}
	env := adminEnv(s)
	f(env, "wasp admin phone register: --pin must be 6 digits (got 4)", "phone", "register", "--pin", "1234")
	f(env, "--pin must be 6 digits (got a character that is not a digit)", "phone", "register", "--pin", "12a456")
	f(env, "--pin must be 6 digits (got 0)", "phone", "set-pin")
	f(env, "--code must be 6 digits (got a character that is not a digit)", "phone", "verify-code", "--code", "12345x")
	f(env, `--method must be SMS or VOICE (got "PIGEON")`, "phone", "request-code", "--method", "pigeon")
	f(env, `--language must be a locale such as en_US or es_ES (got "spanish")`, "phone", "request-code", "--language", "spanish")
	f(env, `--region must be a two-letter country code`, "phone", "register", "--pin", "123456", "--region", "DEU")
	f(env, `unexpected argument "123456"`, "phone", "register", "123456")
	f(env, "flag provided but not defined: -pine", "phone", "register", "--pine", "123456")
	f(env, `--phone-number-id must be a numeric Graph id (got "abc")`, "phone", "deregister", "--phone-number-id", "abc")
	f(env, "--about must be at most 139 characters (got 140)", "profile", "set", "--about", strings.Repeat("é", 140))
	f(env, "--address must be at most 256 characters (got 257)", "profile", "set", "--address", strings.Repeat("a", 257))
	f(env, "--description must be at most 512 characters (got 513)", "profile", "set", "--description", strings.Repeat("a", 513))
	f(env, `--vertical must be one of UNDEFINED, OTHER, AUTO`, "profile", "set", "--vertical", "spaceships")
	f(env, "--website can be given twice at most: a profile has up to 2 websites (got 3)",
		"profile", "set", "--website", "https://a.example", "--website", "https://b.example", "--website", "https://c.example")
	f(env, `--website must be an http:// or https:// URL of up to 256 characters (got "ftp://a.example")`, "profile", "set", "--website", "ftp://a.example")
	f(env, `--email must be a plain address such as info@example.com (got "not-an-email")`, "profile", "set", "--email", "not-an-email")
	f(env, "nothing to set: give at least one of --about", "profile", "set")
	f(env, "every value given is empty", "profile", "set", "--about", "")
	f(env, "--verify-token goes with --callback-url", "webhook", "subscribe", "--verify-token", "vt")
	f(env, `--callback-url must be an http:// or https:// URL (got "hooks.example")`, "webhook", "subscribe", "--callback-url", "hooks.example")
	f(env, "--callback-url needs --verify-token (or WASP_VERIFY_TOKEN)", "webhook", "subscribe", "--callback-url", "https://hooks.example")
	f(env, `--status must be one of APPROVED`, "templates", "list", "--status", "great")
	f(env, "--limit must be at least 1 (got 0)", "templates", "list", "--limit", "0")
	f(env, `--name must be a template name: lowercase letters, digits and _ (got "Order Ready")`, "templates", "delete", "--name", "Order Ready")
	f(env, "--file is required", "templates", "create")
	f(env, `--file must end in .json, .yaml or .yml (got "t.txt")`, "templates", "create", "--file", file("t.txt", "{}"))
	f(env, `name "Order_Ready" must be 1 to 512 lowercase letters, digits and _`, "templates", "create",
		"--file", file("upper.yaml", strings.Replace(templateYAML, "order_ready", "Order_Ready", 1)))
	f(env, `category "PROMO" must be MARKETING, UTILITY or AUTHENTICATION`, "templates", "create",
		"--file", file("cat.yaml", strings.Replace(templateYAML, "UTILITY", "PROMO", 1)))
	f(env, "components has 0 BODY components; a template has one", "templates", "create",
		"--file", file("nobody.json", `{"name":"a","category":"UTILITY","language":"en_US","components":[{"type":"FOOTER","text":"x"}]}`))
	f(env, "components[0] (BODY) text must be 1 to 1024 characters (got 1025)", "templates", "create",
		"--file", file("long.json", `{"name":"a","category":"UTILITY","language":"en_US","components":[{"type":"BODY","text":"`+strings.Repeat("a", 1025)+`"}]}`))
	f(env, `unknown field "colour"`, "templates", "create",
		"--file", file("typo.json", `{"name":"a","category":"UTILITY","language":"en_US","colour":"red","components":[]}`))
	f(env, "is not YAML", "templates", "create", "--file", file("broken.yaml", "name: [a"))
	f(env, "cannot tell the type of data.bin from its extension: pass --type, one of audio/aac", "media", "upload", "--file", file("data.bin", "x"))
	f(env, `--type "image/gif" is not a type Meta takes`, "media", "upload", "--file", big, "--type", "image/gif")
	f(env, "--file big.jpg has 5242881 bytes; Meta takes image/jpeg files of up to 5 MB", "media", "upload", "--file", big)
	f(env, `--file must be a readable file (got "`+dir+`")`, "media", "upload", "--file", dir)
	f(env, `--id must be a numeric Graph id (got "")`, "media", "get")
	f(env, "its directory does not exist", "media", "download", "--id", "1", "--out", filepath.Join(dir, "no", "x.jpg"))
	f(env, "is a directory; give a file name", "media", "download", "--id", "1", "--out", dir)

	f(adminEnv(s, "WASP_ACCESS_TOKEN", ""), "no access token: set WASP_ACCESS_TOKEN", "phone", "list")
	f(adminEnv(s, "WASP_WABA_ID", ""), "pass --waba-id or set WASP_WABA_ID", "templates", "list")
	f(adminEnv(s, "WASP_GRAPH_URL", "graph.example"), `WASP_GRAPH_URL="graph.example" is not an http(s) URL`, "phone", "list")
}

// TestAdminMetaErrors checks that a Graph API error is printed with its
// code, Meta's message and the fix, and exits 1 (3 for a refused token).
func TestAdminMetaErrors(t *testing.T) {
	s := adminSim(t, sim.Config{Numbers: []sim.Number{{PhoneNumberID: adminPhone, PIN: "111111"}}})
	// fault, when not 0, is the error the simulator answers instead.
	f := func(env map[string]string, fault, wantCode int, want []string, args ...string) {
		t.Helper()
		if fault != 0 {
			s.FailNextCall(1, fault)
		}
		code, out, errs := runAdminWith(env, args...)
		if code != wantCode || out != "" {
			t.Errorf("wasp admin %v: exit %d, stdout %q; want exit %d and no output", args, code, out, wantCode)
		}
		for _, w := range want {
			if !strings.Contains(errs, w) {
				t.Errorf("wasp admin %v: got stderr %q; want %q", args, errs, w)
			}
		}
	}
	env := adminEnv(s)
	f(env, 133016, 1, []string{"wasp admin phone register: cannot register phone number: graph error 133016 (HTTP 400, fbtrace_id ",
		"(#133016) Account register deregister rate limit exceeded: Registration or Deregistration failed",
		"\nfix: Registration or deregistration attempts used up (10 per number in 72 h): wait 72 hours, then try again\n"},
		"phone", "register", "--pin", "111111")
	f(env, 136025, 1, []string{"graph error 136025", "(#136025) Verify code error",
		"fix: verify_code failed: give the code of the latest request_code, or request a new one"},
		"phone", "verify-code", "--code", "123456")
	f(env, 80008, 1, []string{"graph error 80008", "fix: Business use case rate limit: pause calls"}, "templates", "list")
	f(env, 0, 1, []string{"graph error 133005", "(#133005) Two step verification PIN Mismatch",
		"fix: Wrong two-step verification PIN: give the number's current PIN, or reset it in WhatsApp Manager"},
		"phone", "register", "--pin", "123456")
	f(env, 0, 1, []string{"graph error 100", "No verification code was requested", "fix: Unsupported or misspelled parameter"},
		"phone", "verify-code", "--code", "123456")

	const wrong = "a-token-that-must-not-be-printed"
	code, _, errs := runAdminWith(adminEnv(s, "WASP_ACCESS_TOKEN", wrong), "phone", "list")
	if code != 3 || !strings.Contains(errs, "graph error 190 (HTTP 401") || !strings.Contains(errs, "fix: Token expired") ||
		strings.Contains(errs, wrong) {
		t.Errorf("wrong token: exit %d, stderr %q; want exit 3, error 190 and its fix, no token", code, errs)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if code, _, errs := runAdminWith(adminEnv(s, "WASP_GRAPH_URL", closed), "phone", "list"); code != 1 ||
		!strings.Contains(errs, "cannot list phone numbers") {
		t.Errorf("Graph API unreachable: exit %d, stderr %q; want exit 1", code, errs)
	}
}

// TestAdminTenants checks which tenant's token and ids a command uses.
func TestAdminTenants(t *testing.T) {
	s := adminSim(t, sim.Config{Tokens: []string{"tok-a", "tok-b"}, Numbers: []sim.Number{
		{PhoneNumberID: "1111", WABAID: "2222"}, {PhoneNumberID: "3333", WABAID: "4444"}}})
	cfg := filepath.Join(t.TempDir(), "wasp.yaml")
	os.WriteFile(cfg, []byte(`tenants:
  - {id: a, phone_number_ids: ["1111"], waba_id: "2222", access_token: tok-a}
  - {id: b, phone_number_ids: ["3333"], waba_id: "4444", access_token: tok-b}
`), 0o600)
	env := map[string]string{"WASP_GRAPH_URL": s.URL()}
	f := func(wantPath, wantToken string, args ...string) {
		t.Helper()
		before := len(s.Requests())
		code, _, errs := runAdminWith(env, append(args, "--config", cfg)...)
		got := s.Requests()[before:]
		if code != 0 || len(got) != 1 || got[0].Path != wantPath || got[0].Token != wantToken {
			t.Errorf("wasp admin %v: exit %d (%s), requests %+v; want %s with %s", args, code, errs, got, wantPath, wantToken)
		}
	}
	f(graphRoot+"4444/phone_numbers", "tok-b", "phone", "list", "--tenant", "b")
	f(graphRoot+"1111/whatsapp_business_profile", "tok-a", "profile", "get", "--phone-number-id", "1111")
	f(graphRoot+"4444/subscribed_apps", "tok-b", "webhook", "status", "--waba-id", "4444")

	bad := func(want string, args ...string) {
		t.Helper()
		code, _, errs := runAdminWith(env, append(args, "--config", cfg)...)
		if code != 2 || !strings.Contains(errs, want) {
			t.Errorf("wasp admin %v: exit %d, stderr %q; want exit 2 and %q", args, code, errs, want)
		}
	}
	bad("pass --tenant NAME: the configuration has 2 tenants (a, b)", "phone", "list")
	bad(`--tenant "c" is not in the configuration (tenants: a, b)`, "profile", "get", "--tenant", "c")
}

// TestAdminHelp checks the usage texts.
func TestAdminHelp(t *testing.T) {
	f := func(wantCode int, want string, args ...string) {
		t.Helper()
		code, out, errs := runAdminWith(nil, args...)
		if code != wantCode || !strings.Contains(out+errs, want) {
			t.Errorf("wasp admin %v: exit %d, stdout %q, stderr %q; want exit %d and %q", args, code, out, errs, wantCode, want)
		}
	}
	f(0, "3  the access token was refused (error 190 or HTTP 401)", "-h")
	f(0, "phone register --pin 123456 [--region DE]", "--help")
	f(0, "media download --id ID --out PATH", "-h")
	f(0, "phone set-pin --pin 123456", "phone", "-h")
	f(0, "-region string", "phone", "register", "-h")
	f(2, "Commands:")
	f(2, `wasp admin: unknown group "phones"`, "phones", "list")
	f(2, `wasp admin phone: unknown command "lsit"`, "phone", "lsit")
	f(2, "Usage: wasp admin templates COMMAND", "templates")
	if _, out, _ := runAdminWith(nil, "phone", "-h"); strings.Contains(out, "templates") {
		t.Errorf("wasp admin phone -h: got %q; want the phone commands only", out)
	}
}
