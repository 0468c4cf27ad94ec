package sim

import (
	"encoding/json"
	"testing"
)

func TestSendsAndReport(t *testing.T) {
	s := start(t, Config{Numbers: []Number{{PhoneNumberID: "111"}, {PhoneNumberID: "222", WABAID: "900"}}})
	post := func(number, body string) {
		t.Helper()
		if status, m := call(t, s, "POST", "/v25.0/"+number+"/messages", body); status != 200 {
			t.Fatalf("send: got %d %v", status, m)
		}
	}
	post("111", `{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"first"},"biz_opaque_callback_data":"wasp1:cmd_1"}`)
	post("222", `{"messaging_product":"whatsapp","recipient":"US.13491208655302741918","type":"image","image":{"link":"https://x.example/a.jpg","caption":"second"}}`)
	post("111", templateSend("hello_world", "en_US", 1))
	call(t, s, "POST", "/v25.0/111/messages", textTo("16505551234", ""))

	sends := s.Sends()
	if len(sends) != 3 {
		t.Fatalf("got %d sends; want 3", len(sends))
	}
	f := func(i int, number, to, recipient, typ, text, template, callback string) {
		t.Helper()
		sd := sends[i]
		if sd.Seq != uint64(i+1) || sd.PhoneNumberID != number || sd.To != to || sd.Recipient != recipient || sd.Type != typ ||
			sd.Text != text || sd.Template != template || sd.BizOpaqueCallbackData != callback || sd.WAMID == "" || sd.Time.IsZero() || len(sd.Body) == 0 {
			t.Errorf("send %d: got %+v", i, sd)
		}
	}
	f(0, "111", "+16505551234", "", "text", "first", "", "wasp1:cmd_1")
	f(1, "222", "", "US.13491208655302741918", "image", "second", "", "")
	f(2, "111", "16505551234", "", "template", "", "hello_world", "")

	// The report over HTTP is the same report.
	status, raw := callRaw(t, s, "GET", "/_sim/report", "", "", nil)
	var r Report
	if err := json.Unmarshal(raw, &r); status != 200 || err != nil {
		t.Fatalf("/_sim/report: got %d %v", status, err)
	}
	n := r.Numbers["111"]
	if n.Accepted != 2 || n.Templates != 1 || n.Recipients["16505551234"] != 2 || n.Errors[131008] != 1 || r.Errors[131008] != 1 {
		t.Errorf("number 111: got %+v; want 2 accepted, 1 template, 1 error", n)
	}
	if r.Numbers["222"].Recipients["US.13491208655302741918"] != 1 || len(n.PerSecond) == 0 || n.MaxPerSecond != 2 {
		t.Errorf("got %+v; want the BSUID recipient counted and a series", r.Numbers)
	}
	status, raw = callRaw(t, s, "GET", "/_sim/sends", "", "", nil)
	var got []Send
	if err := json.Unmarshal(raw, &got); status != 200 || err != nil || len(got) != 3 || got[2].WAMID != sends[2].WAMID {
		t.Errorf("/_sim/sends: got %d %v %d sends", status, err, len(got))
	}

	// Controls over HTTP, then Reset.
	if status, _ := callRaw(t, s, "POST", "/_sim/window", "application/json", "", []byte(`{"phone_number_id":"111","user":"+16505550000"}`)); status != 200 {
		t.Errorf("/_sim/window: got %d", status)
	}
	if status, _ := callRaw(t, s, "POST", "/_sim/window", "application/json", "", []byte(`{"phone_number_id":"404","user":"1"}`)); status != 400 {
		t.Errorf("/_sim/window on an unknown number: got %d; want 400", status)
	}
	if status, _ := callRaw(t, s, "POST", "/_sim/inbound", "application/json", "", []byte(`{"phone_number_id":"111","user":"16505550000","type":"text"}`)); status != 400 {
		t.Errorf("/_sim/inbound without webhooks: got %d; want 400", status)
	}
	s.FailNext(1, 131000)
	if status, _ := callRaw(t, s, "POST", "/_sim/reset", "", "", nil); status != 200 {
		t.Fatalf("/_sim/reset: got %d", status)
	}
	r = s.Report()
	if len(s.Sends()) != 0 || r.Numbers["111"].Accepted != 0 || len(r.Errors) != 0 || len(r.Numbers["111"].Recipients) != 0 {
		t.Errorf("after Reset: got %d sends, %+v", len(s.Sends()), r)
	}
	post("111", textTo("16505551234", "after reset")) // the scripted fault is gone too
	if sd := s.Sends(); len(sd) != 1 || sd[0].Seq != 4 {
		t.Errorf("got %+v; want one send, its sequence going on", sd)
	}
}

func TestKeepSends(t *testing.T) {
	s := start(t, Config{KeepSends: 2})
	for i := range 3 {
		send(t, s, textTo("1650555000"+string(rune('0'+i)), "hi"))
	}
	if n, r := len(s.Sends()), s.Report().Numbers[phoneID]; n != 2 || r.Accepted != 3 || r.NotKept != 1 {
		t.Errorf("got %d kept, %d accepted, %d not kept; want 2, 3, 1", n, r.Accepted, r.NotKept)
	}
}
