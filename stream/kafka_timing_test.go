package stream

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkKafkaAppend measures Append throughput of 1.5 KB records, one
// per Append as ingest appends webhooks, from 8 concurrent appenders on 8
// partitions of a one-broker kfake cluster. "durable" is the test backend,
// which fsyncs every batch and so measures mostly the disk; "memory" keeps
// the log in memory and measures the client. records/request shows how
// many appends share a produce request; "linger=none" shows what the
// default 1ms linger buys.
func BenchmarkKafkaAppend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		durable bool
		linger  time.Duration
	}{
		{"durable", true, 0},
		{"durable/linger=none", true, -1},
		{"memory", false, 0},
		{"memory/linger=none", false, -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []kfake.Opt{kfake.NumBrokers(1)}
			if bc.durable {
				opts = append(opts, kfake.DataDir(b.TempDir()), kfake.SyncWrites())
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				b.Fatalf("cannot start kfake: %v", err)
			}
			b.Cleanup(c.Close)
			var requests atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				requests.Add(1)
				return nil, nil, false // only count
			})
			kb := &kafkaBackend{cluster: c}
			l := kb.openConfig(b, KafkaConfig{Topics: Topics{Partitions: 8}, Linger: bc.linger})
			benchmarkAppend(b, l, 8, 1500, &requests)
		})
	}
}

func benchmarkAppend(b *testing.B, l Log, appenders, size int, requests *atomic.Int64) {
	value := make([]byte, size)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	copy(value, `{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"text":"`)
	ctx := context.Background()
	if err := l.Append(ctx, &Record{Topic: testTopic, Key: []byte("warm-up"), Value: value}); err != nil {
		b.Fatalf("append: %v", err)
	}
	if requests != nil {
		requests.Store(0)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Record{Topic: testTopic, Value: value}
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				r.Key = strconv.AppendInt(r.Key[:0], 106540352242922+int64(a)*1000+i%100, 10)
				r.Time = time.Time{}
				if err := l.Append(ctx, r); err != nil {
					b.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if requests != nil {
		b.ReportMetric(float64(b.N)/float64(max(requests.Load(), 1)), "records/request")
	}
}
