package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"wasp/internal/logs"
)

// KafkaConfig configures the cluster log. The zero value works apart from
// Brokers.
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// ClientID names wasp's connections in the brokers' logs and quotas.
	// Empty means "wasp".
	ClientID string
	// Topics are the settings a topic is created with when wasp first
	// appends to it or consumes it. A topic that already exists keeps its
	// own settings.
	Topics Topics
	// ReplicationFactor of created topics. Zero means the brokers' default
	// (default.replication.factor).
	ReplicationFactor int16
	// Linger is how long the producer holds a partition's batch for more
	// records before sending it, so that concurrent appends share produce
	// requests (one request, one replication round, for many appends).
	// Every Append waits up to this long more. Zero means 1ms; negative
	// means none, when records share a request only if they arrive while
	// earlier requests are in flight.
	Linger time.Duration
	// Compression of produced batches: "none" (the default, as in Kafka's
	// own producer), "snappy", "lz4", "zstd" or "gzip". With compression,
	// Topics.RetentionBytes counts compressed bytes, as the broker stores
	// them, so a partition keeps more records than the embedded log would.
	Compression string
	// SessionTimeout is how long the group coordinator waits for a
	// consumer's heartbeat before it gives the consumer's partitions to
	// others: after a crash, the others wait this long for them (or 10s,
	// if longer, after a crash while the group rebalanced), and so does a
	// restarted process without InstanceID. Zero means franz-go's
	// defaults, 45s (60s for a rebalance); the brokers allow 6s to 5m
	// unless configured otherwise (group.min/max.session.timeout.ms).
	SessionTimeout time.Duration
	// InstanceID, when set, makes the consumers static members of their
	// groups (Kafka's KIP-345): a process started again with the same id
	// takes back its partitions at once, where a new member waits for the
	// dead one's session to time out (and the group waits for a member
	// killed while it joined). It must be unique to the process among the
	// group's members; wasp keeps one in its data directory. A consumer
	// closed leaves its group, so that its partitions move at once.
	InstanceID string
	// DeliveryTimeout bounds how long a record may wait to be acknowledged
	// once it has been handed to the producer, including records of an
	// Append whose ctx ended first, and how long Close waits for them. Zero
	// means 30s.
	DeliveryTimeout time.Duration
	// Logger receives franz-go's log lines and wasp's rebalance events.
	// Nil means none.
	Logger *slog.Logger
}

// Kafka is the cluster log: Kafka or Redpanda through franz-go.
//
// One client produces for every Append: idempotent, acknowledged by all
// in-sync replicas, each record on the partition partitionFor chooses.
// Concurrent appends are batched into shared produce requests. Append
// copies what it produces, so a caller whose ctx ends may reuse its records
// while the producer still holds the copies.
//
// Each Consumer is a client of its own in a consumer group, without
// autocommit: only Commit stores offsets. Delivery is at least once. When
// the group rebalances, a partition that moves away stops being fetched and
// its new owner resumes at the group's committed offset, so records that
// were fetched but not yet committed are delivered again, to the new owner
// or to this consumer if the partition comes back; a Commit for a partition
// that already moved is still stored. Consumers deduplicate.
type Kafka struct {
	cfg KafkaConfig
	rf  int16
	cl  *kgo.Client
	adm *kadm.Client
	log *slog.Logger

	// space has a slot for every record handed to the producer and not yet
	// acknowledged: Append waits here, within its ctx, rather than in the
	// client, whose own wait would tie the records to that ctx.
	space chan struct{}

	topics sync.Map // topic name → struct{}, topics known to exist

	mu        sync.Mutex // guards consumers and the transition to closed
	closed    atomic.Bool
	consumers map[*kafkaConsumer]struct{}
}

var _ Log = (*Kafka)(nil)

// maxInFlight caps the records handed to the producer and not yet
// acknowledged; an Append beyond it waits for space.
const maxInFlight = 16 << 10

// adminTimeout bounds topic creation when Consume, which has no ctx, needs
// it, and leaving a group on Close.
const adminTimeout = 15 * time.Second

