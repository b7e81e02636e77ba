package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// source is a loader over a map that counts its loads per key and, with a
// gate, holds every answer until the gate is closed (a slow database).
type source struct {
	mu    sync.Mutex
	vals  map[string]string
	loads map[string]int
	err   error
	gate  chan struct{}
}

func newSource(kv ...string) *source {
	s := &source{vals: map[string]string{}, loads: map[string]int{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.vals[kv[i]] = kv[i+1]
	}
	return s
}

func (s *source) load(ctx context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	s.loads[key]++
	v, ok := s.vals[key]
	err, gate := s.err, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
	return v, ok, err
}

func (s *source) set(key, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[key] = v
}

func (s *source) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[key]
}

func mustGet(t testing.TB, c *Cache[string], key string) (string, bool) {
	t.Helper()
	v, ok, err := c.Get(t.Context(), key, time.Now())
	if err != nil {
		t.Fatalf("Get(%q) error = %v", key, err)
	}
	return v, ok
}

func TestFreshness(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		key       string
		after     time.Duration // since the first Get
		wantLoads int           // after the second Get
	}{
		{"value within TTL", Config{TTL: time.Second}, "a", time.Second - time.Nanosecond, 1},
		{"value at TTL", Config{TTL: time.Second}, "a", time.Second, 2},
		{"TTL 0 keeps nothing", Config{}, "a", 0, 2},
		{"unknown key without NegativeTTL", Config{TTL: time.Second}, "nobody", 0, 2},
		{"unknown key within NegativeTTL", Config{TTL: time.Second, NegativeTTL: 100 * time.Millisecond}, "nobody", 99 * time.Millisecond, 1},
		{"unknown key at NegativeTTL", Config{TTL: time.Second, NegativeTTL: 100 * time.Millisecond}, "nobody", 100 * time.Millisecond, 2},
		{"TTL 0 keeps no unknown key", Config{NegativeTTL: time.Second}, "nobody", 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newSource("a", "A")
				c := New(tc.cfg, src.load)
				v1, ok1 := mustGet(t, c, tc.key)
				time.Sleep(tc.after)
				v2, ok2 := mustGet(t, c, tc.key)
				if v1 != v2 || ok1 != ok2 || ok1 != (tc.key == "a") {
					t.Errorf("Get(%q) = %q, %v then %q, %v", tc.key, v1, ok1, v2, ok2)
				}
				if got := src.count(tc.key); got != tc.wantLoads {
					t.Errorf("Get(%q) twice, %v apart: %d loads, want %d", tc.key, tc.after, got, tc.wantLoads)
				}
			})
		})
	}
}

func TestErrorsAreNotKept(t *testing.T) {
	src := newSource("a", "A")
	src.err = errors.New("database is locked")
	c := New(Config{TTL: time.Hour, NegativeTTL: time.Hour}, src.load)
	for range 2 {
		if _, _, err := c.Get(t.Context(), "a", time.Now()); !errors.Is(err, src.err) {
			t.Fatalf("Get(%q) error = %v, want %v", "a", err, src.err)
		}
	}
	src.err = nil
	if v, ok := mustGet(t, c, "a"); v != "A" || !ok {
		t.Errorf("Get(%q) after the store recovered = %q, %v, want %q, true", "a", v, ok, "A")
	}
	if got := src.count("a"); got != 3 {
		t.Errorf("%d loads, want 3 (failures are not kept)", got)
	}
}

func TestClockGoingBackDoesNotExtendFreshness(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	src := newSource("a", "A")
	c := New(Config{TTL: time.Second}, src.load)
	for _, at := range []time.Time{now, now.Add(-time.Minute)} {
		if _, _, err := c.Get(t.Context(), "a", at); err != nil {
			t.Fatalf("Get(%q) error = %v", "a", err)
		}
	}
	if got := src.count("a"); got != 2 {
		t.Errorf("%d loads after the clock went back, want 2", got)
	}
}

func TestMissesShareOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource("a", "A")
		src.gate = make(chan struct{})
		c := New(Config{TTL: time.Second}, src.load)
		const n = 50
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if v, ok, err := c.Get(t.Context(), "a", time.Now()); v != "A" || !ok || err != nil {
					t.Errorf("caller %d: Get(%q) = %q, %v, %v", i, "a", v, ok, err)
				}
			})
		}
		synctest.Wait() // every caller waits for the one load
		// Another key does not wait for it.
		other := New(Config{TTL: time.Second}, newSource("b", "B").load)
		if v, _ := mustGet(t, other, "b"); v != "B" {
			t.Errorf("Get(%q) = %q while another load runs, want B", "b", v)
		}
		close(src.gate)
		wg.Wait()
		if got := src.count("a"); got != 1 {
			t.Errorf("%d loads for %d concurrent misses, want 1", got, n)
		}
	})
}

func TestErrorsAreShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource()
		src.err, src.gate = errors.New("database down"), make(chan struct{})
		c := New(Config{TTL: time.Second}, src.load)
		errs := make(chan error, 2)
		for range 2 {
			go func() { _, _, err := c.Get(t.Context(), "a", time.Now()); errs <- err }()
		}
		synctest.Wait()
		close(src.gate)
		for range 2 {
			if err := <-errs; !errors.Is(err, src.err) {
				t.Errorf("Get(%q) error = %v, want %v", "a", err, src.err)
			}
		}
		if got := src.count("a"); got != 1 {
			t.Errorf("%d loads, want 1", got)
		}
	})
}

func TestACallerGivingUpDoesNotCancelTheLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var loadErr error
		c := New(Config{TTL: time.Second}, func(ctx context.Context, key string) (string, bool, error) {
			<-gate
			loadErr = ctx.Err()
			return "A", true, nil
		})
		leaderCtx, cancel := context.WithCancel(t.Context())
		leader := make(chan error, 1)
		go func() { _, _, err := c.Get(leaderCtx, "a", time.Now()); leader <- err }()
		synctest.Wait()
		waiter := make(chan string, 1)
		go func() { v, _, _ := c.Get(t.Context(), "a", time.Now()); waiter <- v }()
		synctest.Wait()
		cancel() // the caller that started the load goes away
		if err := <-leader; !errors.Is(err, context.Canceled) {
			t.Errorf("Get by the caller that gave up: error = %v, want context.Canceled", err)
		}
		close(gate)
		if v := <-waiter; v != "A" {
			t.Errorf("Get by the caller still waiting = %q, want A", v)
		}
		if loadErr != nil {
			t.Errorf("the load's context ended with its first caller: %v", loadErr)
		}
	})
}

func TestLoadIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource("a", "A")
		src.gate = make(chan struct{}) // never closed: a hung database
		c := New(Config{TTL: time.Second}, src.load)
		if _, _, err := c.Get(t.Context(), "a", time.Now()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get(%q) from a hung store: error = %v, want context.DeadlineExceeded", "a", err)
		}
	})
}

// TestInvalidationWinsOverARacingLoad: a load that started before an
// invalidation answers the callers that were waiting for it, but neither
// answers a caller that came after the invalidation nor stays in the
// cache.
func TestInvalidationWinsOverARacingLoad(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forget func(c *Cache[string])
	}{
		{"Forget", func(c *Cache[string]) { c.Forget("a") }},
		// The predicate cannot see a load in flight (there is no value
		// yet), so every ForgetFunc outruns the loads that race it.
		{"ForgetFunc", func(c *Cache[string]) { c.ForgetFunc(func(string, string) bool { return false }) }},
		{"ForgetAll", func(c *Cache[string]) { c.ForgetAll() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newSource("a", "old")
				src.gate = make(chan struct{})
				c := New(Config{TTL: time.Hour}, src.load)
				before := make(chan string, 1)
				go func() { v, _, _ := c.Get(t.Context(), "a", time.Now()); before <- v }()
				synctest.Wait() // the load has read "old" and waits
				src.set("a", "new")
				tc.forget(c)
				after := make(chan string, 1)
				go func() { v, _, _ := c.Get(t.Context(), "a", time.Now()); after <- v }()
				synctest.Wait()
				close(src.gate)
				if v := <-before; v != "old" {
					t.Errorf("Get(%q) before the invalidation = %q, want old", "a", v)
				}
				if v := <-after; v != "new" {
					t.Errorf("Get(%q) after the invalidation = %q, want new (not the load that raced it)", "a", v)
				}
				if v, _ := mustGet(t, c, "a"); v != "new" {
					t.Errorf("Get(%q) later = %q, want new", "a", v)
				}
				if got := src.count("a"); got != 2 {
					t.Errorf("%d loads, want 2", got)
				}
			})
		})
	}
}

