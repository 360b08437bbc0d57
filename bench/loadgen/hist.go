package loadgen

import (
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets: exact below 128 ns and
// within 1/64 (about 1.6%) above, in a fixed 32 KiB whatever the run length,
// so a long run at a high rate cannot grow the generator's memory.
type histogram struct {
	counts [64 << (subBits - 1)]uint64
	n      uint64
	max    time.Duration
}

// subBits sets the resolution: each power of two splits into 2^(subBits-1)
// buckets.
const subBits = 7

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits
	return e<<(subBits-1) + int(v>>e)
}

// bucketMid is the middle of bucket i, the value quantiles report.
func bucketMid(i int) time.Duration {
	if i < 1<<subBits {
		return time.Duration(i)
	}
	e := i>>(subBits-1) - 1
	lo := uint64(i-e<<(subBits-1)) << e
	return time.Duration(lo + (uint64(1)<<e)/2)
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the latency below which a fraction q of the recorded
// ones fall (never above the largest recorded).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank >= h.n {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketMid(i), h.max)
		}
	}
	return h.max
}
