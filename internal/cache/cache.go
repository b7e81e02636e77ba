// Package cache holds [Cache], the one bounded read-through cache of the
// hot path: API-key records and users (internal/authn) and OAuth2 clients
// (internal/clientauth). A busy credential costs one store read per TTL,
// not one per request.
//
// Three properties matter more here than in a general-purpose cache:
//
//   - Misses share one load. When a cached record expires under load,
//     every request that needs it misses at the same moment; without
//     sharing, each would read the database, and a busy server sent a
//     burst of identical queries to the connection pool once per TTL — on
//     PostgreSQL under a login flood, bursts that held every request up
//     for a second or more.
//   - An invalidation wins over a load that raced it. A load that started
//     before [Cache.Forget] may have read the old record; its answer is
//     given to the callers that were already waiting, but it is neither
//     stored nor shared with callers that come after the Forget.
//   - The size is bounded by eviction, not by emptying the cache: a flood
//     of unknown ids (negative entries) pushes out entries nobody asks for
//     again, while the credentials in use stay (CLOCK, second chance).
//
// The package imports the standard library only.
package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// LoadTimeout bounds one shared load. A load does not stop when the
// caller that started it goes away (others may be waiting for it), so it
// needs a bound of its own.
const LoadTimeout = 10 * time.Second

// DefaultMaxEntries is the size bound when [Config.MaxEntries] is 0.
const DefaultMaxEntries = 10_000

// Config sets a [Cache]'s freshness and size.
type Config struct {
	// TTL is how long a loaded value is served without asking the loader
	// again. Zero or negative: nothing is kept (every Get loads, and only
	// concurrent Gets of a key share a load).
	TTL time.Duration
	// NegativeTTL is how long a "not found" answer is kept. Zero or
	// negative: not kept, every Get of an unknown key loads.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of entries kept; 0 means
	// [DefaultMaxEntries].
	MaxEntries int
}

// Loader reads the value of key from the source of truth. found false
// means the source has none: a negative answer, kept for
// [Config.NegativeTTL] (v is kept with it and returned as is). An error
// is never kept.
//
// ctx keeps the values of the context of the Get that started the load but
// not its cancellation, and ends after [LoadTimeout].
type Loader[V any] func(ctx context.Context, key string) (v V, found bool, err error)

// Cache is a bounded read-through cache of V by string key. Make one with
// [New]; it is safe for concurrent use.
type Cache[V any] struct {
	load        Loader[V]
	ttl, negTTL time.Duration
	max         int

	mu    sync.RWMutex
	m     map[string]*entry[V]
	ring  []*entry[V] // every entry once, in no order; the CLOCK hand sweeps it
	hand  int
	gen   uint64 // bumped by every invalidation; a load of an older generation is not stored
	calls map[string]*call[V]
}

// entry is one kept answer. Its key, value and times never change after it
// is stored (readers use them outside the lock); a new answer for the key
// is a new entry.
type entry[V any] struct {
	key    string
	v      V
	found  bool
	loaded time.Time     // when the load that produced it started
	ttl    time.Duration // TTL or NegativeTTL
	ref    atomic.Bool   // read since the hand last passed (second chance)
	idx    int           // position in ring; under mu
}

func (e *entry[V]) fresh(now time.Time) bool {
	d := now.Sub(e.loaded)
	return d >= 0 && d < e.ttl // a clock that went back does not extend it
}

// call is one load in flight, shared by the Gets that miss together.
type call[V any] struct {
	gen   uint64
	done  chan struct{}
	v     V
	found bool
	err   error
}

// New returns an empty cache that loads missing and stale keys with load.
func New[V any](cfg Config, load Loader[V]) *Cache[V] {
	c := &Cache[V]{
		load: load, ttl: cfg.TTL, negTTL: cfg.NegativeTTL, max: cfg.MaxEntries,
		m: make(map[string]*entry[V]), calls: make(map[string]*call[V]),
	}
	if c.max <= 0 {
		c.max = DefaultMaxEntries
	}
	return c
}

