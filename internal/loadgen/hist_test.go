package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var all []time.Duration
	for range 100_000 {
		// log-uniform between 50 µs and 5 s
		d := time.Duration(math.Exp(math.Log(50e3) + rng.Float64()*(math.Log(5e9)-math.Log(50e3))))
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := all[int(math.Ceil(q*float64(len(all))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.01 {
			t.Errorf("q%.3f: got %v, exact %v (%.2f%% off)", q, got, exact, rel*100)
		}
	}
	if h.Max() != all[len(all)-1] || h.Min() != all[0] || h.Count() != uint64(len(all)) {
		t.Fatalf("min %v max %v count %d", h.Min(), h.Max(), h.Count())
	}
}

func TestHistogramMergeAndEdges(t *testing.T) {
	var a, b, all Histogram
	if a.Quantile(0.5) != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram is not zero")
	}
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a != all {
		t.Fatal("merged histogram differs from the one that saw everything")
	}
	var h Histogram
	h.Record(-5)
	h.Record(7)
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Quantile(0.5) != 7 || h.Quantile(1) != math.MaxInt64 {
		t.Fatalf("min %v p50 %v p100 %v", h.Min(), h.Quantile(0.5), h.Quantile(1))
	}
	for v := int64(0); v < 1<<20; v += 7 {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucket %d of %d out of range", i, v)
		}
		if mid := bucketMid(i); math.Abs(float64(mid-v)) > float64(v)/128+1 {
			t.Fatalf("value %d: bucket middle %d too far", v, mid)
		}
	}
}
