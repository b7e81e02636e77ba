// Package ratelimittest is the conformance suite for ratelimit backends.
// Every [ratelimit.Limiter] and [ratelimit.Counters] implementation runs the
// same cases, so that the memory and Redis backends are known to agree.
//
// Backends whose clock can be injected run [Run] and [RunCounters], which add
// exact-value cases on a fake [Clock]. Redis reads the server's clock, so it
// runs [RunRealTime] and [RunCountersRealTime]: cases that hold whatever the
// real time, chosen so nothing refills during a test (for example 1/h with
// burst 3), and that never sleep or assert a duration.
package ratelimittest

import (
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// Clock is a fake clock for backends that take a now function.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// key makes a unique key, so that backends sharing state (one Redis) across
// subtests and test runs never see each other's keys.
func key(name string) string {
	return name + "-" + rand.Text()
}

// hourlyRate is one event per hour: nothing refills while a test runs.
const hourlyRate = 1.0 / 3600

// hourlyLimit allows 3 events at once and then one per hour.
func hourlyLimit() ratelimit.Limit { return ratelimit.Limit{Rate: hourlyRate, Burst: 3} }

// Run runs the whole limiter suite. newLimiter returns a fresh limiter that
// reads its time from clock.Now.
func Run(t *testing.T, newLimiter func(t *testing.T, clock *Clock) ratelimit.Limiter) {
	t.Helper()
	runShared(t, func(t *testing.T) ratelimit.Limiter { return newLimiter(t, NewClock()) })
	t.Run("ExactValues", func(t *testing.T) {
		clock := NewClock()
		testExactValues(t, newLimiter(t, clock), clock)
	})
	t.Run("PartialRefill", func(t *testing.T) {
		clock := NewClock()
		testPartialRefill(t, newLimiter(t, clock), clock)
	})
	t.Run("IdleKeyStartsAfresh", func(t *testing.T) {
		clock := NewClock()
		testIdleKey(t, newLimiter(t, clock), clock)
	})
}

// RunRealTime runs the cases that hold on a real clock. newLimiter returns
// a limiter with no state for the keys the suite uses.
func RunRealTime(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	t.Helper()
	runShared(t, newLimiter)
	t.Run("RefillRealTime", func(t *testing.T) { testRefillRealTime(t, newLimiter(t)) })
}

func runShared(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	t.Run("BurstThenDeny", func(t *testing.T) { testBurstThenDeny(t, newLimiter(t)) })
	t.Run("DenialNotCounted", func(t *testing.T) { testDenialNotCounted(t, newLimiter(t)) })
	t.Run("IndependentKeys", func(t *testing.T) { testIndependentKeys(t, newLimiter(t)) })
	t.Run("Unlimited", func(t *testing.T) { testUnlimited(t, newLimiter(t)) })
	t.Run("DefaultBurstIsOne", func(t *testing.T) { testDefaultBurst(t, newLimiter(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newLimiter(t)) })
	t.Run("PeekCountsNothing", func(t *testing.T) { testPeek(t, newLimiter(t)) })
}

func mustAllow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Result {
	t.Helper()
	r, err := l.Allow(t.Context(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q, %v) error = %v", key, lim, err)
	}
	return r
}

// testPeek: Peek answers what Allow would, and counts nothing.
func testPeek(t *testing.T, l ratelimit.Limiter) {
	k := key("peek")
	peek := func() ratelimit.Result {
		t.Helper()
		r, err := l.Peek(t.Context(), k, hourlyLimit())
		if err != nil {
			t.Fatalf("Peek(%q) error = %v", k, err)
		}
		return r
	}
	for i := range 3 {
		for range 5 {
			if r := peek(); !r.Allowed || r.Limit != 3 || r.Remaining != 2-i {
				t.Fatalf("peek before event %d: got %+v, want allowed, limit 3, remaining %d", i+1, r, 2-i)
			}
		}
		if r := mustAllow(t, l, k, hourlyLimit()); !r.Allowed || r.Remaining != 2-i {
			t.Fatalf("event %d after peeks: got %+v, want allowed with remaining %d (peeks counted)", i+1, r, 2-i)
		}
	}
	r := peek()
	if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > time.Hour {
		t.Errorf("peek after the burst: got %+v, want denied, remaining 0, retry after in (0, 1h]", r)
	}
	if r := mustAllow(t, l, k, hourlyLimit()); r.Allowed {
		t.Errorf("4th event allowed: %+v", r)
	}
	if r, err := l.Peek(t.Context(), k, ratelimit.Limit{}); err != nil || !r.Allowed {
		t.Errorf("Peek unlimited = %+v, %v; want allowed", r, err)
	}
}

func testBurstThenDeny(t *testing.T, l ratelimit.Limiter) {
	k := key("burst")
	for i := range 3 {
		r := mustAllow(t, l, k, hourlyLimit())
		if !r.Allowed || r.Limit != 3 || r.Remaining != 2-i || r.RetryAfter != 0 {
			t.Errorf("event %d: got %+v, want allowed, limit 3, remaining %d, no retry", i+1, r, 2-i)
		}
		if r.Reset <= 0 || r.Reset > time.Duration(i+1)*time.Hour {
			t.Errorf("event %d: reset = %v, want in (0, %dh]", i+1, r.Reset, i+1)
		}
	}
	r := mustAllow(t, l, k, hourlyLimit())
	if r.Allowed || r.Limit != 3 || r.Remaining != 0 {
		t.Errorf("4th event: got %+v, want denied, limit 3, remaining 0", r)
	}
	if r.RetryAfter <= 0 || r.RetryAfter > time.Hour {
		t.Errorf("4th event: retry after = %v, want in (0, 1h]", r.RetryAfter)
	}
	if r.Reset < r.RetryAfter || r.Reset > 3*time.Hour {
		t.Errorf("4th event: reset = %v, want in [retry after %v, 3h]", r.Reset, r.RetryAfter)
	}
}

func testDenialNotCounted(t *testing.T, l ratelimit.Limiter) {
	k := key("denial")
	lim := ratelimit.Limit{Rate: hourlyRate, Burst: 1}
	mustAllow(t, l, k, lim)
	first := mustAllow(t, l, k, lim)
	for range 20 {
		mustAllow(t, l, k, lim)
	}
	last := mustAllow(t, l, k, lim)
	if first.Allowed || last.Allowed {
		t.Fatalf("denials expected, got %+v and %+v", first, last)
	}
	// Had the denials been counted, the wait would have grown by hours.
	if last.RetryAfter > first.RetryAfter {
		t.Errorf("retry after grew from %v to %v: denied events were counted", first.RetryAfter, last.RetryAfter)
	}
}

func testIndependentKeys(t *testing.T, l ratelimit.Limiter) {
	a, b := key("a"), key("b")
	for range 3 {
		mustAllow(t, l, a, hourlyLimit())
	}
	if r := mustAllow(t, l, a, hourlyLimit()); r.Allowed {
		t.Fatalf("key a: 4th event allowed: %+v", r)
	}
	if r := mustAllow(t, l, b, hourlyLimit()); !r.Allowed || r.Remaining != 2 {
		t.Errorf("key b after a is exhausted: got %+v, want allowed with remaining 2", r)
	}
}

func testUnlimited(t *testing.T, l ratelimit.Limiter) {
	k := key("unlimited")
	for i := range 100 {
		if r := mustAllow(t, l, k, ratelimit.Limit{}); !r.Allowed {
			t.Fatalf("unlimited event %d denied: %+v", i+1, r)
		}
	}
	// Unlimited calls leave no state behind.
	if r := mustAllow(t, l, k, ratelimit.Limit{Rate: hourlyRate, Burst: 2}); !r.Allowed || r.Remaining != 1 {
		t.Errorf("first limited event after unlimited ones: got %+v, want allowed with remaining 1", r)
	}
}

func testDefaultBurst(t *testing.T, l ratelimit.Limiter) {
	k := key("burst0")
	lim := ratelimit.Limit{Rate: hourlyRate}
	if r := mustAllow(t, l, k, lim); !r.Allowed || r.Limit != 1 || r.Remaining != 0 {
		t.Errorf("first event: got %+v, want allowed, limit 1, remaining 0", r)
	}
	if r := mustAllow(t, l, k, lim); r.Allowed {
		t.Errorf("second event allowed with burst 0: %+v", r)
	}
}

func testConcurrent(t *testing.T, l ratelimit.Limiter) {
	k := key("concurrent")
	lim := ratelimit.Limit{Rate: hourlyRate, Burst: 10}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			r, err := l.Allow(t.Context(), k, lim)
			if err != nil {
				t.Errorf("Allow: %v", err)
				return
			}
			if r.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 10 {
		t.Errorf("30 concurrent events with burst 10: %d allowed, want 10", got)
	}
}

// testRefillRealTime spends a burst of 1 at 50/s and calls again until an
// event is allowed, which must happen within the 20 ms interval; it checks
// every denial on the way rather than the time taken.
func testRefillRealTime(t *testing.T, l ratelimit.Limiter) {
	k := key("refill")
	lim := ratelimit.Limit{Rate: 50, Burst: 1}
	if r := mustAllow(t, l, k, lim); !r.Allowed {
		t.Fatalf("first event denied: %+v", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := mustAllow(t, l, k, lim)
		if r.Allowed {
			return
		}
		if r.RetryAfter <= 0 || r.RetryAfter > 20*time.Millisecond {
			t.Fatalf("denied with retry after %v, want in (0, 20ms]", r.RetryAfter)
		}
	}
	t.Fatal("limit never refilled")
}

func testExactValues(t *testing.T, l ratelimit.Limiter, clock *Clock) {
	k := key("exact")
	lim := ratelimit.Limit{Rate: 10, Burst: 5} // one event per 100 ms
	ms := time.Millisecond
	type want struct {
		allowed           bool
		remaining         int
		reset, retryAfter time.Duration
	}
	check := func(step string, w want) {
		t.Helper()
		r := mustAllow(t, l, k, lim)
		got := want{r.Allowed, r.Remaining, r.Reset, r.RetryAfter}
		if got != w || r.Limit != 5 {
			t.Errorf("%s: got %+v (limit %d), want %+v (limit 5)", step, got, r.Limit, w)
		}
	}
	for i := range 5 {
		check(fmt.Sprintf("event %d", i+1), want{true, 4 - i, time.Duration(i+1) * 100 * ms, 0})
	}
	check("6th event", want{false, 0, 500 * ms, 100 * ms})
	clock.Advance(40 * ms)
	check("after 40ms", want{false, 0, 460 * ms, 60 * ms})
	clock.Advance(60 * ms)
	check("after 100ms", want{true, 0, 500 * ms, 0})
	check("again", want{false, 0, 500 * ms, 100 * ms})
	clock.Advance(time.Second)
	check("after 1s", want{true, 4, 100 * ms, 0})
}

func testPartialRefill(t *testing.T, l ratelimit.Limiter, clock *Clock) {
	k := key("partial")
	lim := ratelimit.Limit{Rate: 10, Burst: 5}
	for range 5 {
		mustAllow(t, l, k, lim)
	}
	clock.Advance(250 * time.Millisecond)
	allowed := 0
	for range 5 {
		if mustAllow(t, l, k, lim).Allowed {
			allowed++
		}
	}
	if allowed != 2 {
		t.Errorf("250ms after spending a burst at 10/s: %d allowed, want 2", allowed)
	}
}

func testIdleKey(t *testing.T, l ratelimit.Limiter, clock *Clock) {
	k := key("idle")
	for range 3 {
		mustAllow(t, l, k, hourlyLimit())
	}
	clock.Advance(24 * time.Hour)
	if r := mustAllow(t, l, k, hourlyLimit()); !r.Allowed || r.Remaining != 2 {
		t.Errorf("after a day idle: got %+v, want allowed with remaining 2", r)
	}
}

// RunCounters runs the whole counter suite. newCounters returns a fresh
// store that reads its time from clock.Now.
func RunCounters(t *testing.T, newCounters func(t *testing.T, clock *Clock) ratelimit.Counters) {
	t.Helper()
	runCountersShared(t, func(t *testing.T) ratelimit.Counters { return newCounters(t, NewClock()) })
	t.Run("Expiry", func(t *testing.T) {
		clock := NewClock()
		testCounterExpiry(t, newCounters(t, clock), clock)
	})
}

// RunCountersRealTime runs the counter cases that hold on a real clock.
func RunCountersRealTime(t *testing.T, newCounters func(t *testing.T) ratelimit.Counters) {
	t.Helper()
	runCountersShared(t, newCounters)
}

func runCountersShared(t *testing.T, newCounters func(t *testing.T) ratelimit.Counters) {
	t.Run("IncrGetDelete", func(t *testing.T) { testCounterBasics(t, newCounters(t)) })
	t.Run("ConcurrentIncr", func(t *testing.T) { testCounterConcurrent(t, newCounters(t)) })
	t.Run("BoundAndDecr", func(t *testing.T) { testCounterBound(t, newCounters(t)) })
	t.Run("ConcurrentBoundedIncr", func(t *testing.T) { testCounterBoundConcurrent(t, newCounters(t)) })
}

func mustIncr(t *testing.T, c ratelimit.Counters, key string, ttl time.Duration, slide bool) ratelimit.Count {
	t.Helper()
	n, added, err := c.Incr(t.Context(), key, 0, ttl, slide)
	if err != nil || !added {
		t.Fatalf("Incr(%q, no bound) = %v, %v; want added", key, added, err)
	}
	return n
}

func mustIncrBounded(t *testing.T, c ratelimit.Counters, key string, bound int64, ttl time.Duration, slide bool) (ratelimit.Count, bool) {
	t.Helper()
	n, added, err := c.Incr(t.Context(), key, bound, ttl, slide)
	if err != nil {
		t.Fatalf("Incr(%q, %d) error = %v", key, bound, err)
	}
	return n, added
}

func mustDecr(t *testing.T, c ratelimit.Counters, key string) {
	t.Helper()
	if err := c.Decr(t.Context(), key); err != nil {
		t.Fatalf("Decr(%q) error = %v", key, err)
	}
}

// testCounterBound: a bounded Incr stops at the bound without touching the
// counter (not even its expiry); Decr gives one back, keeps the expiry and
// removes the counter at zero.
func testCounterBound(t *testing.T, c ratelimit.Counters) {
	k := key("ctr-bound")
	for i := int64(1); i <= 3; i++ {
		if got, added := mustIncrBounded(t, c, k, 3, time.Hour, false); !added || got.N != i {
			t.Errorf("Incr #%d with bound 3 = %+v, added %v; want N %d, added", i, got, added, i)
		}
	}
	got, added := mustIncrBounded(t, c, k, 3, 10*time.Hour, true)
	if added || got.N != 3 || got.TTL <= 0 || got.TTL > time.Hour {
		t.Errorf("Incr at the bound = %+v, added %v; want N 3 unchanged, TTL still <= 1h, not added", got, added)
	}
	mustDecr(t, c, k)
	if got := mustGet(t, c, k); got.N != 2 || got.TTL <= 0 || got.TTL > time.Hour {
		t.Errorf("Get after Decr = %+v, want N 2 and the old TTL", got)
	}
	if got, added := mustIncrBounded(t, c, k, 3, time.Hour, false); !added || got.N != 3 {
		t.Errorf("Incr after Decr = %+v, added %v; want N 3, added", got, added)
	}
	for range 3 {
		mustDecr(t, c, k)
	}
	if got := mustGet(t, c, k); got != (ratelimit.Count{}) {
		t.Errorf("Get after Decr to zero = %+v, want zero (removed)", got)
	}
	mustDecr(t, c, k) // missing: no error, no negative count
	if got, added := mustIncrBounded(t, c, k, 3, time.Hour, false); !added || got.N != 1 || got.TTL > time.Hour {
		t.Errorf("Incr after removal = %+v, added %v; want a fresh counter at 1", got, added)
	}
}

// testCounterBoundConcurrent: of 40 bounded increments at once, exactly the
// bound get through.
func testCounterBoundConcurrent(t *testing.T, c ratelimit.Counters) {
	k := key("ctr-bound-conc")
	var wg sync.WaitGroup
	var added atomic.Int64
	for range 40 {
		wg.Go(func() {
			_, ok, err := c.Incr(t.Context(), k, 10, time.Hour, true)
			if err != nil {
				t.Errorf("Incr: %v", err)
			}
			if ok {
				added.Add(1)
			}
		})
	}
	wg.Wait()
	if got := mustGet(t, c, k); got.N != 10 || added.Load() != 10 {
		t.Errorf("after 40 concurrent Incr with bound 10: N = %d, %d added; want 10, 10", got.N, added.Load())
	}
}

func mustGet(t *testing.T, c ratelimit.Counters, key string) ratelimit.Count {
	t.Helper()
	n, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) error = %v", key, err)
	}
	return n
}

func testCounterBasics(t *testing.T, c ratelimit.Counters) {
	k, other := key("ctr"), key("other")
	if got := mustGet(t, c, k); got != (ratelimit.Count{}) {
		t.Errorf("Get(missing) = %+v, want zero", got)
	}
	for i := int64(1); i <= 3; i++ {
		got := mustIncr(t, c, k, time.Hour, false)
		if got.N != i || got.TTL <= 0 || got.TTL > time.Hour {
			t.Errorf("Incr #%d = %+v, want N %d and TTL in (0, 1h]", i, got, i)
		}
	}
	// A longer ttl without slide keeps the old expiry; with slide it moves.
	if got := mustIncr(t, c, k, 10*time.Hour, false); got.N != 4 || got.TTL > time.Hour {
		t.Errorf("Incr without slide = %+v, want N 4 and TTL <= 1h", got)
	}
	if got := mustIncr(t, c, k, 10*time.Hour, true); got.N != 5 || got.TTL <= time.Hour {
		t.Errorf("Incr with slide = %+v, want N 5 and TTL > 1h", got)
	}
	if got := mustGet(t, c, k); got.N != 5 || got.TTL <= time.Hour || got.TTL > 10*time.Hour {
		t.Errorf("Get = %+v, want N 5 and TTL in (1h, 10h]", got)
	}
	mustIncr(t, c, other, time.Hour, false)
	if err := c.Delete(t.Context(), k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := mustGet(t, c, k); got != (ratelimit.Count{}) {
		t.Errorf("Get after Delete = %+v, want zero", got)
	}
	if err := c.Delete(t.Context(), k); err != nil {
		t.Errorf("Delete(missing) error = %v, want nil", err)
	}
	if got := mustGet(t, c, other); got.N != 1 {
		t.Errorf("other key = %+v, want N 1", got)
	}
	if got := mustIncr(t, c, k, time.Hour, false); got.N != 1 {
		t.Errorf("Incr after Delete = %+v, want N 1", got)
	}
}

func testCounterConcurrent(t *testing.T, c ratelimit.Counters) {
	k := key("ctr-conc")
	var wg sync.WaitGroup
	for range 25 {
		wg.Go(func() {
			if _, _, err := c.Incr(t.Context(), k, 0, time.Hour, true); err != nil {
				t.Errorf("Incr: %v", err)
			}
		})
	}
	wg.Wait()
	if got := mustGet(t, c, k); got.N != 25 {
		t.Errorf("after 25 concurrent Incr: N = %d, want 25", got.N)
	}
}

func testCounterExpiry(t *testing.T, c ratelimit.Counters, clock *Clock) {
	k := key("ctr-exp")
	mustIncr(t, c, k, time.Minute, false)
	clock.Advance(40 * time.Second)
	if got := mustIncr(t, c, k, time.Minute, false); got.N != 2 || got.TTL != 20*time.Second {
		t.Errorf("Incr at 40s = %+v, want N 2, TTL 20s (fixed window)", got)
	}
	if got := mustIncr(t, c, k, time.Minute, true); got.N != 3 || got.TTL != time.Minute {
		t.Errorf("sliding Incr at 40s = %+v, want N 3, TTL 1m", got)
	}
	clock.Advance(time.Minute)
	if got := mustGet(t, c, k); got != (ratelimit.Count{}) {
		t.Errorf("Get after expiry = %+v, want zero", got)
	}
	if got := mustIncr(t, c, k, time.Minute, false); got.N != 1 || got.TTL != time.Minute {
		t.Errorf("Incr after expiry = %+v, want a fresh counter", got)
	}
}