func TestForget(t *testing.T) {
	users := map[string]string{"k1": "alice", "k2": "alice", "k3": "bob"}
	for _, tc := range []struct {
		name   string
		forget func(c *Cache[string])
		want   []string // keys loaded again
	}{
		{"Forget", func(c *Cache[string]) { c.Forget("k1") }, []string{"k1"}},
		{"Forget unknown", func(c *Cache[string]) { c.Forget("nope") }, nil},
		{"ForgetFunc", func(c *Cache[string]) { c.ForgetFunc(func(_, v string) bool { return v == "alice" }) }, []string{"k1", "k2"}},
		{"ForgetAll", func(c *Cache[string]) { c.ForgetAll() }, []string{"k1", "k2", "k3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource()
			for k, v := range users {
				src.set(k, v)
			}
			c := New(Config{TTL: time.Hour}, src.load)
			for k := range users {
				mustGet(t, c, k)
			}
			tc.forget(c)
			if got, want := c.Len(), len(users)-len(tc.want); got != want {
				t.Errorf("Len() = %d after %s, want %d", got, tc.name, want)
			}
			for k, v := range users {
				if got, _ := mustGet(t, c, k); got != v {
					t.Errorf("Get(%q) = %q, want %q", k, got, v)
				}
			}
			for k := range users {
				want := 1
				for _, w := range tc.want {
					if w == k {
						want = 2
					}
				}
				if got := src.count(k); got != want {
					t.Errorf("%s: %d loads of %q, want %d", tc.name, got, k, want)
				}
			}
		})
	}
}

// TestEvictionKeepsWhatIsUsed: a flood of keys read once (unknown ids)
// does not push out the key in use, and the cache never grows past its
// bound.
func TestEvictionKeepsWhatIsUsed(t *testing.T) {
	src := newSource("hot", "H")
	const max = 16
	c := New(Config{TTL: time.Hour, NegativeTTL: time.Hour, MaxEntries: max}, src.load)
	for i := range 1000 {
		if v, _ := mustGet(t, c, "hot"); v != "H" {
			t.Fatalf("Get(%q) = %q, want H", "hot", v)
		}
		mustGet(t, c, "junk"+strconv.Itoa(i))
		if n := c.Len(); n > max {
			t.Fatalf("Len() = %d, want at most %d", n, max)
		}
	}
	if got := src.count("hot"); got != 1 {
		t.Errorf("%d loads of the key in use, want 1", got)
	}
}

func TestEvictionTakesStaleEntriesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newSource("a", "A", "b", "B", "c", "C", "d", "D")
		c := New(Config{TTL: time.Minute, MaxEntries: 3}, src.load)
		mustGet(t, c, "a")
		mustGet(t, c, "a") // read: it would get a second chance if it were fresh
		time.Sleep(2 * time.Minute)
		mustGet(t, c, "b")
		mustGet(t, c, "c")
		mustGet(t, c, "d") // full: the stale a goes, not b
		for _, k := range []string{"b", "c", "d"} {
			mustGet(t, c, k)
			if got := src.count(k); got != 1 {
				t.Errorf("%d loads of %q, want 1 (the stale entry goes first)", got, k)
			}
		}
	})
}

func TestHitsDoNotAllocate(t *testing.T) {
	c := New(Config{TTL: time.Hour}, newSource("a", "A").load)
	ctx, now := t.Context(), time.Now()
	mustGet(t, c, "a")
	if n := testing.AllocsPerRun(100, func() { c.Get(ctx, "a", now) }); n != 0 {
		t.Errorf("Get of a fresh key: %v allocations, want 0", n)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New(Config{TTL: time.Hour}, newSource("a", "A").load)
	ctx, now := b.Context(), time.Now()
	mustGet(b, c, "a")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := c.Get(ctx, "a", now); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c := New(Config{TTL: time.Hour}, newSource("a", "A").load)
	ctx, now := b.Context(), time.Now()
	mustGet(b, c, "a")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := c.Get(ctx, "a", now); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
