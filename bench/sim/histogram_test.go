package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	prevHi := int64(0)
	for b := range histBuckets {
		lo, hi := histBounds(b)
		if lo != prevHi || hi <= lo {
			t.Fatalf("bucket %d is [%d, %d); want it to start at %d", b, lo, hi, prevHi)
		}
		prevHi = hi
	}
	f := func(v int64) {
		t.Helper()
		b := histBucket(v)
		if lo, hi := histBounds(b); v < lo || v >= hi {
			t.Errorf("%d went to bucket %d, [%d, %d)", v, b, lo, hi)
		}
	}
	for _, v := range []int64{0, 1, 31, 32, 33, 47, 48, 1000, 1 << 40, math.MaxInt64 - 1} {
		f(v)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if s := h.Snapshot(); s.Count() != 0 || s.Quantile(0.99) != 0 || s.Mean() != 0 {
		t.Fatalf("empty histogram: %d values, p99 %v", s.Count(), s.Quantile(0.99))
	}
	var vals []time.Duration
	for range 100_000 {
		d := time.Duration(rand.ExpFloat64() * float64(20*time.Millisecond))
		vals = append(vals, d)
		h.Record(d)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	s := h.Snapshot()
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		if got := s.Quantile(q); math.Abs(float64(got-want)) > float64(want)/30 {
			t.Errorf("p%v = %v; want %v within 1/32", q*100, got, want)
		}
	}
	if s.Count() != 100_000 || s.Max() != vals[len(vals)-1] || s.Quantile(1) != s.Max() {
		t.Errorf("count %d, max %v, p100 %v; want 100000 and %v", s.Count(), s.Max(), s.Quantile(1), vals[len(vals)-1])
	}

	// A window: what was recorded after a snapshot.
	for range 100 {
		h.Record(time.Second)
	}
	w := h.Snapshot().Sub(s)
	if w.Count() != 100 || w.Quantile(0.5) < 970*time.Millisecond || w.Quantile(0.5) > time.Second || w.Mean() != time.Second {
		t.Errorf("window: %d values, p50 %v, mean %v; want 100 around 1s", w.Count(), w.Quantile(0.5), w.Mean())
	}
}

func TestHistogramRecordAllocatesNothing(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(3 * time.Millisecond) }); n != 0 {
		t.Errorf("Record allocates %v times; want 0", n)
	}
}
