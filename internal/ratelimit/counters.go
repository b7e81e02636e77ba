package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Count is the state of one expiring counter.
type Count struct {
	N   int64         // 0 for a missing or expired counter
	TTL time.Duration // time until the counter expires; 0 when N is 0
}

// Counters is a store of expiring counters, the memory behind [Throttle].
// Implementations are safe for concurrent use, and each method is one
// atomic step: Incr's check against its bound and its increment cannot be
// split by another caller, which is what lets a [Throttle] reserve an
// attempt before the secret is checked.
type Counters interface {
	// Incr adds one to the counter at key if it is below bound (bound ≤ 0:
	// no bound) and returns its state and whether it added one; at the
	// bound it changes nothing and returns the counter as it is. A new
	// counter expires after ttl; an existing one keeps its expiry unless
	// slide is true, in which case it too is set to expire after ttl.
	Incr(ctx context.Context, key string, bound int64, ttl time.Duration, slide bool) (Count, bool, error)
	// Decr takes one from the counter at key, keeping its expiry; a
	// counter that reaches zero is removed, and a missing one is not an
	// error.
	Decr(ctx context.Context, key string) error
	// Get returns the counter at key, or the zero Count.
	Get(ctx context.Context, key string) (Count, error)
	// Delete removes the counter at key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// defaultCounterKeys bounds a MemoryCounters.
const defaultCounterKeys = 1 << 18

// MemoryCounters is an in-process [Counters]. Expired counters are dropped
// once a minute during a call, and the number of counters is bounded (about
// a quarter million): when full of live counters, arbitrary ones are
// forgotten rather than letting a flood of made-up usernames grow memory
// without bound.
type MemoryCounters struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	m         map[string]memoryCount
	nextSweep time.Time
}

type memoryCount struct {
	n       int64
	expires time.Time
}

var _ Counters = (*MemoryCounters)(nil)

// NewMemoryCounters returns an empty counter store reading time from now
// (nil means time.Now).
func NewMemoryCounters(now func() time.Time) *MemoryCounters {
	return newMemoryCounters(now, defaultCounterKeys)
}

func newMemoryCounters(now func() time.Time, maxKeys int) *MemoryCounters {
	if now == nil {
		now = time.Now
	}
	return &MemoryCounters{now: now, maxKeys: max(1, maxKeys), m: make(map[string]memoryCount)}
}

// Incr implements [Counters]. It never returns an error.
func (c *MemoryCounters) Incr(_ context.Context, key string, bound int64, ttl time.Duration, slide bool) (Count, bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.maybeSweep(now)
	e, ok := c.m[key]
	live := ok && now.Before(e.expires)
	if live && bound > 0 && e.n >= bound {
		return Count{N: e.n, TTL: e.expires.Sub(now)}, false, nil
	}
	if !live {
		if !ok && len(c.m) >= c.maxKeys {
			c.makeRoom(now)
		}
		e = memoryCount{expires: now.Add(ttl)}
	} else if slide {
		e.expires = now.Add(ttl)
	}
	e.n++
	c.m[key] = e
	return Count{N: e.n, TTL: e.expires.Sub(now)}, true, nil
}

// Decr implements [Counters]. It never returns an error.
func (c *MemoryCounters) Decr(_ context.Context, key string) error {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	switch {
	case !ok:
	case e.n <= 1 || !now.Before(e.expires):
		delete(c.m, key)
	default:
		e.n--
		c.m[key] = e
	}
	return nil
}

// Get implements [Counters]. It never returns an error.
func (c *MemoryCounters) Get(_ context.Context, key string) (Count, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.expires) {
		return Count{}, nil
	}
	return Count{N: e.n, TTL: e.expires.Sub(now)}, nil
}

// Delete implements [Counters]. It never returns an error.
func (c *MemoryCounters) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// Len returns the number of counters held, expired ones included.
func (c *MemoryCounters) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *MemoryCounters) maybeSweep(now time.Time) {
	if now.Before(c.nextSweep) {
		return
	}
	c.sweep(now)
	c.nextSweep = now.Add(sweepInterval)
}

func (c *MemoryCounters) sweep(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
}

