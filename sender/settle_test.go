package sender

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasp/bench/sim"
	"wasp/schemas"
	"wasp/stream"
)

// TestSettleProgress: the settle loop counts as caught up to a time only
// once it has read past every partition end of a snapshot taken then.
func TestSettleProgress(t *testing.T) {
	var p settleProgress
	t0 := time.Unix(1000, 0)
	ends := []stream.Position{
		{Partition: 0, End: 10, Committed: 4}, // 6 to read
		{Partition: 1, End: 5, Committed: 5},  // nothing to read
	}
	if err := p.check(t0, func() ([]stream.Position, error) { return ends, nil }); err != nil {
		t.Fatal(err)
	}
	if !p.caughtUp().Before(t0) {
		t.Fatalf("caught up to %v before reading partition 0", p.caughtUp())
	}
	p.advance(0, 9)
	p.check(t0.Add(time.Second), nil) // the snapshot stands: no new positions read
	if !p.caughtUp().Before(t0) {
		t.Fatalf("caught up to %v one record short", p.caughtUp())
	}
	p.advance(0, 10)
	p.check(t0.Add(2*time.Second), nil)
	if !p.caughtUp().Equal(t0) {
		t.Fatalf("caught up to %v; want the snapshot's time %v", p.caughtUp(), t0)
	}
	// The next snapshot: partition 0 already read past its end.
	t1 := t0.Add(3 * time.Second)
	p.check(t1, func() ([]stream.Position, error) {
		return []stream.Position{{Partition: 0, End: 10, Committed: 8}}, nil
	})
	if !p.caughtUp().Equal(t1) {
		t.Fatalf("caught up to %v; want %v", p.caughtUp(), t1)
	}
	// Positions that cannot be read leave it where it was.
	if err := p.check(t1.Add(time.Second), func() ([]stream.Position, error) { return nil, errors.New("broker away") }); err == nil || !p.caughtUp().Equal(t1) {
		t.Fatalf("after a failed read: err %v, caught up to %v; want an error and %v", err, p.caughtUp(), t1)
	}
}

// gatedLog holds back the settle loop's reads until released, as a Kafka
// group does for the session timeout after a restart.
type gatedLog struct {
	*stream.Badger
	release chan struct{}
}

func (g *gatedLog) Consume(group string, topics ...string) (stream.Consumer, error) {
	c, err := g.Badger.Consume(group, topics...)
	if err != nil || !strings.HasSuffix(group, "-settle") {
		return c, err
	}
	return &gatedConsumer{Consumer: c, release: g.release}, nil
}

type gatedConsumer struct {
	stream.Consumer
	release chan struct{}
}

func (g *gatedConsumer) Fetch(ctx context.Context, max int) ([]*stream.Record, error) {
	select {
	case <-g.release:
		return g.Consumer.Fetch(ctx, max)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestUnknownSendWaitsForStatusesToBeRead: a send whose answer never came
// is not sent again while the status webhooks that would settle it are
// still unread, however long past its settle delay; once they are read,
// its status settles it and it is never sent twice.
func TestUnknownSendWaitsForStatusesToBeRead(t *testing.T) {
	l, err := stream.OpenBadger(stream.BadgerConfig{Dir: t.TempDir(), Topics: stream.Topics{Partitions: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	gl := &gatedLog{Badger: l, release: make(chan struct{})}
	s, graphURL := startSim(t, sim.Config{Tokens: []string{"test-token"}})
	snd, err := New(Config{DataDir: t.TempDir(), DefaultToken: "test-token", ThroughputMPS: -1,
		SettleDelay: 200 * time.Millisecond, SendTimeout: 300 * time.Millisecond}, gl,
		NewGraph(GraphConfig{BaseURL: graphURL, Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- snd.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sender: %v", err)
		}
	}()

	// Meta takes the message but its answer never comes back in time.
	s.FailNextTimeout(1)
	r := &rig{t: t, log: l, sim: s}
	r.send(textCmd("unknown-1", "5215550000042", "hola"))
	waitFor(t, 5*time.Second, "the send to reach Meta", func() bool { return r.accepted() == 1 })
	wamid := s.Sends()[0].WAMID
	status := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"statuses":[{"id":%q,"status":"sent","timestamp":"1751247548","recipient_id":"5215550000042","biz_opaque_callback_data":"wasp1:unknown-1"}]}}]}]}`, testNumber, wamid)
	if err := l.Append(context.Background(), &stream.Record{Topic: schemas.TopicWebhooks, Key: []byte(testNumber), Value: []byte(status)}); err != nil {
		t.Fatal(err)
	}
	// Well past the timeout and the settle delay, the status is unread:
	// the send waits.
	time.Sleep(1500 * time.Millisecond)
	if n := r.accepted(); n != 1 {
		t.Fatalf("sent %d times while its status webhook was unread; want once", n)
	}
	close(gl.release)
	time.Sleep(1500 * time.Millisecond)
	if n := r.accepted(); n != 1 {
		t.Fatalf("sent %d times after its status was read; want once", n)
	}
}

// TestSettleRecordsOptOuts: the settle loop reads user_preferences
// webhooks (our testdata's: one user stops, another signs up) into the
// ledger's opt-outs, under the phone and the BSUID alike.
func TestSettleRecordsOptOuts(t *testing.T) {
	r := newRig(t, sim.Config{}, Config{})
	body, err := os.ReadFile(filepath.Join("..", "schemas", "testdata", "webhooks", "user_preferences.json"))
	if err != nil {
		t.Fatal(err)
	}
	const number = "118429306451287"
	r.sender.ledger.setOptOut(number, "BR.5502918374650192837", true) // to be lifted by the signup
	if err := r.log.Append(context.Background(), &stream.Record{Topic: schemas.TopicWebhooks, Key: []byte(number), Value: body}); err != nil {
		t.Fatal(err)
	}
	// The webhook's preferences are recorded one after the other.
	want := map[string]bool{"4915550002222": true, "DE.7719203845561029384": true, "BR.5502918374650192837": false}
	got := map[string]bool{}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		for user := range want {
			got[user] = r.sender.ledger.optedOut(number, user)
		}
		if maps.Equal(got, want) {
			return
		}
	}
	t.Fatalf("opted out: %v; want %v (the stop under the phone and the BSUID, the signup lifting the opt-out)", got, want)
}