var (
	kafkaRecords     = metrics.NewCounter(`wasp_stream_appended_records_total{log="kafka"}`)
	kafkaBytes       = metrics.NewCounter(`wasp_stream_appended_bytes_total{log="kafka"}`)
	kafkaAppendSecs  = metrics.NewHistogram(`wasp_stream_append_duration_seconds{log="kafka"}`)
	kafkaErrors      = metrics.NewCounter(`wasp_stream_append_errors_total{log="kafka"}`)
	kafkaRevocations = metrics.NewCounter(`wasp_stream_revoked_partitions_total{log="kafka"}`)
	kafkaFetchErrors = metrics.NewCounter(`wasp_stream_fetch_errors_total{log="kafka"}`)
)

// keyPartitioner puts a record on partitionFor(key): Kafka's default
// partitioner for keyed records (murmur2), and partition 0 for records
// without a key, where Kafka would spread them, so that both logs place
// every record alike.
var keyPartitioner = kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
	return func(r *kgo.Record, n int) int { return int(partitionFor(r.Key, int32(n))) }
})

// codecs maps KafkaConfig.Compression to franz-go's codecs.
var codecs = map[string]kgo.CompressionCodec{
	"":       kgo.NoCompression(),
	"none":   kgo.NoCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
	"gzip":   kgo.GzipCompression(),
}

// NewKafka connects to the brokers in cfg and returns the log. It fails if
// no broker answers within ctx.
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("cannot connect to kafka: no brokers")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "wasp"
	}
	cfg.Topics = cfg.Topics.withDefaults()
	switch {
	case cfg.Linger == 0:
		cfg.Linger = time.Millisecond
	case cfg.Linger < 0:
		cfg.Linger = 0
	}
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = 30 * time.Second
	}
	codec, ok := codecs[cfg.Compression]
	if !ok {
		return nil, fmt.Errorf("cannot connect to kafka: unknown compression %q", cfg.Compression)
	}
	k := &Kafka{
		cfg:       cfg,
		rf:        cfg.ReplicationFactor,
		log:       cfg.Logger,
		space:     make(chan struct{}, maxInFlight),
		consumers: map[*kafkaConsumer]struct{}{},
	}
	if k.rf <= 0 {
		k.rf = -1
	}
	cl, err := kgo.NewClient(append(k.clientOpts(),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent writes are the default and need all acks
		kgo.RecordPartitioner(keyPartitioner),
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchCompression(codec),
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		kgo.MaxBufferedRecords(2*maxInFlight), // space is the limit; the client never blocks
	)...)
	if err != nil {
		return nil, fmt.Errorf("cannot create the kafka client: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("cannot reach kafka at %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	k.cl = cl
	k.adm = kadm.NewClient(cl)
	return k, nil
}

// clientOpts are the options the producer and every consumer share.
func (k *Kafka) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.cfg.Brokers...),
		kgo.ClientID(k.cfg.ClientID),
		// Look for a moved or restarted broker every second rather than
		// every 5s, so appends resume soon after a broker comes back.
		kgo.MetadataMinAge(time.Second),
	}
	if k.log != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{k.log}))
	}
	return opts
}

