package sim

import (
	"testing"
	"time"
)

// TestTracking: each accepted send is matched to the inbound message it
// answers (by callback data or context); once, twice, never and no match
// are told apart, and every POST's acknowledgement is timed.
func TestTracking(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Track = true
	s := start(t, cfg)
	var wamids []string
	for _, typ := range []string{"text", "text", "text", "image"} {
		w, err := s.Inbound(phoneID, "16505551234", typ)
		if err != nil {
			t.Fatal(err)
		}
		wamids = append(wamids, w)
	}
	waitFor(t, "4 messages delivered", func() bool {
		return s.Tracking().Inbound["text"].Delivered == 3 && s.Tracking().Inbound["image"].Delivered == 1
	})
	if tr := s.Tracking(); tr.Inbound["text"].Unanswered != 3 || tr.Inbound["text"].Posted != 3 {
		t.Fatalf("before any answer: %+v; want 3 posted, delivered and unanswered", tr.Inbound["text"])
	}
	reply := func(callback, context string) {
		t.Helper()
		body := `{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":"ok"},"biz_opaque_callback_data":"` + callback + `"`
		if context != "" {
			body += `,"context":{"message_id":"` + context + `"}`
		}
		if status, m := send(t, s, body+"}"); status != 200 {
			t.Fatalf("send: %d %v", status, m)
		}
	}
	reply("wasp1:cmd_a:"+wamids[0], "")
	reply("wasp1:cmd_b:"+wamids[1], "")
	reply("wasp1:cmd_b:"+wamids[1], "") // a duplicate
	reply("", wamids[3])                // by context
	reply("wasp1:cmd_c:wamid.unknown", "")
	reply("other software's data", "")

	tr := s.Tracking()
	want := InboundTally{Posted: 3, Delivered: 3, Answered: 2, Duplicated: 1, Unanswered: 1}
	if got := tr.Inbound["text"]; got != want {
		t.Errorf("text: got %+v; want %+v", got, want)
	}
	if got := tr.Inbound["image"]; got.Answered != 1 || got.Unanswered != 0 {
		t.Errorf("image: got %+v; want answered by its context", got)
	}
	if tr.Unmatched != 2 || tr.Replies.Count() != 3 || tr.Replies.Max() <= 0 || tr.Replies.Max() > 10*time.Second {
		t.Errorf("got %d unmatched, %d timed replies (max %v); want 2 and 3", tr.Unmatched, tr.Replies.Count(), tr.Replies.Max())
	}
	if tr.Statuses != 18 || time.Since(tr.LastReply) > 10*time.Second {
		t.Errorf("got %d statuses queued, last reply %v; want 3 for each of 6 sends, just now", tr.Statuses, tr.LastReply)
	}
	waitFor(t, "the statuses delivered", func() bool { return s.Report().Webhooks.Delivered == 4+18 })
	if n := s.Tracking().Acks.Count(); n != 4+18 {
		t.Errorf("got %d acknowledgements timed; want one per POST, 22", n)
	}
	s.Reset()
	if tr := s.Tracking(); len(tr.Inbound) != 0 || tr.Acks.Count() != 0 || tr.Unmatched != 0 {
		t.Errorf("after Reset: %+v; want nothing", tr)
	}
}

func TestSetRate(t *testing.T) {
	r := newReceiver(t)
	cfg := webhookConfig(r)
	cfg.Customers = Customers{Rate: 0.01, Users: 50}
	s := start(t, cfg)
	if err := s.SetRate(400); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "messages at the new rate", func() bool { return s.Report().Inbound.Generated >= 40 })
	if err := s.SetRate(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	n := s.Report().Inbound.Generated
	time.Sleep(200 * time.Millisecond)
	if m := s.Report().Inbound.Generated; m != n {
		t.Errorf("%d messages generated at rate 0", m-n)
	}
	if err := s.SetRate(-1); err == nil {
		t.Error("SetRate(-1): no error")
	}
	if err := start(t, Config{}).SetRate(10); err == nil {
		t.Error("SetRate without customers: no error")
	}
}
