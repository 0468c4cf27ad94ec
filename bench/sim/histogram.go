package sim

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts durations in log-linear buckets, 16 per power of two
// (HDR-style): a quantile read back is within 1/32 of the true value.
// Recording is two atomic adds and no allocation; the zero value is ready
// and safe for concurrent use.
type Histogram struct {
	counts [histBuckets]atomic.Int64
	sum    atomic.Int64
	max    atomic.Int64
}

// histSub is the number of sub-buckets per power of two, as a shift.
const (
	histSub     = 4
	histBuckets = (64 - histSub) << histSub
)

// histBucket is the bucket of v ≥ 0 nanoseconds: v itself below 32, else
// the power of two and the next four bits.
func histBucket(v int64) int {
	if v < 2<<histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - histSub - 1
	return e<<histSub + int(v>>e)
}

// histBounds is the range [lo, hi) of bucket b; the last one ends at
// MaxInt64.
func histBounds(b int) (lo, hi int64) {
	if b < 2<<histSub {
		return int64(b), int64(b) + 1
	}
	e := b>>histSub - 1
	m := int64(b&(1<<histSub-1) | 1<<histSub)
	if hi = (m + 1) << e; hi < 0 {
		hi = math.MaxInt64
	}
	return m << e, hi
}

// Record counts one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histBucket(v)].Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Snapshot returns the counts so far. Records made while it is taken may
// or may not be in it.
func (h *Histogram) Snapshot() HistogramSnapshot {
	var s HistogramSnapshot
	s.counts = make([]int64, histBuckets)
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
		s.n += s.counts[i]
	}
	s.sum, s.max = h.sum.Load(), h.max.Load()
	return s
}

func (h *Histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.sum.Store(0)
	h.max.Store(0)
}

// HistogramSnapshot is a Histogram's counts at one moment. The zero value
// is empty.
type HistogramSnapshot struct {
	counts   []int64
	n        int64
	sum, max int64
}

// Count is the number of durations recorded.
func (s HistogramSnapshot) Count() int64 { return s.n }

// Max is the longest duration recorded.
func (s HistogramSnapshot) Max() time.Duration { return time.Duration(s.max) }

// Mean is the average duration, zero when empty.
func (s HistogramSnapshot) Mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return time.Duration(s.sum / s.n)
}

// Quantile returns the duration below which a share q of the recorded
// ones fall (the middle of its bucket, capped by Max; Max for the last
// one); zero when empty.
func (s HistogramSnapshot) Quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := max(int64(q*float64(s.n)+0.5), 1)
	if rank >= s.n {
		return time.Duration(s.max)
	}
	var seen int64
	for b, c := range s.counts {
		if seen += c; seen >= rank {
			lo, hi := histBounds(b)
			return time.Duration(min(lo+(hi-lo)/2, s.max))
		}
	}
	return time.Duration(s.max)
}

// Sub returns the durations recorded after prev, a snapshot of the same
// histogram taken earlier. Its Max is the upper bound of the highest
// bucket that grew (capped by the histogram's Max).
func (s HistogramSnapshot) Sub(prev HistogramSnapshot) HistogramSnapshot {
	d := HistogramSnapshot{counts: make([]int64, len(s.counts)), sum: s.sum - prev.sum}
	for b := range s.counts {
		d.counts[b] = s.counts[b]
		if b < len(prev.counts) {
			d.counts[b] -= prev.counts[b]
		}
		if d.counts[b] > 0 {
			d.n += d.counts[b]
			_, hi := histBounds(b)
			d.max = min(hi-1, s.max)
		}
	}
	return d
}
