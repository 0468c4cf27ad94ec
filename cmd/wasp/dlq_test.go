package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"wasp/bench/sim"
)

// TestDLQThroughTheBinary: a reply Meta refuses for good and a signed body
// that is not JSON are listed by `wasp dlq list`; replaying the reply
// sends it once, however often it is replayed. On both logs.
func TestDLQThroughTheBinary(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testDLQ(t, "") })
	t.Run("kafka", func(t *testing.T) {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer cluster.Close()
		testDLQ(t, strings.Join(cluster.ListenAddrs(), ","))
	})
}

func testDLQ(t *testing.T, brokers string) {
	s := serveSim(t, sim.Config{Tokens: []string{"tok-dlq"}})
	number := sim.DefaultPhoneNumberID
	p := startWasp(t, map[string]string{"WASP_APP_SECRET": "s3cret", "WASP_VERIFY_TOKEN": "v", "WASP_DATA_DIR": t.TempDir(),
		"WASP_GRAPH_URL": s.URL(), "WASP_ACCESS_TOKEN": "tok-dlq", "WASP_PHONE_NUMBER_ID": number,
		"WASP_API_TOKEN": "api-tok", "WASP_KAFKA_BROKERS": brokers})

	env := func(k string) string {
		return map[string]string{"WASP_ADMIN_LISTEN": p.admin, "WASP_API_TOKEN": "api-tok"}[k]
	}
	dlq := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"dlq"}, args...), env, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	if out, code := dlq("list"); code != 0 || !strings.Contains(out, "0 shown of 0") {
		t.Fatalf("wasp dlq list before any dead letter: exit %d:\n%s", code, out)
	}
	s.FailNext(1, 131026) // the reply: undeliverable, not retried
	postSigned(t, p, "s3cret", textWebhook(number, "5215550002222", "wamid.dlq1", "hola"))
	postSigned(t, p, "s3cret", []byte("not json at all"))
	var listed struct {
		DeadLetters []deadLetter `json:"dead_letters"`
	}
	for deadline := time.Now().Add(20 * time.Second); len(listed.DeadLetters) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dead letters %+v; want two\n%s", listed.DeadLetters, p.out)
		}
		out, code := dlq("list", "--json")
		if code != 0 {
			t.Fatalf("wasp dlq list: exit %d: %s", code, out)
		}
		json.Unmarshal([]byte(out), &listed)
	}
	var reply *deadLetter
	sources := map[string]bool{}
	for i, l := range listed.DeadLetters {
		sources[l.Source] = true
		if l.Source == "sender" {
			reply = &listed.DeadLetters[i]
		}
	}
	if !sources["ingest"] || reply == nil || reply.Code != "131026" || reply.Replay != "wa.outbound" {
		t.Fatalf("dead letters %+v; want one from the ingester and the reply from the sender with 131026", listed.DeadLetters)
	}
	if out, code := dlq("list"); code != 0 || !strings.Contains(out, reply.ID) || !strings.Contains(out, "2 shown of 2") {
		t.Errorf("wasp dlq list: exit %d:\n%s", code, out)
	}
	// --admin takes the listener as WASP_ADMIN_LISTEN has it, or a URL.
	for _, admin := range []string{p.admin, "http://" + p.admin + "/"} {
		if out, code := dlq("list", "--admin", admin); code != 0 || !strings.Contains(out, "2 shown of 2") {
			t.Errorf("wasp dlq list --admin %s: exit %d:\n%s", admin, code, out)
		}
	}
	if out, code := dlq("list", "--admin", "http://"); code != 2 || !strings.Contains(out, "host:port") {
		t.Errorf("wasp dlq list --admin http://: exit %d, want 2 and what to give:\n%s", code, out)
	}
	if out, code := dlq("list", "--limit", "0"); code != 2 || !strings.Contains(out, "--limit must be from 1") {
		t.Errorf("wasp dlq list --limit 0: exit %d, want 2 and the range:\n%s", code, out)
	}
	if out, code := dlq("list", "--source", "sender", "--limit", "1"); code != 0 || !strings.Contains(out, "1 shown") || !strings.Contains(out, "sender") {
		t.Errorf("wasp dlq list --source sender --limit 1: exit %d:\n%s", code, out)
	}
	if out, code := dlq("show", reply.ID); code != 0 || !strings.Contains(out, `"message"`) {
		t.Errorf("wasp dlq show %s: exit %d, want the command:\n%s", reply.ID, code, out)
	}

	accepted := func() int64 { return s.Report().Numbers[number].Accepted }
	if n := accepted(); n != 0 {
		t.Fatalf("accepted %d before the replay; want 0", n)
	}
	for range 2 {
		if out, code := dlq("replay", reply.ID); code != 0 || !strings.Contains(out, "replayed to wa.outbound") {
			t.Fatalf("wasp dlq replay %s: exit %d:\n%s", reply.ID, code, out)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); accepted() < 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replayed reply was not sent:\n%s", p.out)
		}
	}
	time.Sleep(time.Second)
	if n := accepted(); n != 1 {
		t.Errorf("replayed twice, sent %d times; want once", n)
	}
	if out, code := dlq("replay", "7-999999"); code != 1 || !strings.Contains(out, "no dead letter") {
		t.Errorf("replay of an unknown id: exit %d: %s", code, out)
	}
	if out, code := dlq("replay"); code != 2 {
		t.Errorf("replay without an id: exit %d: %s", code, out)
	}
}
