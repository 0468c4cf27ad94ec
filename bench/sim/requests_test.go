package sim

import (
	"testing"
)

func TestRequestsRecordManagementCalls(t *testing.T) {
	s := start(t, Config{})
	p := "/v25.0/" + phoneID
	call(t, s, "POST", p+"/register?x=1", `{"messaging_product":"whatsapp","pin":"424242"}`)
	send(t, s, textTo("16505551234", "hi"))
	callRaw(t, s, "GET", "/v25.0/"+wabaID+"/subscribed_apps", "", "", nil)

	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("got %d requests %+v; want 2 (the send is not one)", len(got), got)
	}
	r := got[0]
	if r.Method != "POST" || r.Path != p+"/register" || r.Query != "x=1" || r.ContentType != "application/json" ||
		string(r.Body) != `{"messaging_product":"whatsapp","pin":"424242"}` || r.Token != testToken {
		t.Errorf("got %+v; want the register call as sent", r)
	}
	if r := got[1]; r.Method != "GET" || r.Token != "" {
		t.Errorf("got %+v; want the GET without a token", r)
	}
	s.Reset()
	if got := s.Requests(); len(got) != 0 {
		t.Errorf("after Reset: got %d requests; want none", len(got))
	}
}

func TestFailNextCall(t *testing.T) {
	s := start(t, Config{})
	p := "/v25.0/" + phoneID
	s.FailNextCall(1, 133016)
	if status, _ := send(t, s, textTo("16505551234", "hi")); status != 200 {
		t.Fatalf("send: got %d; want it untouched by FailNextCall", status)
	}
	if status, m := call(t, s, "POST", p+"/deregister", ""); status != 400 || errorCode(m) != 133016 {
		t.Fatalf("deregister: got %d %v; want the scripted 133016", status, m)
	}
	if status, m := call(t, s, "POST", p+"/deregister", ""); status != 200 {
		t.Fatalf("deregister again: got %d %v; want success", status, m)
	}
	if got := s.Report().Numbers[phoneID].Errors[133016]; got != 1 {
		t.Errorf("got %d errors 133016 on the number; want 1", got)
	}
}
