package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"wasp/schemas"
	"wasp/sender"
)

// TestManageRequests checks each management call: method, path, query and
// body as Meta documents them, and the token as a Bearer header.
func TestManageRequests(t *testing.T) {
	fg := newFakeGraph(t, false)
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	ctx := context.Background()
	f := func(name, answer string, call func() error, method, path string, query url.Values, body string) {
		t.Helper()
		fg.answerWith(200, "application/json", []byte(answer))
		n := fg.count()
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if fg.count() != n+1 {
			t.Errorf("%s: got %d requests; want 1", name, fg.count()-n)
			return
		}
		r := fg.last(t)
		if r.Method != method || r.Path != path {
			t.Errorf("%s: got %s %s; want %s %s", name, r.Method, r.Path, method, path)
		}
		q, _ := url.ParseQuery(r.RawQuery)
		if len(q) != 0 || len(query) != 0 {
			if !reflect.DeepEqual(q, query) {
				t.Errorf("%s: got query %v; want %v", name, q, query)
			}
		}
		if body == "" {
			if len(r.Body) != 0 {
				t.Errorf("%s: got body %s; want none", name, r.Body)
			}
		} else {
			if canonical(t, r.Body) != canonical(t, []byte(body)) {
				t.Errorf("%s: got body %s; want %s", name, r.Body, body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: got Content-Type %q", name, ct)
			}
		}
		checkToken(t, r)
	}
	const ok = `{"success":true}`
	const phoneID, waba = "106540352242922", "102290129340398"
	fields := url.Values{"fields": {sender.PhoneNumberFields}}

	f("phone number", `{"id":"106540352242922","display_phone_number":"+1 555-010-0234","verified_name":"Lucky Shrub",`+
		`"quality_rating":"GREEN","throughput":{"level":"STANDARD"},"whatsapp_business_manager_messaging_limit":"TIER_2K",`+
		`"name_status":"APPROVED","status":"CONNECTED","webhook_configuration":{"application":"https://wasp.example/webhook"}}`,
		func() error {
			p, err := g.PhoneNumber(ctx, token, phoneID, "")
			if err == nil && (p.Throughput.Level != "STANDARD" || p.QualityRating != "GREEN" || p.MessagingLimit != "TIER_2K" ||
				p.NameStatus != "APPROVED" || p.Status != "CONNECTED" || p.WebhookConfiguration["application"] != "https://wasp.example/webhook") {
				t.Errorf("phone number: got %+v", p)
			}
			return err
		}, "GET", "/v25.0/"+phoneID, fields, "")
	f("phone number, some fields", `{"id":"1","throughput":{"level":"HIGH"}}`,
		func() error { _, err := g.PhoneNumber(ctx, token, phoneID, "throughput"); return err },
		"GET", "/v25.0/"+phoneID, url.Values{"fields": {"throughput"}}, "")
	f("request code", ok, func() error { return g.RequestCode(ctx, token, phoneID, "SMS", "") },
		"POST", "/v25.0/"+phoneID+"/request_code", url.Values{"code_method": {"SMS"}, "language": {"en_US"}}, "")
	f("verify code", ok, func() error { return g.VerifyCode(ctx, token, phoneID, "123456") },
		"POST", "/v25.0/"+phoneID+"/verify_code", nil, `{"code":"123456"}`)
	f("register", ok, func() error { return g.Register(ctx, token, phoneID, "246810", "") },
		"POST", "/v25.0/"+phoneID+"/register", nil, `{"messaging_product":"whatsapp","pin":"246810"}`)
	f("register with local storage", ok, func() error { return g.Register(ctx, token, phoneID, "246810", "DE") },
		"POST", "/v25.0/"+phoneID+"/register", nil, `{"messaging_product":"whatsapp","pin":"246810","data_localization_region":"DE"}`)
	f("deregister", ok, func() error { return g.Deregister(ctx, token, phoneID) },
		"POST", "/v25.0/"+phoneID+"/deregister", nil, "")
	f("set PIN", ok, func() error { return g.SetPIN(ctx, token, phoneID, "135790") },
		"POST", "/v25.0/"+phoneID, nil, `{"pin":"135790"}`)
	f("business profile", `{"data":[{"about":"Succulents","address":"1 Lucky Shrub Way","description":"Plants","email":"hi@luckyshrub.com",`+
		`"messaging_product":"whatsapp","profile_picture_url":"https://pps.whatsapp.net/v/x.jpg","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL"}]}`,
		func() error {
			p, err := g.BusinessProfile(ctx, token, phoneID)
			if err == nil && (p.About != "Succulents" || p.Vertical != "RETAIL" || len(p.Websites) != 1 || p.ProfilePictureURL == "") {
				t.Errorf("business profile: got %+v", p)
			}
			return err
		}, "GET", "/v25.0/"+phoneID+"/whatsapp_business_profile", url.Values{"fields": {sender.BusinessProfileFields}}, "")
	f("update business profile", ok, func() error {
		return g.UpdateBusinessProfile(ctx, token, phoneID, sender.BusinessProfile{About: "Succulents", Websites: []string{"https://www.luckyshrub.com/"},
			Vertical: "RETAIL", ProfilePictureURL: "https://read.only/x.jpg", ProfilePictureHandle: "4::aW1hZ2U="})
	}, "POST", "/v25.0/"+phoneID+"/whatsapp_business_profile", nil,
		`{"messaging_product":"whatsapp","about":"Succulents","websites":["https://www.luckyshrub.com/"],"vertical":"RETAIL","profile_picture_handle":"4::aW1hZ2U="}`)
	f("subscribed apps", `{"data":[{"whatsapp_business_api_data":{"link":"https://www.facebook.com/games/?app_id=67084","name":"Lucky Shrub","id":"67084"},`+
		`"override_callback_uri":"https://wasp.example/webhook/b"}]}`,
		func() error {
			apps, err := g.SubscribedApps(ctx, token, waba)
			if err == nil && (len(apps) != 1 || apps[0].App.ID != "67084" || apps[0].OverrideCallbackURI != "https://wasp.example/webhook/b") {
				t.Errorf("subscribed apps: got %+v", apps)
			}
			return err
		}, "GET", "/v25.0/"+waba+"/subscribed_apps", nil, "")
	f("subscribe", ok, func() error { return g.Subscribe(ctx, token, waba, nil) },
		"POST", "/v25.0/"+waba+"/subscribed_apps", nil, "")
	f("subscribe with override", ok, func() error {
		return g.Subscribe(ctx, token, waba, &sender.CallbackOverride{URI: "https://wasp.example/webhook/b", VerifyToken: "vt-1"})
	}, "POST", "/v25.0/"+waba+"/subscribed_apps", nil, `{"override_callback_uri":"https://wasp.example/webhook/b","verify_token":"vt-1"}`)
	f("unsubscribe", ok, func() error { return g.Unsubscribe(ctx, token, waba) },
		"DELETE", "/v25.0/"+waba+"/subscribed_apps", nil, "")
	f("templates", `{"data":[{"name":"order_update","status":"APPROVED","category":"UTILITY","language":"en_US","id":"1234567890",`+
		`"parameter_format":"POSITIONAL","components":[{"type":"BODY","text":"Hi {{1}}","example":{"body_text":[["Pablo"]]}},`+
		`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://luckyshrub.com/{{1}}","example":["https://luckyshrub.com/8891"]}]}],`+
		`"quality_score":{"score":"GREEN"}}],"paging":{"cursors":{"before":"QVFIUk","after":"QVFIUm"},"next":"https://graph.facebook.com/v25.0/102290129340398/message_templates?after=QVFIUm"}}`,
		func() error {
			p, err := g.Templates(ctx, token, waba, sender.TemplateQuery{Status: "APPROVED", Limit: 50, After: "QVFIUk"})
			if err == nil && (len(p.Data) != 1 || p.Data[0].ID != "1234567890" || p.Data[0].QualityScore.Score != "GREEN" ||
				p.Data[0].Components[1].Buttons[0].URL != "https://luckyshrub.com/{{1}}" || p.Paging.Cursors.After != "QVFIUm" || p.Paging.Next == "") {
				t.Errorf("templates: got %+v", p)
			}
			return err
		}, "GET", "/v25.0/"+waba+"/message_templates",
		url.Values{"fields": {sender.TemplateFields}, "status": {"APPROVED"}, "limit": {"50"}, "after": {"QVFIUk"}}, "")
	f("create template", `{"id":"594425479261596","status":"PENDING","category":"UTILITY"}`, func() error {
		r, err := g.CreateTemplate(ctx, token, waba, sender.MessageTemplate{ID: "ignored", Status: "APPROVED",
			Name: "order_update", Category: "UTILITY", Language: "en_US", ParameterFormat: "POSITIONAL",
			Components: []sender.TemplateComponentDef{
				{Type: "BODY", Text: "Hi {{1}}, your order {{2}} ships today.", Example: json.RawMessage(`{"body_text":[["Pablo","8891"]]}`)},
				{Type: "FOOTER", Text: "Lucky Shrub"},
				{Type: "BUTTONS", Buttons: []sender.TemplateButtonDef{{Type: "QUICK_REPLY", Text: "Stop"}}},
			}})
		if err == nil && (r.ID != "594425479261596" || r.Status != "PENDING") {
			t.Errorf("create template: got %+v", r)
		}
		return err
	}, "POST", "/v25.0/"+waba+"/message_templates", nil,
		`{"name":"order_update","category":"UTILITY","language":"en_US","parameter_format":"POSITIONAL","components":[`+
			`{"type":"BODY","text":"Hi {{1}}, your order {{2}} ships today.","example":{"body_text":[["Pablo","8891"]]}},`+
			`{"type":"FOOTER","text":"Lucky Shrub"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"}]}]}`)
	f("delete template", ok, func() error { return g.DeleteTemplate(ctx, token, waba, "order_update", "") },
		"DELETE", "/v25.0/"+waba+"/message_templates", url.Values{"name": {"order_update"}}, "")
	f("delete template by id", ok, func() error { return g.DeleteTemplate(ctx, token, waba, "order_update", "1234567890") },
		"DELETE", "/v25.0/"+waba+"/message_templates", url.Values{"name": {"order_update"}, "hsm_id": {"1234567890"}}, "")
	f("media URL", `{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3",`+
		`"mime_type":"image/jpeg","sha256":"abc","file_size":"303833","id":"1037543291543636"}`, func() error {
		m, err := g.MediaURL(ctx, token, "1037543291543636", phoneID)
		if err == nil && (m.FileSize != schemas.Scalar("303833") || m.MimeType != "image/jpeg" || !strings.HasPrefix(m.URL, "https://lookaside")) {
			t.Errorf("media URL: got %+v", m)
		}
		return err
	}, "GET", "/v25.0/1037543291543636", url.Values{"phone_number_id": {phoneID}}, "")
	f("media URL, numeric size", `{"url":"https://x.example/m","file_size":303833,"id":"1"}`, func() error {
		m, err := g.MediaURL(ctx, token, "1", "")
		if err == nil && m.FileSize != "303833" {
			t.Errorf("media URL: got size %q", m.FileSize)
		}
		return err
	}, "GET", "/v25.0/1", nil, "")
	f("delete media", ok, func() error { return g.DeleteMedia(ctx, token, "1037543291543636", "") },
		"DELETE", "/v25.0/1037543291543636", nil, "")
}

func TestManagePhoneNumbersPaging(t *testing.T) {
	fg := newFakeGraph(t, false)
	fg.queue = [][]byte{
		[]byte(`{"data":[{"id":"1","quality_rating":"GREEN"},{"id":"2"}],"paging":{"cursors":{"before":"a","after":"b"},"next":"https://graph.facebook.com/next"}}`),
		[]byte(`{"data":[{"id":"3"}],"paging":{"cursors":{"before":"b","after":"c"}}}`),
	}
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	nums, err := g.PhoneNumbers(context.Background(), token, "102290129340398", "id,quality_rating")
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != 3 || nums[0].QualityRating != "GREEN" || nums[2].ID != "3" {
		t.Errorf("got %+v; want numbers 1, 2, 3", nums)
	}
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if len(fg.requests) != 2 {
		t.Fatalf("got %d requests; want 2", len(fg.requests))
	}
	for i, wantAfter := range []string{"", "b"} {
		r := fg.requests[i]
		q, _ := url.ParseQuery(r.RawQuery)
		if r.Method != "GET" || r.Path != "/v25.0/102290129340398/phone_numbers" || q.Get("fields") != "id,quality_rating" || q.Get("after") != wantAfter {
			t.Errorf("request %d: got %s %s?%s; want after=%q", i, r.Method, r.Path, r.RawQuery, wantAfter)
		}
		checkToken(t, r)
	}
}

func TestManageUploadMedia(t *testing.T) {
	fg := newFakeGraph(t, false)
	fg.answerWith(200, "application/json", []byte(`{"id":"1037543291543636"}`))
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	id, err := g.UploadMedia(context.Background(), token, "106540352242922", `shrub "1".png`, "image/png", bytes.NewReader(png))
	if err != nil || id != "1037543291543636" {
		t.Fatalf("got %q, %v", id, err)
	}
	r := fg.last(t)
	if r.Method != "POST" || r.Path != "/v25.0/106540352242922/media" {
		t.Errorf("got %s %s", r.Method, r.Path)
	}
	checkToken(t, r)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("got Content-Type %q (%v); want multipart/form-data", r.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		got[p.FormName()] = string(data)
		if p.FormName() == "file" {
			if p.FileName() != `shrub "1".png` || p.Header.Get("Content-Type") != "image/png" {
				t.Errorf("got file part %q, %q; want the name and image/png", p.FileName(), p.Header.Get("Content-Type"))
			}
		}
	}
	want := map[string]string{"messaging_product": "whatsapp", "type": "image/png", "file": string(png)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got parts %q; want %q", got, want)
	}
}

func TestManageDownloadMedia(t *testing.T) {
	fg := newFakeGraph(t, false)
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	media := bytes.Repeat([]byte("ogg!"), 100_000)
	fg.answerWith(200, "audio/ogg", media)
	var buf bytes.Buffer
	ct, n, err := g.DownloadMedia(context.Background(), token, fg.URL+"/whatsapp_business/attachments/?mid=1&ext=2&hash=3", &buf)
	if err != nil || ct != "audio/ogg" || n != int64(len(media)) || !bytes.Equal(buf.Bytes(), media) {
		t.Fatalf("got %q, %d bytes, %v; want audio/ogg, %d bytes", ct, n, err, len(media))
	}
	r := fg.last(t)
	if r.Method != "GET" || r.Path != "/whatsapp_business/attachments/" || r.RawQuery != "mid=1&ext=2&hash=3" {
		t.Errorf("got %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	checkToken(t, r)

	// An expired URL.
	fg.answerWith(404, "text/html", []byte("<html>gone</html>"))
	_, _, err = g.DownloadMedia(context.Background(), token, fg.URL+"/m", io.Discard)
	var ae *sender.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 {
		t.Errorf("expired URL: got %v; want an APIError with HTTP 404", err)
	}

	// The token is not sent in clear to another host.
	n0 := fg.count()
	_, _, err = g.DownloadMedia(context.Background(), token, "http://media.example/m", io.Discard)
	if err == nil || fg.count() != n0 {
		t.Errorf("plain http on another host: got %v; want an error and no request", err)
	}
}

func TestManageRefusesBadInput(t *testing.T) {
	fg := newFakeGraph(t, false)
	g := sender.NewGraph(sender.GraphConfig{BaseURL: fg.URL})
	ctx := context.Background()
	f := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v; want an error containing %q", name, err, want)
		}
	}
	f("PIN", g.SetPIN(ctx, token, "1", "12345"), "cannot set two-step PIN: the PIN has 5 characters; want 6 digits")
	f("register PIN", g.Register(ctx, token, "1", "abcdef", ""), "want 6 digits")
	f("code method", g.RequestCode(ctx, token, "1", "EMAIL", "en_US"), `code_method "EMAIL" is not SMS, VOICE or IVR`)
	f("path", g.Deregister(ctx, token, "1/../2"), `phone_number_id "1/../2" is not a Graph id`)
	f("about", g.UpdateBusinessProfile(ctx, token, "1", sender.BusinessProfile{About: strings.Repeat("a", 140)}),
		"business profile about has 140 characters; the limit is 139")
	f("websites", g.UpdateBusinessProfile(ctx, token, "1", sender.BusinessProfile{Websites: []string{"https://a", "https://b", "https://c"}}),
		"websites has 3 URLs; the limit is 2")
	_, err := g.CreateTemplate(ctx, token, "1", sender.MessageTemplate{Name: "Order", Category: "UTILITY", Language: "en_US",
		Components: []sender.TemplateComponentDef{{Type: "BODY", Text: "hi"}}})
	f("template name", err, `template name "Order" is not a template name`)
	_, err = g.CreateTemplate(ctx, token, "1", sender.MessageTemplate{Name: "order", Category: "PROMO", Language: "en_US",
		Components: []sender.TemplateComponentDef{{Type: "BODY", Text: "hi"}}})
	f("template category", err, `template category is "PROMO"`)
	f("override", g.Subscribe(ctx, token, "1", &sender.CallbackOverride{URI: "https://wasp.example/b"}), "verify_token is missing")
	if fg.count() != 0 {
		t.Errorf("got %d requests; want none for bad input", fg.count())
	}

	// A Graph error answer of a management call.
	fg.answerWith(400, "application/json", []byte(`{"error":{"message":"(#133005) Two step verification PIN Mismatch","type":"OAuthException","code":133005,"fbtrace_id":"T"}}`))
	err = g.Register(ctx, token, "1", "000000", "")
	var ae *sender.APIError
	if !errors.As(err, &ae) || ae.Code != 133005 || sender.Classify(err) != schemas.ClassFixFirst ||
		!strings.HasPrefix(err.Error(), "cannot register phone number: graph error 133005") {
		t.Errorf("got %v", err)
	}
	fg.answerWith(200, "application/json", []byte(`{"success":false}`))
	f("no success", g.Deregister(ctx, token, "1"), "cannot deregister phone number: graph answered without success")
}