// Append implements Log. It creates the topics it has not seen yet.
//
// Append returns when every record is acknowledged or ctx ends. Records it
// handed to the producer before ctx ended may still be written afterwards
// (within DeliveryTimeout): they are copies, so the caller may reuse recs
// as soon as Append returns.
func (k *Kafka) Append(ctx context.Context, recs ...*Record) error {
	if k.closed.Load() {
		return ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	start := time.Now()
	err := k.append(ctx, recs)
	if err != nil {
		kafkaErrors.Inc()
		return err
	}
	kafkaAppendSecs.UpdateDuration(start)
	return nil
}

func (k *Kafka) append(ctx context.Context, recs []*Record) error {
	for i, r := range recs {
		if i == 0 || r.Topic != recs[i-1].Topic {
			if err := k.ensureTopic(ctx, r.Topic); err != nil {
				return err
			}
		}
	}
	a := newAppendCall(k, recs)
	for i := range a.krs {
		select {
		case k.space <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("cannot append to %s: %w", recs[i].Topic, ctx.Err())
		}
		// Not ctx: the client fails every record batched behind one whose
		// ctx ended, and those may be other callers' records.
		k.cl.Produce(context.Background(), &a.krs[i], a.promise)
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		select {
		case <-a.done:
		default:
			return fmt.Errorf("cannot append to %s: %w", recs[0].Topic, ctx.Err())
		}
	}
	if a.err != nil {
		return fmt.Errorf("cannot append %d of %d records to %s: %w", a.failed, len(recs), a.errTopic, a.err)
	}
	var size int
	for i, r := range recs {
		kr := &a.krs[i]
		r.Partition, r.Offset = kr.Partition, kr.Offset
		if r.Time.IsZero() {
			r.Time = kr.Timestamp
		}
		size += len(r.Key) + len(r.Value)
	}
	kafkaRecords.Add(len(recs))
	kafkaBytes.Add(size)
	return nil
}

// appendCall is one Append in flight. Its records are copies of the
// caller's, so that nothing of the caller's stays with the producer if
// Append returns before every record is acknowledged.
type appendCall struct {
	k    *Kafka
	krs  []kgo.Record
	done chan struct{} // closed when every record is acknowledged or failed

	mu       sync.Mutex
	pending  int
	failed   int
	err      error // the first failure
	errTopic string
}

func newAppendCall(k *Kafka, recs []*Record) *appendCall {
	size, nh := 0, 0
	for _, r := range recs {
		size += len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			size += len(h.Value)
		}
		nh += len(r.Headers)
	}
	buf := make([]byte, 0, size) // every key, value and header value, copied once
	clone := func(b []byte) []byte {
		if b == nil {
			return nil // a nil value is a tombstone, an empty one is not
		}
		buf = append(buf, b...)
		return buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	var hs []kgo.RecordHeader
	if nh > 0 {
		hs = make([]kgo.RecordHeader, 0, nh)
	}
	a := &appendCall{
		k:       k,
		krs:     make([]kgo.Record, len(recs)),
		done:    make(chan struct{}),
		pending: len(recs),
	}
	for i, r := range recs {
		kr := &a.krs[i]
		kr.Topic = r.Topic
		kr.Key = clone(r.Key)
		kr.Value = clone(r.Value)
		kr.Timestamp = r.Time
		if len(r.Headers) > 0 {
			first := len(hs)
			for _, h := range r.Headers {
				hs = append(hs, kgo.RecordHeader{Key: h.Key, Value: clone(h.Value)})
			}
			kr.Headers = hs[first:len(hs):len(hs)]
		}
	}
	return a
}

// promise is called by the producer once for every record.
func (a *appendCall) promise(r *kgo.Record, err error) {
	<-a.k.space
	a.mu.Lock()
	if err != nil {
		if a.err == nil {
			if errors.Is(err, kgo.ErrClientClosed) {
				err = ErrClosed
			}
			a.err, a.errTopic = err, r.Topic
		}
		a.failed++
	}
	a.pending--
	last := a.pending == 0
	a.mu.Unlock()
	if last {
		close(a.done)
	}
}

// ensureTopic creates topic with the configured settings unless it is known
// to exist.
func (k *Kafka) ensureTopic(ctx context.Context, topic string) error {
	if _, ok := k.topics.Load(topic); ok {
		return nil
	}
	t := k.cfg.Topics
	configs := map[string]*string{
		"retention.ms":    kadm.StringPtr(strconv.FormatInt(t.RetentionAge.Milliseconds(), 10)),
		"retention.bytes": kadm.StringPtr(strconv.FormatInt(t.RetentionBytes, 10)),
	}
	_, err := k.adm.CreateTopic(ctx, t.Partitions, k.rf, configs, topic)
	switch {
	case err == nil:
		if k.log != nil {
			k.log.Info("created kafka topic", "topic", topic, "partitions", t.Partitions,
				"retention", t.RetentionAge, "retention_bytes", t.RetentionBytes)
		}
	case errors.Is(err, kerr.TopicAlreadyExists):
	case errors.Is(err, kgo.ErrClientClosed):
		return ErrClosed
	default:
		return fmt.Errorf("cannot create topic %s: %w", topic, err)
	}
	k.topics.Store(topic, struct{}{})
	return nil
}

// Consume implements Log. It creates the topics it has not seen yet and
// joins the group, which happens in the background: the first Fetch waits
// for the partitions the group assigns. Without a group the client
// fetches every partition itself.
func (k *Kafka) Consume(group string, topics ...string) (Consumer, error) {
	if len(topics) == 0 {
		return nil, errors.New("cannot consume: no topic")
	}
	if k.closed.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	for _, topic := range topics {
		if err := k.ensureTopic(ctx, topic); err != nil {
			return nil, err
		}
	}
	c := &kafkaConsumer{group: group, log: k.log, k: k, warned: logs.Throttle{Every: time.Minute}}
	opts := append(k.clientOpts(),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if group != "" {
		opts = append(opts,
			kgo.ConsumerGroup(group),
			kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(c.assigned),
			kgo.OnPartitionsRevoked(c.revoked),
			kgo.OnPartitionsLost(c.lost),
		)
	}
	if id := k.cfg.InstanceID; id != "" && group != "" {
		opts = append(opts, kgo.InstanceID(id))
	}
	if st := k.cfg.SessionTimeout; st > 0 && group != "" {
		// Heartbeats at most a third of the session apart, as Kafka
		// advises. A rebalance waits for every member to join again, up to
		// the rebalance timeout (60s by default), however short the
		// session: a process killed while it joined would hold its groups
		// that long. Members here join again at once (nothing blocks in
		// the revoke callback), so the session's length, or 10s, is
		// plenty.
		opts = append(opts, kgo.SessionTimeout(st), kgo.HeartbeatInterval(min(3*time.Second, st/3)),
			kgo.RebalanceTimeout(max(st, 10*time.Second)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot consume %s as group %q: %w", strings.Join(topics, ","), group, err)
	}
	c.cl = cl
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed.Load() {
		cl.Close()
		return nil, ErrClosed
	}
	k.consumers[c] = struct{}{}
	return c, nil
}

// Bounds implements Log with the partitions' start and end offsets.
func (k *Kafka) Bounds(ctx context.Context, topic string) ([]Bound, error) {
	if k.closed.Load() {
		return nil, ErrClosed
	}
	starts, err := k.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("cannot read the bounds of %s: %w", topic, err)
	}
	ends, err := k.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("cannot read the bounds of %s: %w", topic, err)
	}
	var out []Bound
	var failed error
	ends.Each(func(end kadm.ListedOffset) {
		start, _ := starts.Lookup(topic, end.Partition)
		switch {
		case errors.Is(end.Err, kerr.UnknownTopicOrPartition):
			// never written: no bounds
		case end.Err != nil || start.Err != nil:
			failed = cmp.Or(failed, end.Err, start.Err)
		default:
			out = append(out, Bound{Partition: end.Partition, Start: start.Offset, End: end.Offset})
		}
	})
	if failed != nil {
		return nil, fmt.Errorf("cannot read the bounds of %s: %w", topic, failed)
	}
	slices.SortFunc(out, func(a, b Bound) int { return cmp.Compare(a.Partition, b.Partition) })
	return out, nil
}

// Ping reports whether a broker answers.
func (k *Kafka) Ping(ctx context.Context) error {
	if k.closed.Load() {
		return ErrClosed
	}
	if err := k.cl.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach kafka: %w", err)
	}
	return nil
}

// Close implements Log: it closes the consumers (leaving their groups),
// waits up to DeliveryTimeout for the records handed to the producer, then
// closes the client; records still unacknowledged then fail with ErrClosed.
// Closing again does nothing.
func (k *Kafka) Close() error {
	k.mu.Lock()
	if k.closed.Swap(true) {
		k.mu.Unlock()
		return nil
	}
	cs := make([]*kafkaConsumer, 0, len(k.consumers))
	for c := range k.consumers {
		cs = append(cs, c)
	}
	k.mu.Unlock()

	var errs []error
	for _, c := range cs {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.DeliveryTimeout)
	defer cancel()
	if err := k.cl.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("cannot flush appended records: %w", err))
	}
	k.cl.Close()
	return errors.Join(errs...)
}

