// Package stream is wasp's log: named topics split into partitions, records
// appended with a durable acknowledgement and consumed from a committed
// offset. Two implementations share one interface and one conformance suite:
// Badger on local disk (the embedded default) and Kafka or Redpanda through
// franz-go (cluster mode).
package stream

import (
	"bytes"
	"context"
	"time"
)

// Log is a partitioned, durable log.
type Log interface {
	// Append writes recs and returns once every one of them is durable:
	// fsynced to local disk (embedded) or acknowledged by all in-sync
	// replicas (Kafka). Each record's partition is chosen from its key, so
	// records with the same key keep their order. On success Append sets
	// Partition, Offset and, when zero, Time on each record.
	//
	// On error, including ctx ending first, some records may have been
	// written or may still be; callers retry and consumers deduplicate. The
	// caller must not modify recs until Append returns; Append does not
	// retain them afterwards.
	Append(ctx context.Context, recs ...*Record) error

	// Consume starts a consumer of topics in group. Each partition resumes
	// after the group's committed offset, or at the oldest retained record
	// when the group has none. With no group ("") the consumer reads every
	// partition from its oldest retained record by itself: it shares no
	// partition with other consumers and cannot commit.
	Consume(group string, topics ...string) (Consumer, error)

	// Bounds returns, for each partition of topic, the offset of its
	// oldest retained record (Start) and the end of what consumers can
	// read now (End): a consumer from Start reads the records below End,
	// with gaps where writes failed. A topic that does not exist has no
	// bounds.
	Bounds(ctx context.Context, topic string) ([]Bound, error)

	// Close flushes what was appended and releases the log. Appends and
	// fetches after Close fail with ErrClosed.
	Close() error
}

// Bound is where a partition starts and ends (Log.Bounds).
type Bound struct {
	Partition  int32
	Start, End int64
}

// Consumer reads records of one group.
type Consumer interface {
	// Fetch returns up to max records, blocking until at least one is
	// available or ctx ends. Records of one partition come in offset order;
	// successive calls continue where the previous one stopped, whatever was
	// committed. The returned records are owned by the caller.
	Fetch(ctx context.Context, max int) ([]*Record, error)

	// Commit stores, for each offset, that every record of that partition
	// before Next is done, so that a restarted consumer of the group resumes
	// at Next.
	Commit(ctx context.Context, offsets ...Offset) error

	// Close stops the consumer; what was not committed is read again by the
	// group's next consumer.
	Close() error
}

// Record is one entry of a topic partition.
type Record struct {
	Topic     string
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	Partition int32
	Offset    int64
}

// Detach returns a copy of r whose bytes are its own. The key, value and
// headers of a fetched record may share a buffer with the other records
// of its fetch (the embedded log reads neighbouring frames at once, and
// franz-go decodes a fetch in place): a consumer that keeps a record long
// after the fetch detaches it, so as not to keep the whole buffer alive.
func (r *Record) Detach() *Record {
	c := *r
	c.Key, c.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
	if r.Headers != nil {
		c.Headers = make([]Header, len(r.Headers))
		for i, h := range r.Headers {
			c.Headers[i] = Header{Key: h.Key, Value: bytes.Clone(h.Value)}
		}
	}
	return &c
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Header returns the value of the first header named key, or nil.
func (r *Record) Header(key string) []byte {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// Offset names the next record to read in a topic partition.
type Offset struct {
	Topic     string
	Partition int32
	Next      int64
}

// NextOffset is the offset to commit once r is done.
func (r *Record) NextOffset() Offset {
	return Offset{Topic: r.Topic, Partition: r.Partition, Next: r.Offset + 1}
}

// Topics holds the settings every topic is created with.
type Topics struct {
	// Partitions per topic. Zero means 8.
	Partitions int32
	// RetentionAge drops records older than this. Zero means 7 days, as
	// long as Meta retries a webhook.
	RetentionAge time.Duration
	// RetentionBytes caps each partition; the oldest records go first.
	// Zero means 4 GiB. Kafka counts the bytes as stored, compressed when
	// the producer compresses.
	RetentionBytes int64
}

func (t Topics) withDefaults() Topics {
	if t.Partitions <= 0 {
		t.Partitions = 8
	}
	if t.RetentionAge <= 0 {
		t.RetentionAge = 7 * 24 * time.Hour
	}
	if t.RetentionBytes <= 0 {
		t.RetentionBytes = 4 << 30
	}
	return t
}

// partitionFor maps a key to a partition with Kafka's murmur2 hash, so that
// both implementations place a key on the same partition. A nil key goes to
// partition 0.
func partitionFor(key []byte, partitions int32) int32 {
	if len(key) == 0 {
		return 0
	}
	return int32(murmur2(key)&0x7fffffff) % partitions
}

// murmur2 is the hash of Kafka's default partitioner.
func murmur2(b []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := uint32(seed) ^ uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		k := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
