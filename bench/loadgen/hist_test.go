package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Buckets are contiguous and each value's bucket middle is within
	// 1/64 of it.
	prev := -1
	for v := uint64(0); v < 1<<20; v += 1 + v/1000 {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d: not monotonic", v, b, prev)
		}
		prev = b
		mid := float64(bucketMid(b))
		if d := mid - float64(v); d > float64(v)/64+1 || -d > float64(v)/64+1 {
			t.Fatalf("value %d in bucket %d with middle %v", v, b, mid)
		}
	}
	if b := bucketOf(1<<63 + 12345); b >= len(histogram{}.counts) {
		t.Fatalf("largest value's bucket %d is out of range", b)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h, a, b histogram
	var all []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 100_000 {
		d := time.Duration(r.ExpFloat64() * float64(2*time.Millisecond))
		all = append(all, d)
		h.record(d)
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	a.merge(&b)
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := float64(all[int(q*float64(len(all)))-1])
		for name, hh := range map[string]*histogram{"one": &h, "merged": &a} {
			got := float64(hh.quantile(q))
			if got < exact*0.98 || got > exact*1.02 {
				t.Errorf("%s: p%v = %v, exact %v", name, q*100, time.Duration(got), time.Duration(exact))
			}
		}
	}
	if h.max != all[len(all)-1] || a.max != h.max || h.quantile(1) != h.max {
		t.Errorf("max %v, merged %v, p100 %v; want %v", h.max, a.max, h.quantile(1), all[len(all)-1])
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
}
