package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaBackend runs a one-broker kfake cluster that keeps its data in a
// temporary directory, so that it can be stopped and started again on the
// same data and port.
type kafkaBackend struct {
	dir     string
	port    int
	cluster *kfake.Cluster
}

func newKafkaBackend(t *testing.T) backend {
	b := &kafkaBackend{dir: t.TempDir()}
	b.start(t)
	t.Cleanup(func() { b.cluster.Close() })
	return b
}

func (b *kafkaBackend) start(t testing.TB) {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(b.dir), kfake.SyncWrites()}
	if b.port != 0 {
		opts = append(opts, kfake.Ports(b.port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("cannot start kfake: %v", err)
	}
	b.cluster = c
	if b.port == 0 {
		_, port, err := net.SplitHostPort(c.ListenAddrs()[0])
		if err != nil {
			t.Fatalf("kfake address: %v", err)
		}
		b.port, _ = strconv.Atoi(port)
	}
}

func (b *kafkaBackend) open(t *testing.T, topics Topics) Log {
	t.Helper()
	// Static membership, as wasp runs it.
	return b.openConfig(t, KafkaConfig{Topics: topics, InstanceID: "wasp-conformance"})
}

func (b *kafkaBackend) openConfig(t testing.TB, cfg KafkaConfig) *Kafka {
	t.Helper()
	cfg.Brokers = b.cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatalf("cannot open: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func (b *kafkaBackend) restart(t *testing.T) {
	b.cluster.Close()
	b.start(t)
}

func (b *kafkaBackend) applyRetention(_ *testing.T, _ Log) { b.cluster.ApplyRetention() }

// TestKafkaPartitioner checks that records land where Kafka's own
// partitioner would put them, so that wasp and any other Kafka client
// agree on which partition holds a phone number's conversation.
func TestKafkaPartitioner(t *testing.T) {
	// murmur2 values from Kafka's UtilsTest.testMurmur2.
	for in, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(murmur2([]byte(in))); got != want {
			t.Errorf("murmur2(%q) = %d; want %d", in, got, want)
		}
	}

	b := newKafkaBackend(t).(*kafkaBackend)
	const parts = 12
	l := b.open(t, Topics{Partitions: parts})
	kafka := kgo.StickyKeyPartitioner(nil).ForTopic(testTopic)
	var recs []*Record
	for i := range 200 {
		phoneNumberID := strconv.Itoa(106540352242922 + i*7919)
		recs = append(recs, rec(testTopic, phoneNumberID, "v"))
	}
	if err := l.Append(ctxT(t), recs...); err != nil {
		t.Fatalf("append: %v", err)
	}
	seen := map[int32]bool{}
	for _, r := range recs {
		want := int32(kafka.Partition(&kgo.Record{Key: r.Key}, parts))
		if r.Partition != want {
			t.Fatalf("key %s on partition %d; Kafka's partitioner chooses %d", r.Key, r.Partition, want)
		}
		seen[r.Partition] = true
	}
	if len(seen) != parts {
		t.Fatalf("200 keys used %d of %d partitions", len(seen), parts)
	}
	noKey := &Record{Topic: testTopic, Value: []byte("no key")}
	if err := l.Append(ctxT(t), noKey); err != nil {
		t.Fatalf("append: %v", err)
	}
	if noKey.Partition != 0 {
		t.Fatalf("record without key on partition %d; want 0 as partitionFor", noKey.Partition)
	}
}

// TestKafkaBrokerDown checks that Append gives up when its ctx ends while
// the broker is away, and works again once the broker is back.
func TestKafkaBrokerDown(t *testing.T) {
	b := newKafkaBackend(t).(*kafkaBackend)
	l := b.openConfig(t, KafkaConfig{Topics: Topics{Partitions: 2}, DeliveryTimeout: 5 * time.Second})
	if err := l.Append(ctxT(t), rec(testTopic, "k", "before")); err != nil {
		t.Fatalf("append: %v", err)
	}
	b.cluster.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := rec(testTopic, "k", "while down")
	err := l.Append(ctx, r)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append with the broker down: got %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("append with the broker down returned after %v; want about its 500ms ctx", d)
	}
	r.Value[0] = 'X' // the caller owns recs again

	b.start(t)
	if err := l.Append(ctxT(t), rec(testTopic, "k", "after")); err != nil {
		t.Fatalf("append after the broker came back: %v", err)
	}
	// The record of the failed Append may have been written after all, but
	// as it was handed over, not as the caller changed it later.
	for _, got := range readN(t, mustConsume(t, l, "g", testTopic), 2) {
		if v := string(got.Value); v != "before" && v != "after" && v != "while down" {
			t.Fatalf("read %q", v)
		}
	}
}

