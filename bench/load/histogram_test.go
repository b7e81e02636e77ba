package load_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

func mustHistogram(t testing.TB, values ...time.Duration) *load.Histogram {
	t.Helper()
	h := load.NewHistogram()
	for _, v := range values {
		h.Record(v)
	}
	if h.Count() != len(values) {
		t.Fatalf("Count() = %d after %d values", h.Count(), len(values))
	}
	return h
}

// series returns first, first+step, ..., n values, shuffled so that the
// order of recording cannot matter.
func series(n int, first, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = first + time.Duration(i)*step
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestHistogramQuantileExactBelow256ns(t *testing.T) {
	h := mustHistogram(t, series(100, 1, 1)...) // 1..100 ns
	tests := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"min", 0, 1},
		{"p1", 0.01, 1},
		{"p50", 0.50, 50},
		{"p90", 0.90, 90},
		{"p99", 0.99, 99},
		{"p99.9", 0.999, 100},
		{"max", 1, 100},
		{"below range clamps", -1, 1},
		{"above range clamps", 2, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Quantile(tc.q); got != tc.want {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestHistogramQuantileKnownData(t *testing.T) {
	ms := time.Millisecond
	skewed := append(series(99, ms, 0), time.Second) // 99 × 1 ms, 1 × 1 s
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"1..100 ms p50", series(100, ms, ms), 0.50, 50 * ms},
		{"1..100 ms p90", series(100, ms, ms), 0.90, 90 * ms},
		{"1..100 ms p99", series(100, ms, ms), 0.99, 99 * ms},
		{"1..1000 ms p99", series(1000, ms, ms), 0.99, 990 * ms},
		{"1..1000 ms p99.9", series(1000, ms, ms), 0.999, 999 * ms},
		{"skewed p50", skewed, 0.50, ms},
		{"skewed p99", skewed, 0.99, ms},
		{"skewed p99.9", skewed, 0.999, time.Second},
		{"two values p50", []time.Duration{10 * ms, 20 * ms}, 0.50, 10 * ms},
		{"two values p90", []time.Duration{10 * ms, 20 * ms}, 0.90, 20 * ms},
		{"single value", []time.Duration{1234567}, 0.5, 1234567},
		{"negative counts as zero", []time.Duration{-5, -5}, 0.5, 0},
		{"hour-long outlier", []time.Duration{ms, time.Hour}, 1, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustHistogram(t, tc.values...)
			got := h.Quantile(tc.q)
			if !within(got, tc.want, 0.008) {
				t.Errorf("Quantile(%v) = %v, want %v ± 0.8%%", tc.q, got, tc.want)
			}
		})
	}
}

func within(got, want time.Duration, rel float64) bool {
	diff := float64(got - want)
	if diff < 0 {
		diff = -diff
	}
	return diff <= rel*float64(want)
}

// TestHistogramRelativeError checks the bucket precision over the whole
// range: a value between a smaller and a larger one is the median, and the
// median comes back within 0.8 %.
func TestHistogramRelativeError(t *testing.T) {
	for v := time.Duration(1); v < 18*time.Minute; v = v*9/8 + 1 {
		h := mustHistogram(t, 0, v, 30*time.Minute)
		if got := h.Quantile(0.5); !within(got, v, 0.008) {
			t.Fatalf("Quantile(0.5) of {0, %v, 30m} = %v, want %v ± 0.8%%", v, got, v)
		}
	}
}

func TestHistogramEmpty(t *testing.T) {
	h := load.NewHistogram()
	for _, q := range []float64{0, 0.5, 1} {
		if got := h.Quantile(q); got != 0 {
			t.Errorf("Quantile(%v) of empty = %v, want 0", q, got)
		}
	}
	if h.Min() != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("empty Min, Max, Mean = %v, %v, %v, want zeros", h.Min(), h.Max(), h.Mean())
	}
	var zero load.Histogram
	zero.Record(time.Millisecond)
	if zero.Count() != 1 || zero.Max() != time.Millisecond {
		t.Errorf("zero Histogram after Record: Count %d Max %v, want 1 and 1ms", zero.Count(), zero.Max())
	}
}

func TestHistogramMinMaxMeanExact(t *testing.T) {
	h := mustHistogram(t, 3*time.Millisecond, 1001*time.Microsecond, 7777777*time.Nanosecond)
	if h.Min() != 1001*time.Microsecond {
		t.Errorf("Min() = %v, want 1.001ms", h.Min())
	}
	if h.Max() != 7777777*time.Nanosecond {
		t.Errorf("Max() = %v, want 7.777777ms", h.Max())
	}
	if want := (3000000 + 1001000 + 7777777) / 3 * time.Nanosecond; h.Mean() != want {
		t.Errorf("Mean() = %v, want %v", h.Mean(), want)
	}
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	all := series(1000, 100*time.Microsecond, 37*time.Microsecond)
	whole := mustHistogram(t, all...)
	a := mustHistogram(t, all[:300]...)
	b := mustHistogram(t, all[300:]...)
	merged := load.NewHistogram()
	merged.Merge(a)
	merged.Merge(nil)
	merged.Merge(load.NewHistogram())
	merged.Merge(b)
	if merged.Count() != whole.Count() || merged.Min() != whole.Min() || merged.Max() != whole.Max() || merged.Mean() != whole.Mean() {
		t.Fatalf("merged Count/Min/Max/Mean = %d/%v/%v/%v, want %d/%v/%v/%v",
			merged.Count(), merged.Min(), merged.Max(), merged.Mean(),
			whole.Count(), whole.Min(), whole.Max(), whole.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		if got, want := merged.Quantile(q), whole.Quantile(q); got != want {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := load.NewHistogram()
	d := time.Duration(0)
	for b.Loop() {
		d = (d + 7919) % (10 * time.Second)
		h.Record(d)
	}
}
