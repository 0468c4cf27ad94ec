package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

func TestSendAnswersMetaShape(t *testing.T) {
	s := start(t, Config{})
	status, m := send(t, s, textTo("+1 (650) 555-1234", "hello"))
	if status != 200 {
		t.Fatalf("got %d %v; want 200", status, m)
	}
	if missing := missingPaths(fixture(t, "send/response_send_success.json"), m); len(missing) > 0 {
		t.Errorf("the answer lacks %v of Meta's; got %v", missing, m)
	}
	c := m["contacts"].([]any)[0].(map[string]any)
	if c["input"] != "+1 (650) 555-1234" || c["wa_id"] != "16505551234" {
		t.Errorf("got contact %v; want input as sent and wa_id 16505551234", c)
	}
	id := wamidOf(m)
	if !strings.HasPrefix(id, "wamid.HBgL") {
		t.Errorf("got wamid %q; want Meta's shape wamid.HBgL…", id)
	}
	seen := map[string]bool{id: true}
	for i := range 50 {
		_, m := send(t, s, textTo(fmt.Sprintf("+1650555%04d", i), "again"))
		if seen[wamidOf(m)] {
			t.Fatalf("wamid %s answered twice", wamidOf(m))
		}
		seen[wamidOf(m)] = true
	}

	// A BSUID recipient, and a template's pacing status.
	_, m = send(t, s, `{"messaging_product":"whatsapp","recipient":"US.13491208655302741918","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`)
	c = m["contacts"].([]any)[0].(map[string]any)
	msg := m["messages"].([]any)[0].(map[string]any)
	if c["input"] != "US.13491208655302741918" || c["user_id"] != "US.13491208655302741918" || msg["message_status"] != "accepted" {
		t.Errorf("got %v; want the BSUID echoed as user_id and message_status accepted", m)
	}
}

