package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// flakyLimiter fails while down is set and otherwise allows everything,
// reporting Limit 99 so answers can be told apart from the local limiter's.
type flakyLimiter struct {
	mu    sync.Mutex
	down  bool
	calls int
}

func (f *flakyLimiter) setDown(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = v
}

func (f *flakyLimiter) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if f.down {
		return Result{}, errors.New("dial tcp: connection refused")
	}
	return Result{Allowed: true, Limit: 99}, nil
}

func (f *flakyLimiter) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return f.Allow(ctx, key, l)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFallbackTransitions(t *testing.T) {
	clock := newFakeNow()
	primary := &flakyLimiter{}
	local := NewMemory(clock.Now)
	logs := &lockedBuffer{}
	var events []bool
	f := NewFallback(primary, local, slog.New(slog.NewTextHandler(logs, nil)), func(on bool) { events = append(events, on) })
	f.b.now = clock.Now
	lim := Limit{Rate: 1.0 / 3600, Burst: 1}
	ctx := t.Context()
	from := func(r Result) string {
		if r.Limit == 99 {
			return "primary"
		}
		return "local"
	}
	step := func(name, want string) Result {
		t.Helper()
		r, err := f.Allow(ctx, "k", lim)
		if err != nil {
			t.Fatalf("%s: Allow error = %v", name, err)
		}
		if got := from(r); got != want {
			t.Errorf("%s: answered by %s, want %s", name, got, want)
		}
		return r
	}

	step("healthy", "primary")
	primary.setDown(true)
	if r := step("first failure", "local"); !r.Allowed {
		t.Errorf("first local event denied: %+v", r)
	}
	callsAtFailure := primary.calls
	if r := step("during backoff", "local"); r.Allowed {
		t.Errorf("local limit not enforced: %+v", r)
	}
	if primary.calls != callsAtFailure {
		t.Errorf("primary called %d times during backoff, want 0", primary.calls-callsAtFailure)
	}
	clock.Advance(minBackoff)
	step("probe fails", "local")
	if primary.calls != callsAtFailure+1 {
		t.Errorf("primary probed %d times after backoff, want 1", primary.calls-callsAtFailure)
	}
	clock.Advance(minBackoff) // backoff has doubled: still waiting
	step("doubled backoff", "local")
	if primary.calls != callsAtFailure+1 {
		t.Errorf("primary probed before the doubled backoff passed")
	}
	primary.setDown(false)
	clock.Advance(minBackoff)
	step("recovered", "primary")
	step("healthy again", "primary")

	if want := []bool{true, false}; len(events) != 2 || events[0] != want[0] || events[1] != want[1] {
		t.Errorf("callback events = %v, want %v", events, want)
	}
	out := logs.String()
	if n := strings.Count(out, "using local fallback"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "leaving local fallback"); n != 1 {
		t.Errorf("recovery logged %d times, want once:\n%s", n, out)
	}
}

func TestFallbackCallerContextIsNotAnOutage(t *testing.T) {
	primary := &flakyLimiter{}
	var events []bool
	f := NewFallback(primary, NewMemory(nil), slog.New(slog.DiscardHandler), func(on bool) { events = append(events, on) })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Allow(ctx, "k", Limit{Rate: 1, Burst: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with cancelled context error = %v, want context.Canceled", err)
	}
	if len(events) != 0 || f.b.down.Load() {
		t.Errorf("cancelled context counted as an outage: events %v", events)
	}
}

func TestFallbackOneProbeAtATime(t *testing.T) {
	clock := newFakeNow()
	primary := &flakyLimiter{down: true}
	f := NewFallback(primary, NewMemory(clock.Now), slog.New(slog.DiscardHandler), nil)
	f.b.now = clock.Now
	_, _ = f.Allow(t.Context(), "k", Limit{Rate: 1, Burst: 1})
	clock.Advance(time.Hour)
	before := primary.calls
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { _, _ = f.Allow(t.Context(), "k", Limit{}) })
	}
	wg.Wait()
	if got := primary.calls - before; got != 1 {
		t.Errorf("%d concurrent callers probed the primary, want 1", got)
	}
}

// flakyCounters fails while down is set.
type flakyCounters struct {
	*MemoryCounters
	down bool
}

func (f *flakyCounters) Incr(ctx context.Context, key string, bound int64, ttl time.Duration, slide bool) (Count, bool, error) {
	if f.down {
		return Count{}, false, errors.New("down")
	}
	return f.MemoryCounters.Incr(ctx, key, bound, ttl, slide)
}

func (f *flakyCounters) Decr(ctx context.Context, key string) error {
	if f.down {
		return errors.New("down")
	}
	return f.MemoryCounters.Decr(ctx, key)
}

func (f *flakyCounters) Get(ctx context.Context, key string) (Count, error) {
	if f.down {
		return Count{}, errors.New("down")
	}
	return f.MemoryCounters.Get(ctx, key)
}

func (f *flakyCounters) Delete(ctx context.Context, key string) error {
	if f.down {
		return errors.New("down")
	}
	return f.MemoryCounters.Delete(ctx, key)
}

func TestFallbackCounters(t *testing.T) {
	primary := &flakyCounters{MemoryCounters: NewMemoryCounters(nil)}
	local := NewMemoryCounters(nil)
	var events []bool
	f := NewFallbackCounters(primary, local, slog.New(slog.DiscardHandler), func(on bool) { events = append(events, on) })
	ctx := t.Context()
	if _, _, err := f.Incr(ctx, "a", 0, time.Hour, false); err != nil {
		t.Fatal(err)
	}
	primary.down = true
	for range 3 {
		if _, _, err := f.Incr(ctx, "a", 2, time.Hour, false); err != nil {
			t.Fatalf("Incr while primary down: %v", err)
		}
	}
	if got, _ := local.Get(ctx, "a"); got.N != 2 {
		t.Errorf("local count = %d, want 2 (the bound holds on the fallback too)", got.N)
	}
	if err := f.Decr(ctx, "a"); err != nil {
		t.Errorf("Decr during fallback: %v", err)
	}
	if got, _ := local.Get(ctx, "a"); got.N != 1 {
		t.Errorf("local count after Decr = %d, want 1", got.N)
	}
	if got, err := f.Get(ctx, "a"); err != nil || got.N != 1 {
		t.Errorf("Get during fallback = %+v, %v; want N 1 from local", got, err)
	}
	if err := f.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete during fallback: %v", err)
	}
	if len(events) != 1 || !events[0] {
		t.Errorf("events = %v, want [true]", events)
	}
}
