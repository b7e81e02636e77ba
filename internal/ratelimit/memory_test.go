package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// fakeNow is a settable clock for white-box tests.
type fakeNow struct{ t time.Time }

func (f *fakeNow) Now() time.Time          { return f.t }
func (f *fakeNow) Advance(d time.Duration) { f.t = f.t.Add(d) }

func newFakeNow() *fakeNow { return &fakeNow{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestMemorySweepsIdleKeys(t *testing.T) {
	clock := newFakeNow()
	m := NewMemory(clock.Now)
	lim := Limit{Rate: 1, Burst: 1}
	for i := range 1000 {
		if _, err := m.Allow(t.Context(), "k"+strconv.Itoa(i), lim); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 1000 {
		t.Fatalf("Len = %d, want 1000", got)
	}
	clock.Advance(2 * sweepInterval)
	// Touch every shard so each sweeps.
	for i := range 100 * memoryShards { // enough to reach every shard
		_, _ = m.Allow(t.Context(), "fresh"+strconv.Itoa(i), Limit{})
		_, _ = m.Allow(t.Context(), "new"+strconv.Itoa(i), lim)
	}
	if got := m.Len(); got != 100*memoryShards {
		t.Errorf("Len after sweep = %d, want only the %d new keys", got, 100*memoryShards)
	}
}

func TestMemoryBounded(t *testing.T) {
	const maxKeys = 4 * memoryShards
	m := newMemory(newFakeNow().Now, maxKeys)
	lim := Limit{Rate: 1.0 / 3600, Burst: 2} // nothing goes idle
	for i := range 50 * maxKeys {
		r, err := m.Allow(t.Context(), "k"+strconv.Itoa(i), lim)
		if err != nil || !r.Allowed {
			t.Fatalf("new key %d: %+v, %v; want allowed", i, r, err)
		}
	}
	if got := m.Len(); got > maxKeys {
		t.Errorf("Len = %d, want at most %d", got, maxKeys)
	}
}

func TestMemoryDeniedKeyNotStored(t *testing.T) {
	m := NewMemory(newFakeNow().Now)
	if _, err := m.Allow(t.Context(), "k", Limit{}); err != nil {
		t.Fatal(err)
	}
	if got := m.Len(); got != 0 {
		t.Errorf("Len after unlimited call = %d, want 0", got)
	}
}

func TestMemoryAllowDoesNotAllocate(t *testing.T) {
	m := NewMemory(nil)
	lim := Limit{Rate: 1e6, Burst: 100}
	ctx := context.Background()
	key := "apikey:" + strconv.Itoa(42) // not a constant, as in real use
	_, _ = m.Allow(ctx, key, lim)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = m.Allow(ctx, key, lim)
	})
	if allocs != 0 {
		t.Errorf("Allow allocates %v times per call on a known key, want 0", allocs)
	}
}

func TestMemoryCountersBounded(t *testing.T) {
	const maxKeys = 100
	c := newMemoryCounters(newFakeNow().Now, maxKeys)
	for i := range 20 * maxKeys {
		if _, _, err := c.Incr(t.Context(), "k"+strconv.Itoa(i), 0, time.Hour, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Len(); got > maxKeys {
		t.Errorf("Len = %d, want at most %d", got, maxKeys)
	}
}

func TestMemoryCountersSweep(t *testing.T) {
	clock := newFakeNow()
	c := NewMemoryCounters(clock.Now)
	for i := range 100 {
		_, _, _ = c.Incr(t.Context(), "k"+strconv.Itoa(i), 0, time.Second, false)
	}
	clock.Advance(2 * sweepInterval)
	_, _, _ = c.Incr(t.Context(), "new", 0, time.Hour, false)
	if got := c.Len(); got != 1 {
		t.Errorf("Len after sweep = %d, want 1", got)
	}
}

func TestMemoryAllowBytesSharesStateAndDoesNotAllocate(t *testing.T) {
	m := NewMemory(newFakeNow().Now)
	lim := Limit{Rate: 1, Burst: 3}
	ctx := context.Background()
	buf := make([]byte, 0, 64)
	key := append(buf, "user:42"...)
	if r, _ := m.AllowBytes(ctx, key, lim); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("first AllowBytes = %+v, want allowed with 2 remaining", r)
	}
	key[0] = 'X' // the limiter must have copied the key
	if r, _ := m.Allow(ctx, "user:42", lim); !r.Allowed || r.Remaining != 1 {
		t.Fatalf("Allow after AllowBytes = %+v, want the same key with 1 remaining", r)
	}
	key[0] = 'u'
	if r, _ := m.AllowBytes(ctx, key, lim); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("third call = %+v, want allowed with 0 remaining", r)
	}
	if r, _ := m.AllowBytes(ctx, key, lim); r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("fourth call = %+v, want denied with a retry", r)
	}
	if got := m.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
	big := Limit{Rate: 1e6, Burst: 100}
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = m.AllowBytes(ctx, key, big)
	})
	if allocs != 0 {
		t.Errorf("AllowBytes allocates %v times per call on a known key, want 0", allocs)
	}
}