func TestSendValidation(t *testing.T) {
	s := start(t, Config{})
	f := func(name, body string, want int) {
		t.Helper()
		status, m := send(t, s, body)
		if got := errorCode(m); got != want {
			t.Errorf("%s: got %d %v; want error %d", name, status, m, want)
			return
		}
		if status != 400 {
			t.Errorf("%s: got HTTP %d; want 400", name, status)
		}
		e := m["error"].(map[string]any)
		data, _ := e["error_data"].(map[string]any)
		if !strings.HasPrefix(e["message"].(string), fmt.Sprintf("(#%d) ", want)) || e["type"] != "OAuthException" ||
			data["messaging_product"] != "whatsapp" || data["details"] == "" || e["fbtrace_id"] == "" {
			t.Errorf("%s: got %v; want Meta's error shape", name, e)
		}
	}
	long := strings.Repeat("é", 4097)
	f("not JSON", `{"messaging_product":`, 100)
	f("no product", `{"to":"16505551234","type":"text","text":{"body":"hi"}}`, 100)
	f("wrong product", `{"messaging_product":"sms","to":"16505551234","type":"text","text":{"body":"hi"}}`, 100)
	f("no recipient", `{"messaging_product":"whatsapp","type":"text","text":{"body":"hi"}}`, 131008)
	f("bad phone", `{"messaging_product":"whatsapp","to":"call me","type":"text","text":{"body":"hi"}}`, 100)
	f("to self", textTo("+1 555 078 3881", "hi"), 131021)
	f("unknown type", `{"messaging_product":"whatsapp","to":"16505551234","type":"poll","poll":{}}`, 100)
	f("no object", `{"messaging_product":"whatsapp","to":"16505551234","type":"image"}`, 131008)
	f("no type, no text", `{"messaging_product":"whatsapp","to":"16505551234"}`, 131008)
	f("empty body", `{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":""}}`, 131008)
	f("text too long", textTo("16505551234", long), 100)
	f("caption too long", `{"messaging_product":"whatsapp","to":"16505551234","type":"image","image":{"link":"https://x.example/a.jpg","caption":"`+strings.Repeat("a", 1025)+`"}}`, 100)
	f("media without id or link", `{"messaging_product":"whatsapp","to":"16505551234","type":"document","document":{"caption":"x"}}`, 131008)
	f("four buttons", interactiveButtons("a", "b", "c", "d"), 131009)
	f("button title too long", interactiveButtons("this title is far too long"), 131009)
	f("duplicate titles", interactiveButtons("a", "a"), 131009)
	f("eleven rows", interactiveList(11), 131009)
	f("list without rows", interactiveList(0), 131009)
	f("interactive without body", `{"messaging_product":"whatsapp","to":"16505551234","type":"interactive","interactive":{"type":"button","action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"a"}}]}}}`, 131008)
	f("cta without url", `{"messaging_product":"whatsapp","to":"16505551234","type":"interactive","interactive":{"type":"cta_url","body":{"text":"x"},"action":{"name":"cta_url","parameters":{"display_text":"Go","url":"ftp://x"}}}}`, 131009)
	f("location without latitude", `{"messaging_product":"whatsapp","to":"16505551234","type":"location","location":{"longitude":1}}`, 131008)
	f("contact without name", `{"messaging_product":"whatsapp","to":"16505551234","type":"contacts","contacts":[{"phones":[{"phone":"+1"}]}]}`, 131008)
	f("reaction without message", `{"messaging_product":"whatsapp","to":"16505551234","type":"reaction","reaction":{"emoji":"👍"}}`, 131008)
	f("template without language", `{"messaging_product":"whatsapp","to":"16505551234","type":"template","template":{"name":"x"}}`, 131008)
	f("read without id", `{"messaging_product":"whatsapp","status":"read"}`, 131008)
	f("typing of another kind", `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x","typing_indicator":{"type":"voice"}}`, 100)

	// The reference's valid bodies pass, and 4096 characters are allowed.
	for _, name := range []string{"send_text_preview_url.json", "send_interactive_reply_buttons.json", "send_interactive_list.json", "send_interactive_cta_url.json"} {
		b, _ := json.Marshal(fixture(t, "send/"+name))
		if status, m := send(t, s, string(b)); status != 200 {
			t.Errorf("%s: got %d %v; want it accepted", name, status, m)
		}
	}
	if status, m := send(t, s, textTo("16505551234", strings.Repeat("é", 4096))); status != 200 {
		t.Errorf("4096 characters: got %d %v; want accepted", status, m)
	}
	// Meta's default type is text.
	if status, m := send(t, s, `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"hi"}}`); status != 200 {
		t.Errorf("no type: got %d %v; want text by default", status, m)
	}
	if r := s.Report(); r.Numbers[phoneID].Accepted != 6 || r.Errors[131009] != 6 {
		t.Errorf("got accepted %d, 131009 ×%d; want 6 and 6", r.Numbers[phoneID].Accepted, r.Errors[131009])
	}
}

func interactiveButtons(titles ...string) string {
	var buttons []any
	for i, title := range titles {
		buttons = append(buttons, map[string]any{"type": "reply", "reply": map[string]any{"id": fmt.Sprint("b", i), "title": title}})
	}
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "to": "16505551234", "type": "interactive",
		"interactive": map[string]any{"type": "button", "body": map[string]any{"text": "Pick"}, "action": map[string]any{"buttons": buttons}},
	})
	return string(b)
}

func interactiveList(rows int) string {
	var rs []any
	for i := range rows {
		rs = append(rs, map[string]any{"id": fmt.Sprint("r", i), "title": fmt.Sprint("Row ", i)})
	}
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "to": "16505551234", "type": "interactive",
		"interactive": map[string]any{"type": "list", "body": map[string]any{"text": "Pick"},
			"action": map[string]any{"button": "Options", "sections": []any{map[string]any{"title": "All", "rows": rs}}}},
	})
	return string(b)
}

func TestReadReceiptsAndTyping(t *testing.T) {
	s := start(t, Config{Numbers: []Number{{PhoneNumberID: phoneID, ThroughputMPS: 1}}})
	for range 3 {
		status, m := send(t, s, `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="}`)
		if status != 200 || m["success"] != true {
			t.Fatalf("got %d %v; want {\"success\":true}", status, m)
		}
	}
	status, m := send(t, s, `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x","typing_indicator":{"type":"text"}}`)
	if status != 200 || m["success"] != true {
		t.Fatalf("typing: got %d %v; want success", status, m)
	}
	// Read receipts do not count against the throughput.
	if status, m := send(t, s, textTo("16505551234", "hi")); status != 200 {
		t.Fatalf("got %d %v; want the one send a second accepted", status, m)
	}
	r := s.Report().Numbers[phoneID]
	if r.Reads != 4 || r.Typing != 1 || r.Accepted != 1 {
		t.Errorf("got reads %d, typing %d, accepted %d; want 4, 1, 1", r.Reads, r.Typing, r.Accepted)
	}
}