// TestKafkaClose checks what a closed log and a closed consumer answer.
func TestKafkaClose(t *testing.T) {
	b := newKafkaBackend(t).(*kafkaBackend)
	l := b.openConfig(t, KafkaConfig{})
	c := mustConsume(t, l, "g", testTopic)
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := c.Fetch(ctxT(t), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("fetch after the log closed: got %v; want ErrClosed", err)
	}
	if err := c.Commit(ctxT(t), Offset{Topic: testTopic, Next: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after the log closed: got %v; want ErrClosed", err)
	}
	if _, err := l.Consume("g", testTopic); !errors.Is(err, ErrClosed) {
		t.Fatalf("consume after close: got %v; want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second consumer close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestKafkaRebalance checks at-least-once delivery when partitions move:
// a second member takes over partitions at the group's committed offsets,
// and what the first member fetched without committing is read again.
func TestKafkaRebalance(t *testing.T) {
	b := newKafkaBackend(t).(*kafkaBackend)
	l := b.open(t, Topics{Partitions: 4})
	const n = 200
	for i := range n {
		if err := l.Append(ctxT(t), rec(testTopic, fmt.Sprint(i%20), fmt.Sprint(i))); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	c1, err := l.Consume("g", testTopic)
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	first := readN(t, c1, n)
	// c1 commits half of each partition, then leaves.
	half := map[int32]Offset{}
	count := map[int32]int{}
	for _, r := range first {
		count[r.Partition]++
	}
	seen := map[int32]int{}
	for _, r := range first {
		if seen[r.Partition]++; seen[r.Partition] == count[r.Partition]/2 {
			half[r.Partition] = r.NextOffset()
		}
	}
	var commits []Offset
	for _, o := range half {
		commits = append(commits, o)
	}
	if err := c1.Commit(ctxT(t), commits...); err != nil {
		t.Fatalf("commit: %v", err)
	}
	c2 := mustConsume(t, l, "g", testTopic)
	if err := c1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	want := 0
	for p, o := range half {
		want += count[p] - int(o.Next)
	}
	for _, r := range readN(t, c2, want) {
		if r.Offset < half[r.Partition].Next {
			t.Fatalf("partition %d: read offset %d, before the committed %d", r.Partition, r.Offset, half[r.Partition].Next)
		}
	}
	expectNothing(t, c2)
}

// TestKafkaConsumerRidesOutGroupErrors: a consumer whose group cannot be
// joined for a while (here the broker drops its first JoinGroup
// connections, as one restarting or timing out during a rebalance does)
// keeps polling while the client joins again, and gets its records.
func TestKafkaConsumerRidesOutGroupErrors(t *testing.T) {
	b := newKafkaBackend(t).(*kafkaBackend)
	l := b.open(t, Topics{Partitions: 2})
	if err := l.Append(ctxT(t), rec(testTopic, "k", "v")); err != nil {
		t.Fatal(err)
	}
	var dropped atomic.Int32
	b.cluster.ControlKey(int16(kmsg.JoinGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		if dropped.Add(1) > 3 {
			return nil, nil, false
		}
		b.cluster.KeepControl()
		return nil, errors.New("dropped"), true
	})
	before := kafkaFetchErrors.Get()
	c := mustConsume(t, l, "g", testTopic)
	rs := readN(t, c, 1)
	if string(rs[0].Value) != "v" {
		t.Fatalf("read %q, want v", rs[0].Value)
	}
	if dropped.Load() <= 3 {
		t.Fatalf("%d JoinGroup requests seen; the test meant to drop 3", dropped.Load())
	}
	if kafkaFetchErrors.Get() == before {
		t.Fatal("no fetch error counted: the dropped joins never reached the consumer")
	}
}

// TestKafkaStaticMemberTakesBack: a process killed and started again with
// the same InstanceID gets its partitions back at once, not after the
// dead member's session (6s here, the brokers' least) times out; without
// the id it waits.
func TestKafkaStaticMemberTakesBack(t *testing.T) {
	for _, static := range []bool{true, false} {
		t.Run(fmt.Sprintf("static=%v", static), func(t *testing.T) {
			b := newKafkaBackend(t).(*kafkaBackend)
			cfg := KafkaConfig{Topics: Topics{Partitions: 4}, SessionTimeout: 6 * time.Second}
			if static {
				cfg.InstanceID = "wasp-test-instance"
			}
			first := b.openConfig(t, cfg)
			for i := range 8 {
				if err := first.Append(ctxT(t), rec(testTopic, strconv.Itoa(i), "before")); err != nil {
					t.Fatal(err)
				}
			}
			c := mustConsume(t, first, "g", testTopic)
			readN(t, c, 8)
			// Killed: its client stops without a word to the broker (a
			// dynamic member's client leaves the group when closed: the
			// broker loses that request).
			var killing atomic.Bool
			killing.Store(true)
			b.cluster.ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
				if !killing.Load() {
					return nil, nil, false
				}
				b.cluster.KeepControl()
				return nil, errors.New("lost"), true
			})
			kc := c.(*kafkaConsumer)
			kc.closed.Store(true)
			first.mu.Lock()
			delete(first.consumers, kc)
			first.mu.Unlock()
			kc.cl.Close()
			killing.Store(false)
			if static {
				// A static member's client says nothing when it closes;
				// the dead member stays in the group with its partitions.
				if g := describeGroup(t, first, "g"); len(g.Members) != 1 {
					t.Fatalf("group has %d members after the kill, want the dead one", len(g.Members))
				}
			}

			second := b.openConfig(t, cfg)
			start := time.Now()
			c2 := mustConsume(t, second, "g", testTopic)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var got int
			for got < 8 {
				rs, err := c2.Fetch(ctx, 100)
				if err != nil {
					t.Fatalf("fetch after %d records: %v", got, err)
				}
				got += len(rs)
			}
			took := time.Since(start)
			switch {
			case static && took > 2*time.Second:
				t.Fatalf("the restarted static member read its partitions after %v; want at once, not after the 6s session", took)
			case !static && took < 3*time.Second: // its last heartbeat was at most 2s before the kill
				t.Fatalf("a dynamic member read the dead one's partitions after %v, before its 6s session ended: the test shows nothing", took)
			}
			t.Logf("read again after %v", took.Round(time.Millisecond))
		})
	}
}

func describeGroup(t *testing.T, k *Kafka, group string) kadm.DescribedGroup {
	t.Helper()
	gs, err := k.adm.DescribeGroups(ctxT(t), group)
	if err != nil {
		t.Fatal(err)
	}
	return gs[group]
}
