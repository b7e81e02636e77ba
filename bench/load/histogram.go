package load

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values below
// 2^histSubBits nanoseconds get one bucket each, and every further power of
// two is split into histHalf equal buckets, so a bucket is never wider than
// 1/histHalf (0.8 %) of the values it holds.
const (
	histSubBits    = 8
	histSubCount   = 1 << histSubBits // exact buckets for 0..255 ns
	histHalf       = histSubCount / 2 // buckets per power of two above that
	histMaxBits    = 40               // values from 2^40 ns (about 18 min) share the last bucket
	histBuckets    = histSubCount + (histMaxBits-histSubBits)*histHalf
	histMaxTracked = 1<<histMaxBits - 1
)

// Histogram records durations in a fixed amount of memory (about 35 KiB)
// whatever the number of values, with a relative error below 0.8 % for
// values up to about 18 minutes. Its zero value is an empty histogram ready
// to use. A Histogram is not safe for concurrent use; give each goroutine
// its own and [Histogram.Merge] them.
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum      uint64
	min, max time.Duration
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return new(Histogram) }

func bucketIndex(v uint64) int {
	if v < histSubCount {
		return int(v)
	}
	if v > histMaxTracked {
		v = histMaxTracked
	}
	shift := bits.Len64(v) - histSubBits // >= 1
	top := v >> shift                    // in [histHalf, histSubCount)
	return histSubCount + (shift-1)*histHalf + int(top-histHalf)
}

// bucketRange returns the smallest and largest value that land in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < histSubCount {
		return uint64(i), uint64(i)
	}
	k := i - histSubCount
	shift := k/histHalf + 1
	top := uint64(k%histHalf + histHalf)
	return top << shift, (top+1)<<shift - 1
}

// Record adds one value. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += uint64(d)
	h.counts[bucketIndex(uint64(d))]++
}

// Merge adds every value recorded in o to h. A nil o adds nothing.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() int { return int(h.n) }

// Min returns the smallest recorded value, exactly, or 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest recorded value, exactly, or 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the arithmetic mean of the recorded values, or 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the nearest-rank q-quantile (0 ≤ q ≤ 1) of the recorded
// values: the smallest value v such that at least ⌈q·n⌉ of the values are
// ≤ v. The answer is the middle of v's bucket, clamped to the recorded
// minimum and maximum, so it is exact below 256 ns and within 0.8 % above.
// It returns 0 for an empty histogram; q outside [0, 1] is clamped.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	switch {
	case q <= 0 || math.IsNaN(q):
		return h.min
	case q >= 1:
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, hi := bucketRange(i)
		v := time.Duration(lo + (hi-lo)/2)
		return min(max(v, h.min), h.max)
	}
	return h.max // unreachable: the counts add up to n
}
