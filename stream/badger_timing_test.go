package stream

import "testing"

// BenchmarkBadgerAppend measures durable appends of 1.5 KB records, one
// per Append as the ingester makes them, from 8 and 256 concurrent
// appenders: how group commit scales with concurrency.
func BenchmarkBadgerAppend(b *testing.B) {
	for _, appenders := range []int{8, 256} {
		b.Run(map[int]string{8: "appenders=8", 256: "appenders=256"}[appenders], func(b *testing.B) {
			l, err := OpenBadger(BadgerConfig{Dir: b.TempDir(), Topics: Topics{Partitions: 8}})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			syncs := badgerSyncs.Get()
			benchmarkAppend(b, l, appenders, 1500, nil)
			b.ReportMetric(float64(b.N)/float64(max(badgerSyncs.Get()-syncs, 1)), "records/sync")
		})
	}
}
