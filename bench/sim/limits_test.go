package sim

import (
	"strings"
	"testing"
	"time"
)

func TestThroughputLimit(t *testing.T) {
	s := start(t, Config{Numbers: []Number{{PhoneNumberID: phoneID, ThroughputMPS: 5}}, PairLimit: PairLimit{Burst: -1}})
	began := time.Now()
	for i := range 5 {
		if status, m := send(t, s, textTo("16505551234", "hi")); status != 200 {
			t.Fatalf("send %d: got %d %v; want accepted", i+1, status, m)
		}
	}
	status, m := send(t, s, textTo("16505550000", "hi"))
	if status != 400 || errorCode(m) != 130429 {
		t.Fatalf("6th send within a second: got %d %v; want 130429", status, m)
	}
	if missing := missingPaths(fixture(t, "send/response_error_130429.json"), m); len(missing) > 0 {
		t.Errorf("130429 lacks %v of Meta's answer; got %v", missing, m)
	}
	if e := m["error"].(map[string]any); e["message"] != "(#130429) Rate limit hit" || e["error_subcode"] != float64(2494055) {
		t.Errorf("got %v; want Meta's published 130429", e)
	}
	var ok time.Time
	waitFor(t, "a send to be accepted again", func() bool {
		status, _ := send(t, s, textTo("16505551234", "hi"))
		ok = time.Now()
		return status == 200
	})
	if d := ok.Sub(began); d < time.Second {
		t.Errorf("accepted again after %v; want not before the first send left the one-second window", d)
	}
	r := s.Report().Numbers[phoneID]
	if r.MaxPerSecond != 5 || r.Accepted != 6 || r.Errors[130429] < 1 {
		t.Errorf("got max %d a second, %d accepted, errors %v; want 5, 6, 130429", r.MaxPerSecond, r.Accepted, r.Errors)
	}
	var sum int64
	for _, c := range r.PerSecond {
		sum += c
		if c > 5 {
			t.Errorf("got %d sends in one second of %v; want at most 5", c, r.PerSecond)
		}
	}
	if sum != 6 || len(r.PerSecond) < 2 {
		t.Errorf("got per-second series %v; want 6 sends over at least 2 seconds", r.PerSecond)
	}
}

