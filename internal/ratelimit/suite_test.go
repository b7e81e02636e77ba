package ratelimit_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/ratelimit/ratelimittest"
)

func TestMemorySuite(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock *ratelimittest.Clock) ratelimit.Limiter {
		return ratelimit.NewMemory(clock.Now)
	})
}

func TestMemoryRealTimeSuite(t *testing.T) {
	ratelimittest.RunRealTime(t, func(t *testing.T) ratelimit.Limiter { return ratelimit.NewMemory(nil) })
}

func TestMemoryCountersSuite(t *testing.T) {
	ratelimittest.RunCounters(t, func(t *testing.T, clock *ratelimittest.Clock) ratelimit.Counters {
		return ratelimit.NewMemoryCounters(clock.Now)
	})
}

func TestRedisSuite(t *testing.T) {
	client := mustRedis(t)
	ratelimittest.RunRealTime(t, func(t *testing.T) ratelimit.Limiter {
		return ratelimit.NewRedis(client, scratchPrefix(t, client))
	})
}

func TestRedisCountersSuite(t *testing.T) {
	client := mustRedis(t)
	ratelimittest.RunCountersRealTime(t, func(t *testing.T) ratelimit.Counters {
		return ratelimit.NewRedisCounters(client, scratchPrefix(t, client))
	})
}

// TestRedisReplicasShareLimit runs two limiters, as two replicas would, each
// with its own connection pool, against one Redis: a burst of 5 is shared.
func TestRedisReplicasShareLimit(t *testing.T) {
	a := mustRedis(t)
	b := mustRedis(t)
	prefix := scratchPrefix(t, a)
	replicas := []ratelimit.Limiter{ratelimit.NewRedis(a, prefix), ratelimit.NewRedis(b, prefix)}
	lim := ratelimit.Limit{Rate: 1.0 / 3600, Burst: 5}
	for i := range 5 {
		r, err := replicas[i%2].Allow(t.Context(), "client:42", lim)
		if err != nil || !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("request %d on replica %d: %+v, %v; want allowed with remaining %d", i+1, i%2, r, err, 4-i)
		}
	}
	for i, l := range replicas {
		r, err := l.Allow(t.Context(), "client:42", lim)
		if err != nil || r.Allowed || r.RetryAfter <= 0 {
			t.Errorf("6th request on replica %d: %+v, %v; want denied with retry after", i, r, err)
		}
	}
}

// TestRedisKeysExpire checks that the limiter leaves keys with a TTL.
func TestRedisKeysExpire(t *testing.T) {
	client := mustRedis(t)
	prefix := scratchPrefix(t, client)
	l := ratelimit.NewRedis(client, prefix)
	if _, err := l.Allow(t.Context(), "k", ratelimit.Limit{Rate: 1, Burst: 10}); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(t.Context(), prefix+"k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > time.Second {
		t.Errorf("PTTL = %v, want in (0, 1s]: the time until the key is idle", ttl)
	}
}

