package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets: exact below 128 ns, then 64
// buckets per power of two, so a quantile is off by less than 1% of its value.
// Memory is fixed (~30 KB) however long a run lasts, and histograms of several
// workers (or runs) merge by adding buckets. The zero value is ready to use; it is
// not safe for concurrent use (each worker keeps its own and they are merged).
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      float64 // nanoseconds, for the mean
	min, max int64
}

const (
	subBits     = 6
	subCount    = 1 << subBits             // buckets per power of two
	exactBelow  = 1 << (subBits + 1)       // values below this have their own bucket
	histBuckets = exactBelow + 57*subCount // shifts 1..57 cover every int64
)

func bucketOf(v int64) int {
	if v < exactBelow {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	top := v >> shift // in [subCount, 2*subCount)
	return exactBelow + (shift-1)*subCount + int(top-subCount)
}

// bucketMid is the middle of bucket i's range, the value a quantile reports.
func bucketMid(i int) int64 {
	if i < exactBelow {
		return int64(i)
	}
	shift := (i-exactBelow)/subCount + 1
	top := int64((i-exactBelow)%subCount + subCount)
	lo := top << shift
	return lo + (int64(1)<<shift)/2
}

// Record adds one duration (negative ones count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded duration (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest recorded duration (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the q-quantile (0 < q ≤ 1): the smallest recorded value v such that
// at least q of all values are ≤ v, to within the bucket precision, clamped to [Min, Max].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return time.Duration(h.max) // exact
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketMid(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