func TestThroughputDefaultsFromLevel(t *testing.T) {
	s, err := New(Config{Numbers: []Number{{PhoneNumberID: "1"}, {PhoneNumberID: "2", Level: "high"}, {PhoneNumberID: "3", Level: "COEXISTENCE"}, {PhoneNumberID: "4", ThroughputMPS: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"1": 80, "2": 1000, "3": 20, "4": -1} {
		if got := s.numbers[id].cfg.ThroughputMPS; got != want {
			t.Errorf("number %s: got %d mps; want %d", id, got, want)
		}
	}
}

func TestPairLimit(t *testing.T) {
	const interval = 300 * time.Millisecond
	s := start(t, Config{PairLimit: PairLimit{Burst: 3, Interval: interval}})
	began := time.Now()
	for i := range 3 {
		if status, m := send(t, s, textTo("+16505551234", "hi")); status != 200 {
			t.Fatalf("burst send %d: got %d %v; want accepted", i+1, status, m)
		}
	}
	if _, m := send(t, s, textTo("+16505551234", "hi")); errorCode(m) != 131056 {
		t.Fatalf("4th send: got %v; want 131056", m)
	}
	if status, _ := send(t, s, textTo("+16505559999", "hi")); status != 200 {
		t.Fatalf("another recipient: got %d; want accepted", status)
	}
	var ok time.Time
	waitFor(t, "the recipient's next send", func() bool {
		status, _ := send(t, s, textTo("16505551234", "hi"))
		ok = time.Now()
		return status == 200
	})
	if d := ok.Sub(began); d < interval {
		t.Errorf("accepted after %v; want one interval (%v) after the burst", d, interval)
	}
	// One per interval now: the next at once is refused.
	if _, m := send(t, s, textTo("16505551234", "hi")); errorCode(m) != 131056 {
		t.Errorf("send right after: got %v; want 131056", m)
	}
	if e := s.Report().Numbers[phoneID].Errors[131056]; e < 2 {
		t.Errorf("got %d 131056 errors; want at least 2", e)
	}
	if r := s.Report().Numbers[phoneID].Recipients; r["16505551234"] != 4 || r["16505559999"] != 1 {
		t.Errorf("got recipients %v; want 4 and 1", r)
	}
}

func TestCustomerServiceWindow(t *testing.T) {
	s := start(t, Config{EnforceWindow: true, WindowDuration: time.Second})
	status, m := send(t, s, textTo("+16505551234", "hi"))
	if status != 400 || errorCode(m) != 131047 {
		t.Fatalf("free-form outside the window: got %d %v; want 131047", status, m)
	}
	if status, m := send(t, s, templateSend("hello_world", "en_US", 0)); status != 200 {
		t.Fatalf("template outside the window: got %d %v; want accepted", status, m)
	}
	if err := s.OpenWindow(phoneID, "+1 650-555-1234"); err != nil {
		t.Fatal(err)
	}
	if status, m := send(t, s, textTo("16505551234", "hi")); status != 200 {
		t.Fatalf("inside the window: got %d %v; want accepted", status, m)
	}
	// A BSUID has its own window.
	bsuid := `{"messaging_product":"whatsapp","recipient":"US.13491208655302741918","type":"text","text":{"body":"hi"}}`
	if _, m := send(t, s, bsuid); errorCode(m) != 131047 {
		t.Errorf("BSUID outside the window: got %v; want 131047", m)
	}
	s.OpenWindow(phoneID, "US.13491208655302741918")
	if status, _ := send(t, s, bsuid); status != 200 {
		t.Errorf("BSUID inside the window: got %d; want accepted", status)
	}
	waitFor(t, "the window to close", func() bool {
		_, m := send(t, s, textTo("16505551234", "hi"))
		return errorCode(m) == 131047
	})
	if err := s.OpenWindow("404", "16505551234"); err == nil {
		t.Error("OpenWindow on an unknown number: got no error")
	}
}

func TestTemplateErrors(t *testing.T) {
	s := start(t, Config{Templates: []Template{
		{Name: "order_update", Language: "en_US", Params: 2},
		{Name: "named_update", Language: "en_US", Params: 1, Named: true},
	}})
	f := func(name, body string, want int) {
		t.Helper()
		status, m := send(t, s, body)
		if got := errorCode(m); got != want || want == 0 && status != 200 {
			t.Errorf("%s: got %d %v; want error %d", name, status, m, want)
		}
	}
	f("unknown name", templateSend("nope", "en_US", 2), 132001)
	f("unknown language", templateSend("order_update", "pt_BR", 2), 132001)
	f("too few", templateSend("order_update", "en_US", 1), 132000)
	f("too many", templateSend("order_update", "en_US", 3), 132000)
	f("right", templateSend("order_update", "en_US", 2), 0)
	f("named, positional", templateSend("named_update", "en_US", 1), 132012)
	f("named", `{"messaging_product":"whatsapp","to":"16505551234","type":"template","template":{"name":"named_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","parameter_name":"p1","text":"Ana"}]}]}}`, 0)
	_, m := send(t, s, templateSend("nope", "en_US", 2))
	if d := m["error"].(map[string]any)["error_data"].(map[string]any)["details"]; d != "template name (nope) does not exist in en_US" {
		t.Errorf("got details %q; want Meta's", d)
	}
	if r := s.Report().Numbers[phoneID]; r.Templates != 2 {
		t.Errorf("got %d templates; want 2", r.Templates)
	}
}

func TestFailNext(t *testing.T) {
	s := start(t, Config{Faults: Faults{Hold: 300 * time.Millisecond}})
	s.FailNext(2, 131000)
	s.FailNext5xx(1)
	for i, want := range []int{131000, 131000} {
		status, m := send(t, s, textTo("16505551234", "hi"))
		if errorCode(m) != want || status != 500 {
			t.Fatalf("send %d: got %d %v; want HTTP 500 and %d", i+1, status, m, want)
		}
	}
	status, raw := callRaw(t, s, "POST", "/v25.0/"+phoneID+"/messages", "application/json", testToken, []byte(textTo("16505551234", "hi")))
	if status != 503 || strings.HasPrefix(string(raw), "{") {
		t.Fatalf("scripted 5xx: got %d %s; want 503 without JSON", status, raw)
	}
	if status, m := send(t, s, textTo("16505551234", "hi")); status != 200 {
		t.Fatalf("after the script: got %d %v; want accepted", status, m)
	}

	// A timeout holds the answer, but the message was sent.
	s.FailNextTimeout(1)
	began := time.Now()
	status, m := send(t, s, textTo("16505551234", "slow"))
	if d := time.Since(began); status != 200 || d < 300*time.Millisecond {
		t.Fatalf("timeout: got %d after %v; want the answer held 300ms", status, d)
	}
	sends := s.Sends()
	if len(sends) != 2 || sends[1].Text != "slow" || sends[1].WAMID != wamidOf(m) {
		t.Errorf("got sends %+v; want the timed-out send accepted", sends)
	}
	r := s.Report()
	if r.Errors[131000] != 2 || r.HTTP5xx != 1 || r.Timeouts != 1 || r.Numbers[phoneID].Accepted != 2 {
		t.Errorf("got errors %v, 5xx %d, timeouts %d, accepted %d; want 131000×2, 1, 1, 2",
			r.Errors, r.HTTP5xx, r.Timeouts, r.Numbers[phoneID].Accepted)
	}

	// Scripted faults come over HTTP too.
	if status, _ := callRaw(t, s, "POST", "/_sim/fail", "application/json", "", []byte(`{"n":1,"code":131016}`)); status != 200 {
		t.Fatalf("/_sim/fail: got %d", status)
	}
	if _, m := send(t, s, textTo("16505551234", "hi")); errorCode(m) != 131016 {
		t.Errorf("after /_sim/fail: got %v; want 131016", m)
	}
}

func TestDroppedTimeout(t *testing.T) {
	s := start(t, Config{Faults: Faults{Hold: 50 * time.Millisecond, DropTimedOut: true}})
	s.FailNextTimeout(1)
	if status, _ := send(t, s, textTo("16505551234", "hi")); status != 504 {
		t.Errorf("got %d; want 504", status)
	}
	if n := len(s.Sends()); n != 0 {
		t.Errorf("got %d sends; want the dropped one not accepted", n)
	}
}

func TestFaultRates(t *testing.T) {
	s := start(t, Config{PairLimit: PairLimit{Burst: -1}, Numbers: []Number{{PhoneNumberID: phoneID, ThroughputMPS: -1}},
		Faults: Faults{ErrorRate: 0.5, Codes: []int{131016, 133004}}})
	codes := map[int]int{}
	for range 200 {
		_, m := send(t, s, textTo("16505551234", "hi"))
		codes[errorCode(m)]++
	}
	if codes[0] < 50 || codes[131016] < 20 || codes[133004] < 20 || len(codes) != 3 {
		t.Errorf("got %v; want about half accepted and the rest split over 131016 and 133004", codes)
	}
}

func TestLatency(t *testing.T) {
	f := func(l Latency, lo, hi time.Duration) {
		t.Helper()
		for range 200 {
			if d := l.sample(); d < lo || d > hi {
				t.Fatalf("%+v: got %v; want within [%v, %v]", l, d, lo, hi)
			}
		}
	}
	f(Latency{}, 0, 0)
	f(Latency{Fixed: 5 * time.Millisecond, Jitter: 5 * time.Millisecond}, 5*time.Millisecond, 10*time.Millisecond)
	f(Latency{P50: 10 * time.Millisecond, P99: 50 * time.Millisecond}, 0, 500*time.Millisecond)

	s := start(t, Config{Faults: Faults{Latency: Latency{Fixed: 100 * time.Millisecond}}})
	began := time.Now()
	call(t, s, "GET", "/v25.0/"+phoneID, "")
	if d := time.Since(began); d < 100*time.Millisecond {
		t.Errorf("answered after %v; want the fixed 100ms latency", d)
	}
}