func TestRedisThrottle(t *testing.T) {
	client := mustRedis(t)
	th := ratelimit.NewThrottle(ratelimit.NewRedisCounters(client, scratchPrefix(t, client)),
		ratelimit.ThrottleConfig{MaxFailures: 4, DelayAfter: 10})
	ctx := t.Context()
	for i := range 4 {
		a, d, err := th.Begin(ctx, "alice", "192.0.2.1")
		if err != nil || a == nil {
			t.Fatalf("attempt %d: Begin = %v, %+v, %v; want an attempt", i+1, a, d, err)
		}
		if _, err := a.Fail(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, d, err := th.Begin(ctx, "alice", "192.0.2.1")
	if err != nil || a != nil || !errors.Is(d.Reason, ratelimit.ErrLocked) || d.Wait <= 0 || d.Wait > 15*time.Minute {
		t.Errorf("after 4 failures: Begin = %v, %+v, %v; want ErrLocked with wait in (0, 15m]", a, d, err)
	}
	if a, d, err := th.Begin(ctx, "alice", "192.0.2.2"); err != nil || a == nil {
		t.Errorf("another address: Begin = %v, %+v, %v; want an attempt (the lock is the address's)", a, d, err)
	} else {
		a.Cancel(ctx)
	}
	if err := th.Forget(ctx, ratelimit.SubjectDigest("alice")); err != nil {
		t.Fatal(err)
	}
	if a, d, err := th.Begin(ctx, "alice", "192.0.2.1"); err != nil || a == nil {
		t.Errorf("after Forget: Begin = %v, %+v, %v; want an attempt", a, d, err)
	}
}

// TestRedisThrottleConcurrentReplicas: two throttles sharing one Redis, as
// two replicas do, admit no more attempts at once than one would.
func TestRedisThrottleConcurrentReplicas(t *testing.T) {
	a, b := mustRedis(t), mustRedis(t)
	prefix := scratchPrefix(t, a)
	cfg := ratelimit.ThrottleConfig{MaxFailures: 6, DelayAfter: 100}
	replicas := []*ratelimit.Throttle{
		ratelimit.NewThrottle(ratelimit.NewRedisCounters(a, prefix), cfg),
		ratelimit.NewThrottle(ratelimit.NewRedisCounters(b, prefix), cfg),
	}
	var admitted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for i := range 30 {
		admitted.Go(func() {
			at, _, err := replicas[i%2].Begin(t.Context(), "alice", "")
			if err != nil {
				t.Errorf("Begin: %v", err)
			}
			if at != nil {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	admitted.Wait()
	if n != 6 {
		t.Errorf("30 attempts at once on two replicas: %d admitted, want 6 (MaxFailures)", n)
	}
}

// TestFallbackRedisDown points a Redis limiter at a closed port: the
// fallback keeps limiting with the local limiter and says so once.
func TestFallbackRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })

	var mu sync.Mutex
	var events []bool
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	l := ratelimit.NewFallback(ratelimit.NewRedis(client, "x:"), ratelimit.NewMemory(nil), logger, func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, on)
	})
	lim := ratelimit.Limit{Rate: 1.0 / 3600, Burst: 2}
	var got []bool
	for range 3 {
		r, err := l.Allow(t.Context(), "k", lim)
		if err != nil {
			t.Fatalf("Allow error = %v, want the local limiter's answer", err)
		}
		got = append(got, r.Allowed)
	}
	if want := []bool{true, true, false}; !equalBools(got, want) {
		t.Errorf("allowed = %v, want %v (local limit enforced)", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if !equalBools(events, []bool{true}) {
		t.Errorf("callback events = %v, want [true] (once)", events)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mustRedis connects to GATEHOUSE_TEST_REDIS_URL or skips (fails under CI).
func mustRedis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_REDIS_URL is not set (required under CI)")
		}
		t.Skip("GATEHOUSE_TEST_REDIS_URL is not set; skipping Redis tests")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse GATEHOUSE_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping redis: %v", err)
	}
	return client
}

// scratchPrefix returns a random key prefix whose keys are deleted when the
// test ends.
func scratchPrefix(t testing.TB, client *redis.Client) string {
	t.Helper()
	prefix := "gatehouse-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("clean up redis keys: %v", err)
		}
	})
	return prefix
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(nil)
	lim := ratelimit.Limit{Rate: 1e9, Burst: 1000} // always allowed: the common case
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Allow(ctx, "apikey:01HZX3", lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryAllowParallel(b *testing.B) {
	m := ratelimit.NewMemory(nil)
	lim := ratelimit.Limit{Rate: 1e9, Burst: 1000}
	keys := []string{"ip:192.0.2.1", "ip:192.0.2.2", "apikey:a", "apikey:b", "user:1", "user:2", "client:x", "client:y"}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, keys[i%len(keys)], lim); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