func (c *MemoryCounters) makeRoom(now time.Time) {
	before := len(c.m)
	c.sweep(now)
	if len(c.m) < before {
		return
	}
	drop := max(1, before/8)
	for k := range c.m {
		delete(c.m, k)
		if drop--; drop == 0 {
			return
		}
	}
}

// incrScript is a bounded INCR plus PEXPIRE as one atomic step. KEYS[1]:
// the key. ARGV[1]: ttl in ms. ARGV[2]: "1" to slide the expiry. ARGV[3]:
// the bound (0: none). Returns {n, pttl, 1 if it added}.
const incrScript = `
local bound = tonumber(ARGV[3])
if bound > 0 and (tonumber(redis.call('GET', KEYS[1])) or 0) >= bound then
  return {tonumber(redis.call('GET', KEYS[1])), redis.call('PTTL', KEYS[1]), 0}
end
local n = redis.call('INCR', KEYS[1])
if n == 1 or ARGV[2] == '1' or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('PTTL', KEYS[1]), 1}
`

// decrScript is DECR that removes the key at zero (DECR keeps the expiry).
const decrScript = `
if (tonumber(redis.call('GET', KEYS[1])) or 0) <= 1 then
  redis.call('DEL', KEYS[1])
  return 0
end
return redis.call('DECR', KEYS[1])
`

// getScript reads a counter and its expiry together. Returns {n, pttl}.
const getScript = `
local n = tonumber(redis.call('GET', KEYS[1])) or 0
return {n, redis.call('PTTL', KEYS[1])}
`

// RedisCounters is a [Counters] in Redis, shared by all replicas. Every
// counter carries an expiry set in the same script as its increment, so no
// key outlives its purpose.
type RedisCounters struct {
	client redis.UniversalClient
	prefix string
	incr   *redis.Script
	decr   *redis.Script
	get    *redis.Script
}

var _ Counters = (*RedisCounters)(nil)

// NewRedisCounters returns counters kept in client under prefix (for
// example "gatehouse:login:").
func NewRedisCounters(client redis.UniversalClient, prefix string) *RedisCounters {
	return &RedisCounters{client: client, prefix: prefix, incr: redis.NewScript(incrScript), decr: redis.NewScript(decrScript),
		get: redis.NewScript(getScript)}
}

// Incr implements [Counters].
func (c *RedisCounters) Incr(ctx context.Context, key string, bound int64, ttl time.Duration, slide bool) (Count, bool, error) {
	slideArg := "0"
	if slide {
		slideArg = "1"
	}
	ms := max(1, ttl.Milliseconds())
	v, err := c.incr.Run(ctx, c.client, []string{c.prefix + key}, strconv.FormatInt(ms, 10), slideArg,
		strconv.FormatInt(max(0, bound), 10)).Int64Slice()
	if err != nil {
		return Count{}, false, fmt.Errorf("redis counter incr: %w", err)
	}
	if len(v) != 3 {
		return Count{}, false, fmt.Errorf("redis counter incr: script returned %d values, want 3", len(v))
	}
	n, err := toCount(v[:2])
	return n, v[2] == 1, err
}

// Decr implements [Counters].
func (c *RedisCounters) Decr(ctx context.Context, key string) error {
	if err := c.decr.Run(ctx, c.client, []string{c.prefix + key}).Err(); err != nil {
		return fmt.Errorf("redis counter decr: %w", err)
	}
	return nil
}

// Get implements [Counters].
func (c *RedisCounters) Get(ctx context.Context, key string) (Count, error) {
	v, err := c.get.Run(ctx, c.client, []string{c.prefix + key}).Int64Slice()
	if err != nil {
		return Count{}, fmt.Errorf("redis counter get: %w", err)
	}
	return toCount(v)
}

// Delete implements [Counters].
func (c *RedisCounters) Delete(ctx context.Context, key string) error {
	if err := c.client.Del(ctx, c.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis counter delete: %w", err)
	}
	return nil
}

func toCount(v []int64) (Count, error) {
	if len(v) != 2 {
		return Count{}, fmt.Errorf("redis counter: script returned %d values, want 2", len(v))
	}
	if v[0] <= 0 || v[1] < 0 { // missing (-2) or, impossibly, no expiry (-1)
		return Count{N: max(0, v[0])}, nil
	}
	return Count{N: v[0], TTL: time.Duration(v[1]) * time.Millisecond}, nil
}