// kafkaConsumer is one group member with a client of its own.
type kafkaConsumer struct {
	k      *Kafka
	cl     *kgo.Client
	group  string
	log    *slog.Logger
	warned logs.Throttle // transient fetch errors, logged once a minute
	closed atomic.Bool
}

// Fetch implements Consumer. The records' keys, values and headers are not
// shared with the client.
func (c *kafkaConsumer) Fetch(ctx context.Context, max int) ([]*Record, error) {
	if max <= 0 {
		max = 1
	}
	for {
		if c.closed.Load() {
			return nil, ErrClosed
		}
		fs := c.cl.PollRecords(ctx, max)
		if fs.IsClientClosed() {
			return nil, ErrClosed
		}
		if n := fs.NumRecords(); n > 0 {
			if c.log != nil {
				fs.EachError(func(topic string, p int32, err error) {
					c.log.Warn("kafka fetch error", "group", c.group, "topic", topic, "partition", p, "err", err)
				})
			}
			return toRecords(fs, n), nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var failed, passing error
		fs.EachError(func(topic string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.As(err, &loss):
				// The broker lost records (an unclean leader election, or
				// a leader that came back with less): the client already
				// resumed at the new end. Consumers deduplicate what comes
				// again; nothing to stop for.
				if c.log != nil {
					c.log.Warn("kafka reports lost records; consuming on from where the broker resumed",
						"group", c.group, "topic", topic, "partition", p, "err", err)
				}
			case transient(err):
				passing = err
			case failed == nil:
				failed = err
			}
		})
		if failed != nil {
			return nil, fmt.Errorf("cannot fetch for group %q: %w", c.group, failed)
		}
		if passing != nil {
			// The client joins its group again and retries its requests
			// by itself: wait, then poll again.
			kafkaFetchErrors.Inc()
			if c.log != nil && c.warned.Allow() {
				c.log.Warn("kafka consumer cannot fetch for now; retrying", "group", c.group, "err", passing)
			}
			t := time.NewTimer(fetchRetryDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		// An empty poll without an error, as around a rebalance, or one
		// that only reported lost records or an error that passes: poll
		// again.
	}
}

// fetchRetryDelay is the wait before polling again after an error that
// passes by itself.
const fetchRetryDelay = 500 * time.Millisecond

// transient reports whether a fetch error passes by itself: the group's
// session was lost or could not be joined (a broker restarting, a request
// that timed out during a rebalance), which the client mends on its own,
// or a retriable broker or network error.
func transient(err error) bool {
	var session *kgo.ErrGroupSession
	var netErr net.Error
	return errors.As(err, &session) || kerr.IsRetriable(err) || errors.As(err, &netErr) || errors.Is(err, io.EOF)
}

// toRecords converts the n records of fs. Keys and values are the client's
// freshly decoded buffers, which it does not reuse; headers are copied.
func toRecords(fs kgo.Fetches, n int) []*Record {
	nh := 0
	fs.EachRecord(func(r *kgo.Record) { nh += len(r.Headers) })
	recs := make([]*Record, 0, n)
	slab := make([]Record, n)
	var hs []Header
	if nh > 0 {
		hs = make([]Header, 0, nh)
	}
	fs.EachRecord(func(kr *kgo.Record) {
		r := &slab[len(recs)]
		*r = Record{Topic: kr.Topic, Key: kr.Key, Value: kr.Value, Time: kr.Timestamp,
			Partition: kr.Partition, Offset: kr.Offset}
		if len(kr.Headers) > 0 {
			first := len(hs)
			for _, h := range kr.Headers {
				hs = append(hs, Header{Key: h.Key, Value: h.Value})
			}
			r.Headers = hs[first:len(hs):len(hs)]
		}
		recs = append(recs, r)
	})
	return recs
}

// Commit implements Consumer: it stores exactly the given offsets (the last
// one wins for a partition given twice) and waits for the coordinator's
// answer.
func (c *kafkaConsumer) Commit(ctx context.Context, offsets ...Offset) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.group == "" {
		return ErrNoGroup
	}
	if len(offsets) == 0 {
		return nil
	}
	m := make(map[string]map[int32]kgo.EpochOffset)
	for _, o := range offsets {
		ps := m[o.Topic]
		if ps == nil {
			ps = make(map[int32]kgo.EpochOffset)
			m[o.Topic] = ps
		}
		ps[o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Next}
	}
	var err error
	c.cl.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, reqErr error) {
		if reqErr != nil {
			err = reqErr
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && err == nil {
					err = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, perr)
				}
			}
		}
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kgo.ErrClientClosed):
		return ErrClosed
	default:
		return fmt.Errorf("cannot commit offsets of group %q: %w", c.group, err)
	}
}