// Get returns the value of key and whether the source has one: from the
// cache when fresh at now, otherwise from the loader. Concurrent Gets of a
// key that is not fresh share one load. A Get whose ctx ends stops waiting
// and returns ctx's error; the load goes on for the others. A hit
// allocates nothing.
//
// now is the caller's time: callers read their clock once per request
// (reading it costs as much as the rest of a hit) and use it for their
// own checks too. A load started at now keeps its answer fresh until
// now+TTL; a now before that start does not count as fresh.
func (c *Cache[V]) Get(ctx context.Context, key string, now time.Time) (V, bool, error) {
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	if e != nil && e.fresh(now) {
		if !e.ref.Load() { // read before writing: hits on a hot key share the cache line
			e.ref.Store(true)
		}
		return e.v, e.found, nil
	}
	return c.miss(ctx, key, now)
}

// miss joins the load of key of the current generation, starting it if
// there is none.
func (c *Cache[V]) miss(ctx context.Context, key string, now time.Time) (V, bool, error) {
	c.mu.Lock()
	if e := c.m[key]; e != nil && e.fresh(now) { // a load finished meanwhile
		c.mu.Unlock()
		return e.v, e.found, nil
	}
	cl := c.calls[key]
	if cl == nil || cl.gen != c.gen {
		// A load of an older generation may have read what an
		// invalidation since then replaced: start a new one instead of
		// joining it.
		cl = &call[V]{gen: c.gen, done: make(chan struct{})}
		c.calls[key] = cl
		go c.run(ctx, key, cl, now)
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.v, cl.found, cl.err
	case <-ctx.Done():
		var zero V
		return zero, false, ctx.Err()
	}
}

// run loads key for cl and keeps the answer unless an invalidation came
// in between.
func (c *Cache[V]) run(ctx context.Context, key string, cl *call[V], started time.Time) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), LoadTimeout)
	cl.v, cl.found, cl.err = c.load(lctx, key)
	cancel()
	c.mu.Lock()
	if c.calls[key] == cl {
		delete(c.calls, key)
	}
	if cl.err == nil && cl.gen == c.gen {
		c.put(key, cl.v, cl.found, started)
	}
	c.mu.Unlock()
	close(cl.done)
}

// put keeps an answer; c.mu is held.
func (c *Cache[V]) put(key string, v V, found bool, loaded time.Time) {
	ttl := c.ttl
	if !found {
		ttl = c.negTTL
	}
	old := c.m[key]
	if ttl <= 0 || c.ttl <= 0 {
		if old != nil {
			c.remove(old)
		}
		return
	}
	e := &entry[V]{key: key, v: v, found: found, loaded: loaded, ttl: ttl}
	if old != nil {
		e.idx = old.idx
		c.ring[e.idx] = e
		c.m[key] = e
		return
	}
	if len(c.ring) >= c.max {
		c.evict(loaded)
	}
	e.idx = len(c.ring)
	c.ring = append(c.ring, e)
	c.m[key] = e
}

// evict removes one entry: the first one under the hand that is stale or
// was not read since the hand last passed it (CLOCK). Each step clears a
// read mark, so it stops within one turn of the ring. c.mu is held.
func (c *Cache[V]) evict(now time.Time) {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if !e.fresh(now) || !e.ref.Swap(false) {
			c.remove(e) // the last entry moves under the hand: it is looked at next time
			return
		}
		c.hand++
	}
}

// remove drops e, moving the last entry of the ring into its place. c.mu
// is held.
func (c *Cache[V]) remove(e *entry[V]) {
	last := len(c.ring) - 1
	moved := c.ring[last]
	c.ring[e.idx] = moved
	moved.idx = e.idx
	c.ring[last] = nil
	c.ring = c.ring[:last]
	delete(c.m, e.key)
}

// Forget drops key, and makes sure no load that started before the call
// stores its answer or answers a Get that starts after it.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e := c.m[key]; e != nil {
		c.remove(e)
	}
}

// ForgetFunc drops every entry for which drop reports true (the keys of
// one user, say), as [Cache.Forget] does for one key. drop runs under the
// cache's lock and must not call the cache.
func (c *Cache[V]) ForgetFunc(drop func(key string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	// Backwards: remove moves the last entry into the hole, and every
	// entry after i has been looked at already.
	for i := len(c.ring) - 1; i >= 0; i-- {
		if e := c.ring[i]; drop(e.key, e.v) {
			c.remove(e)
		}
	}
}

// ForgetAll empties the cache, as [Cache.Forget] does for one key.
func (c *Cache[V]) ForgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = make(map[string]*entry[V])
	c.ring, c.hand = nil, 0
}

// Len returns the number of entries kept, fresh or not.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ring)
}