func TestAuthAndUnknownObjects(t *testing.T) {
	s := start(t, Config{})
	f := func(name, method, path, token string, wantStatus, wantCode int) map[string]any {
		t.Helper()
		status, raw := callRaw(t, s, method, path, "application/json", token, []byte(textTo("16505551234", "hi")))
		var m map[string]any
		json.Unmarshal(raw, &m)
		if status != wantStatus || errorCode(m) != wantCode {
			t.Errorf("%s: got %d %s; want %d and error %d", name, status, raw, wantStatus, wantCode)
		}
		if bytes.Contains(raw, []byte(testToken)) || bytes.Contains(raw, []byte("wrong-token")) {
			t.Errorf("%s: the answer echoes the token", name)
		}
		e, _ := m["error"].(map[string]any)
		return e
	}
	e := f("wrong token", "POST", "/v25.0/"+phoneID+"/messages", "wrong-token", 401, 190)
	if e["type"] != "OAuthException" || e["fbtrace_id"] == nil {
		t.Errorf("got %v; want Graph's OAuthException", e)
	}
	f("no token", "GET", "/v25.0/"+phoneID, "", 401, 190)
	e = f("unknown number", "POST", "/v25.0/999999/messages", testToken, 400, 100)
	if e["error_subcode"] != float64(33) || e["type"] != "GraphMethodException" ||
		!strings.HasPrefix(e["message"].(string), "Unsupported post request. Object with ID '999999' does not exist") {
		t.Errorf("got %v; want code 100, subcode 33, GraphMethodException", e)
	}
	f("unknown media", "GET", "/v25.0/123", testToken, 400, 100)
	f("no version", "POST", "/"+phoneID+"/messages", testToken, 400, 2500)
	f("unknown edge", "GET", "/v25.0/"+phoneID+"/nonsense", testToken, 400, 2500)
	r := s.Report()
	if r.Errors[190] != 2 || r.Errors[100] != 2 || r.Errors[2500] != 2 {
		t.Errorf("got errors %v; want 190×2, 100×2, 2500×2", r.Errors)
	}
}