// Close implements Consumer: it leaves the group, waiting up to
// adminTimeout, so that the partitions move to the other members at once.
// Closing again does nothing.
func (c *kafkaConsumer) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.k.mu.Lock()
	delete(c.k.consumers, c)
	c.k.mu.Unlock()
	if c.group == "" {
		c.cl.Close()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	err := c.cl.LeaveGroupContext(ctx)
	c.cl.Close()
	if id := c.k.cfg.InstanceID; id != "" && (err == nil || errors.Is(err, kgo.ErrClientClosed)) {
		// A static member's client does not leave by itself; the log's
		// own client says it has, once this one can no longer join again.
		var resps kadm.LeaveGroupResponses
		if resps, err = c.k.adm.LeaveGroup(ctx, kadm.LeaveGroup(c.group).InstanceIDs(id).Reason("consumer closed")); err == nil {
			if err = resps.Error(); errors.Is(err, kerr.UnknownMemberID) {
				err = nil // it never joined, or a rebalance already dropped it
			}
		}
	}
	if err != nil && !errors.Is(err, kgo.ErrClientClosed) {
		return fmt.Errorf("cannot leave group %q: %w", c.group, err)
	}
	return nil
}

func (c *kafkaConsumer) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if c.log != nil {
		c.log.Info("kafka partitions assigned", "group", c.group, "partitions", m)
	}
}

func (c *kafkaConsumer) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	n := 0
	for _, ps := range m {
		n += len(ps)
	}
	if n == 0 {
		return // called at the end of every group session
	}
	kafkaRevocations.Add(n)
	if c.log != nil {
		c.log.Info("kafka partitions revoked", "group", c.group, "partitions", m)
	}
}

func (c *kafkaConsumer) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	n := 0
	for _, ps := range m {
		n += len(ps)
	}
	kafkaRevocations.Add(n)
	if c.log != nil && n > 0 {
		c.log.Warn("kafka partitions lost", "group", c.group, "partitions", m)
	}
}

// kgoLogger passes franz-go's log lines to slog at the same level.
type kgoLogger struct{ l *slog.Logger }

func (g kgoLogger) Level() kgo.LogLevel {
	ctx := context.Background()
	switch {
	case g.l.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelDebug
	case g.l.Enabled(ctx, slog.LevelInfo):
		return kgo.LogLevelInfo
	case g.l.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	case g.l.Enabled(ctx, slog.LevelError):
		return kgo.LogLevelError
	}
	return kgo.LogLevelNone
}

func (g kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelInfo
	}
	g.l.Log(context.Background(), l, "kafka: "+msg, keyvals...)
}