func TestMedia(t *testing.T) {
	s := start(t, Config{})
	upload := func(mime string, data []byte, product string) (int, map[string]any) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if product != "" {
			w.WriteField("messaging_product", product)
		}
		w.WriteField("type", mime)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="f"`)
		h.Set("Content-Type", mime)
		part, _ := w.CreatePart(h)
		part.Write(data)
		w.Close()
		status, raw := callRaw(t, s, "POST", "/v25.0/"+phoneID+"/media", w.FormDataContentType(), testToken, buf.Bytes())
		var m map[string]any
		json.Unmarshal(raw, &m)
		return status, m
	}
	data := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	status, m := upload("image/jpeg", data, "whatsapp")
	id, _ := m["id"].(string)
	if status != 200 || id == "" {
		t.Fatalf("upload: got %d %v; want {\"id\"}", status, m)
	}
	if _, m := upload("image/gif", data, "whatsapp"); errorCode(m) != 131053 {
		t.Errorf("gif: got %v; want 131053", m)
	}
	if _, m := upload("image/webp", make([]byte, 600<<10), "whatsapp"); errorCode(m) != 131053 {
		t.Errorf("600 KB sticker: got %v; want 131053", m)
	}
	if _, m := upload("image/jpeg", data, ""); errorCode(m) != 100 {
		t.Errorf("no messaging_product: got %v; want 100", m)
	}

	status, m = call(t, s, "GET", "/v25.0/"+id+"?phone_number_id="+phoneID, "")
	sum := sha256.Sum256(data)
	if status != 200 || m["mime_type"] != "image/jpeg" || m["sha256"] != hex.EncodeToString(sum[:]) ||
		m["file_size"] != float64(len(data)) || m["id"] != id || m["messaging_product"] != "whatsapp" {
		t.Fatalf("media: got %d %v; want url, mime_type, sha256, file_size, id", status, m)
	}
	url := strings.TrimPrefix(m["url"].(string), s.URL())
	if status, raw := callRaw(t, s, "GET", url, "", testToken, nil); status != 200 || !bytes.Equal(raw, data) {
		t.Errorf("download: got %d %q; want the bytes uploaded", status, raw)
	}
	if status, _ := callRaw(t, s, "GET", url, "", "", nil); status != 401 {
		t.Errorf("download without token: got %d; want 401", status)
	}
	if status, m := call(t, s, "DELETE", "/v25.0/"+id, ""); status != 200 || m["success"] != true {
		t.Errorf("delete: got %d %v; want success", status, m)
	}
	if _, m := call(t, s, "GET", "/v25.0/"+id, ""); errorCode(m) != 100 {
		t.Errorf("after delete: got %v; want 100", m)
	}
	if r := s.Report().Media; r.Uploads != 1 || r.Downloads != 1 {
		t.Errorf("got %+v; want 1 upload and 1 download", r)
	}
}

func TestTemplatesEndpoints(t *testing.T) {
	s := start(t, Config{Templates: []Template{{Name: "order_update", Language: "en_US", Category: "UTILITY", Params: 2}}})
	base := "/v25.0/" + wabaID + "/message_templates"
	create := func(name, lang string) (int, map[string]any) {
		return call(t, s, "POST", base, `{"name":"`+name+`","language":"`+lang+`","category":"MARKETING","components":[{"type":"BODY","text":"Hi {{1}}, {{2}} is on sale"}]}`)
	}
	status, m := create("summer_sale", "en_US")
	if status != 200 || m["id"] == "" || m["status"] != "APPROVED" || m["category"] != "MARKETING" {
		t.Fatalf("create: got %d %v; want {id, status APPROVED, category}", status, m)
	}
	if _, m := create("summer_sale", "en_US"); errorCode(m) != 100 {
		t.Errorf("duplicate: got %v; want 100", m)
	}
	if _, m := create("Summer Sale", "en_US"); errorCode(m) != 100 {
		t.Errorf("bad name: got %v; want 100", m)
	}
	for i := range 5 {
		create(fmt.Sprintf("promo_%d", i), "es")
	}
	// The created template is enforced: two body parameters.
	if _, m := send(t, s, templateSend("summer_sale", "en_US", 1)); errorCode(m) != 132000 {
		t.Errorf("created template, 1 param: got %v; want 132000", m)
	}
	if status, m := send(t, s, templateSend("summer_sale", "en_US", 2)); status != 200 {
		t.Errorf("created template: got %d %v; want accepted", status, m)
	}

	// Paging: 7 templates, 3 a page.
	var names []string
	path := base + "?limit=3&fields=name,status"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		status, m := call(t, s, "GET", path, "")
		if status != 200 {
			t.Fatalf("list: got %d %v", status, m)
		}
		for _, d := range m["data"].([]any) {
			d := d.(map[string]any)
			if d["id"] == nil || d["status"] != "APPROVED" || d["category"] != nil {
				t.Errorf("got %v; want name, status and id only", d)
			}
			names = append(names, d["name"].(string))
		}
		paging := m["paging"].(map[string]any)
		if paging["cursors"] == nil {
			t.Errorf("got paging %v; want cursors", paging)
		}
		next, _ := paging["next"].(string)
		path = strings.TrimPrefix(next, s.URL())
	}
	if len(names) != 7 || names[0] != "order_update" {
		t.Errorf("got %v; want the 7 templates in creation order", names)
	}
	if _, m := call(t, s, "GET", base+"?name=promo", ""); len(m["data"].([]any)) != 5 {
		t.Errorf("name filter: got %v; want 5", m["data"])
	}

	if status, m := call(t, s, "DELETE", base+"?name=summer_sale", ""); status != 200 || m["success"] != true {
		t.Errorf("delete: got %d %v; want success", status, m)
	}
	if _, m := send(t, s, templateSend("summer_sale", "en_US", 2)); errorCode(m) != 132001 {
		t.Errorf("deleted template: got %v; want 132001", m)
	}
	if _, m := call(t, s, "DELETE", base+"?name=summer_sale", ""); errorCode(m) != 100 {
		t.Errorf("delete again: got %v; want 100", m)
	}
	if _, m := call(t, s, "DELETE", base, ""); errorCode(m) != 100 {
		t.Errorf("delete without name: got %v; want 100", m)
	}
}

func templateSend(name, lang string, params int) string {
	var ps []any
	for i := range params {
		ps = append(ps, map[string]any{"type": "text", "text": fmt.Sprint("v", i)})
	}
	b, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
		"template": map[string]any{"name": name, "language": map[string]any{"code": lang},
			"components": []any{map[string]any{"type": "body", "parameters": ps}}},
	})
	return string(b)
}

func TestPhoneNumbers(t *testing.T) {
	s := start(t, Config{Numbers: []Number{
		{PhoneNumberID: "111", WABAID: "900", DisplayPhoneNumber: "15550001111", Level: "HIGH", MessagingLimitTier: "TIER_10K", Quality: "YELLOW"},
		{PhoneNumberID: "222", WABAID: "900", Level: "COEXISTENCE"},
	}})
	status, m := call(t, s, "GET", "/v25.0/900/phone_numbers", "")
	data, _ := m["data"].([]any)
	if status != 200 || len(data) != 2 {
		t.Fatalf("got %d %v; want 2 numbers", status, m)
	}
	first := data[0].(map[string]any)
	if first["id"] != "111" || first["display_phone_number"] != "+1 555-000-1111" || first["quality_rating"] != "YELLOW" ||
		first["throughput"].(map[string]any)["level"] != "HIGH" || first["verified_name"] == nil || first["code_verification_status"] != "VERIFIED" {
		t.Errorf("got %v; want Graph's default fields", first)
	}
	_, m = call(t, s, "GET", "/v25.0/111?fields=throughput,quality_rating,whatsapp_business_manager_messaging_limit,name_status,code_verification_status,status", "")
	want := map[string]any{
		"throughput": map[string]any{"level": "HIGH"}, "quality_rating": "YELLOW", "whatsapp_business_manager_messaging_limit": "TIER_10K",
		"name_status": "APPROVED", "code_verification_status": "VERIFIED", "status": "CONNECTED", "id": "111",
	}
	if got, _ := json.Marshal(m); string(got) != mustJSON(want) {
		t.Errorf("fields: got %s; want %s", got, mustJSON(want))
	}
	_, m = call(t, s, "GET", "/v25.0/222?fields=throughput,is_on_biz_app", "")
	if m["is_on_biz_app"] != true {
		t.Errorf("coexistence: got %v; want is_on_biz_app", m)
	}
	if _, m := call(t, s, "GET", "/v25.0/111?fields=colour", ""); errorCode(m) != 100 {
		t.Errorf("unknown field: got %v; want 100", m)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRegistration(t *testing.T) {
	s := start(t, Config{})
	p := "/v25.0/" + phoneID
	f := func(name, path, body string, want int) {
		t.Helper()
		status, m := call(t, s, "POST", path, body)
		if got := errorCode(m); got != want || want == 0 && (status != 200 || m["success"] != true) {
			t.Errorf("%s: got %d %v; want error %d", name, status, m, want)
		}
	}
	f("request_code", p+"/request_code?code_method=SMS&language=en_US", "", 0)
	f("request_code, bad method", p+"/request_code", `{"code_method":"PIGEON","language":"en_US"}`, 100)
	f("verify_code, wrong", p+"/verify_code", `{"code":"000000"}`, 100)
	f("verify_code", p+"/verify_code?code="+VerificationCode, "", 0)
	f("register, short pin", p+"/register", `{"messaging_product":"whatsapp","pin":"123"}`, 100)
	f("register", p+"/register", `{"messaging_product":"whatsapp","pin":"424242"}`, 0)
	f("register, other pin", p+"/register", `{"messaging_product":"whatsapp","pin":"111111"}`, 133005)
	f("set pin", p, `{"pin":"111111"}`, 0)
	f("set bad pin", p, `{"pin":"11a111"}`, 100)
	f("deregister", p+"/deregister", "", 0)
	if _, m := send(t, s, textTo("16505551234", "hi")); errorCode(m) != 133010 {
		t.Errorf("send from a deregistered number: got %v; want 133010", m)
	}
	if _, m := call(t, s, "GET", p+"?fields=status", ""); m["status"] == "CONNECTED" {
		t.Errorf("got %v; want the number not connected", m)
	}
	// 3 attempts so far (2 register, 1 deregister), 10 allowed in 72 hours.
	for range 7 {
		f("register", p+"/register", `{"messaging_product":"whatsapp","pin":"111111"}`, 0)
	}
	f("11th attempt", p+"/register", `{"messaging_product":"whatsapp","pin":"111111"}`, 133016)
	f("deregister too", p+"/deregister", "", 133016)
	if status, _ := send(t, s, textTo("16505551234", "hi")); status != 200 {
		t.Errorf("send after register: got %d; want 200", status)
	}
}

func TestBusinessProfile(t *testing.T) {
	s := start(t, Config{})
	p := "/v25.0/" + phoneID + "/whatsapp_business_profile"
	status, m := call(t, s, "POST", p, `{"messaging_product":"whatsapp","about":"Succulents, delivered","email":"hi@shrub.example","websites":["https://shrub.example"],"vertical":"RETAIL"}`)
	if status != 200 || m["success"] != true {
		t.Fatalf("update: got %d %v; want success", status, m)
	}
	_, m = call(t, s, "GET", p+"?fields=about,email,websites,vertical", "")
	data := m["data"].([]any)[0].(map[string]any)
	if data["about"] != "Succulents, delivered" || data["email"] != "hi@shrub.example" || data["vertical"] != "RETAIL" ||
		data["messaging_product"] != "whatsapp" || len(data["websites"].([]any)) != 1 || data["address"] != nil {
		t.Errorf("got %v; want the fields asked for", data)
	}
	f := func(name, body string) {
		t.Helper()
		if _, m := call(t, s, "POST", p, body); errorCode(m) != 100 {
			t.Errorf("%s: got %v; want 100", name, m)
		}
	}
	f("about too long", `{"messaging_product":"whatsapp","about":"`+strings.Repeat("a", 140)+`"}`)
	f("about empty", `{"messaging_product":"whatsapp","about":""}`)
	f("three websites", `{"messaging_product":"whatsapp","websites":["https://a.example","https://b.example","https://c.example"]}`)
	f("bad vertical", `{"messaging_product":"whatsapp","vertical":"SHRUBS"}`)
	f("no product", `{"about":"x"}`)
	if status, _ := call(t, s, "POST", p, `{"messaging_product":"whatsapp","about":"`+strings.Repeat("a", 139)+`"}`); status != 200 {
		t.Errorf("139 characters: got %d; want 200", status)
	}
}

func TestSubscribedApps(t *testing.T) {
	r := newReceiver(t)
	s := start(t, Config{Webhook: Webhook{URL: r.URL, AppSecret: testSecret, AppID: "4242"}})
	p := "/v25.0/" + wabaID + "/subscribed_apps"
	_, m := call(t, s, "GET", p, "")
	data := m["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["whatsapp_business_api_data"].(map[string]any)["id"] != "4242" {
		t.Fatalf("got %v; want the app subscribed", m)
	}
	if status, m := call(t, s, "DELETE", p, ""); status != 200 || m["success"] != true {
		t.Fatalf("unsubscribe: got %d %v", status, m)
	}
	if _, m := call(t, s, "GET", p, ""); len(m["data"].([]any)) != 0 {
		t.Errorf("got %v; want no app", m)
	}
	// An unsubscribed WABA gets no webhooks.
	s.Inbound(phoneID, "16505551234", "text")
	waitFor(t, "the inbound message to be dropped", func() bool { return s.Report().Webhooks.Dropped == 1 })
	if _, m := call(t, s, "POST", p, `{"override_callback_uri":"https://other.example/hook"}`); errorCode(m) != 100 {
		t.Errorf("override without verify_token: got %v; want 100", m)
	}
	if status, _ := call(t, s, "POST", p, ""); status != 200 {
		t.Fatalf("subscribe: got %d", status)
	}
	s.Inbound(phoneID, "16505551234", "text")
	waitFor(t, "the inbound message", func() bool { return r.posts() == 1 })
}
