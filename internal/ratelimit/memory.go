package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	memoryShards = 64 // a power of two
	// defaultMemoryKeys bounds the number of keys a Memory tracks, about
	// 100 bytes each.
	defaultMemoryKeys = 1 << 20
	// sweepInterval is how often a shard drops its idle keys.
	sweepInterval = time.Minute
)

// Memory is an in-process [Limiter] for a single node. Keys live in 64
// shards, each a map from key to GCRA timestamp behind its own mutex, so
// concurrent requests rarely wait on each other. Allow and AllowBytes do
// not allocate for a key the limiter already tracks: each timestamp sits in
// its own small cell that is updated in place, so a key built in a caller's
// buffer ([Memory.AllowBytes]) is copied into a string only when it is new.
//
// A key whose timestamp lies in the past is idle: its state equals that of a
// fresh key. Each shard drops its idle keys once a minute, during a call.
// The number of keys is bounded (about a million); when a shard is full of
// active keys, arbitrary ones are forgotten, which lets those keys start
// afresh rather than letting memory grow without bound.
type Memory struct {
	now         func() time.Time
	seed        maphash.Seed
	maxPerShard int
	shards      [memoryShards]memoryShard
}

type memoryShard struct {
	mu        sync.Mutex
	tats      map[string]*tatCell
	nextSweep int64
	_         [40]byte // keep shards on separate cache lines
}

// tatCell holds one key's theoretical arrival time in unix nanoseconds.
type tatCell struct{ tat int64 }

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty memory limiter reading time from now (nil means
// time.Now).
func NewMemory(now func() time.Time) *Memory {
	return newMemory(now, defaultMemoryKeys)
}

func newMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed(), maxPerShard: max(1, maxKeys/memoryShards)}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]*tatCell)
	}
	return m
}

// Allow implements [Limiter]. It never returns an error.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.Unlimited() {
		return Result{Allowed: true}, nil
	}
	now := m.now().UnixNano()
	s := &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]
	s.mu.Lock()
	s.maybeSweep(now)
	c := s.tats[key]
	res, newTat := decide(now, c, l)
	if res.Allowed {
		if c != nil {
			c.tat = newTat
		} else {
			m.insert(s, now, key, newTat)
		}
	}
	s.mu.Unlock()
	return res, nil
}

// AllowBytes is Allow for a key held in a byte slice, which it does not
// keep, so that a caller can build its keys in a buffer of its own instead
// of allocating a string per event. It never returns an error.
func (m *Memory) AllowBytes(_ context.Context, key []byte, l Limit) (Result, error) {
	if l.Unlimited() {
		return Result{Allowed: true}, nil
	}
	now := m.now().UnixNano()
	s := &m.shards[maphash.Bytes(m.seed, key)&(memoryShards-1)]
	s.mu.Lock()
	s.maybeSweep(now)
	c := s.tats[string(key)] // no copy: the compiler looks up in place
	res, newTat := decide(now, c, l)
	if res.Allowed {
		if c != nil {
			c.tat = newTat
		} else {
			m.insert(s, now, string(key), newTat)
		}
	}
	s.mu.Unlock()
	return res, nil
}

// Peek implements [Limiter]. It never returns an error.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Result, error) {
	if l.Unlimited() {
		return Result{Allowed: true}, nil
	}
	now := m.now().UnixNano()
	s := &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]
	s.mu.Lock()
	res, _ := decide(now, s.tats[key], l)
	s.mu.Unlock()
	return res, nil
}

// maybeSweep drops idle keys once a sweepInterval. The caller holds s.mu.
func (s *memoryShard) maybeSweep(now int64) {
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + int64(sweepInterval)
	}
}

// decide applies l to a key's cell (nil for a key without state) at now.
func decide(now int64, c *tatCell, l Limit) (Result, int64) {
	var tat int64
	if c != nil {
		tat = c.tat
	}
	burst := l.burst()
	newTat, allowed, remaining, reset, retryAfter := gcra(now, tat, l.intervalNanos(), burst)
	return Result{
		Allowed:    allowed,
		Limit:      clampInt(burst),
		Remaining:  clampInt(remaining),
		Reset:      time.Duration(reset),
		RetryAfter: time.Duration(retryAfter),
	}, newTat
}

// insert stores a new key, making room first when the shard is full. The
// caller holds s.mu.
func (m *Memory) insert(s *memoryShard, now int64, key string, tat int64) {
	if len(s.tats) >= m.maxPerShard {
		s.makeRoom(now)
	}
	s.tats[key] = &tatCell{tat: tat}
}

// sweep drops idle keys. The caller holds s.mu.
func (s *memoryShard) sweep(now int64) {
	for k, c := range s.tats {
		if c.tat <= now {
			delete(s.tats, k)
		}
	}
}

// makeRoom frees at least one slot in a full shard: idle keys first, then
// an eighth of the shard, picked by map iteration order (arbitrary). The
// caller holds s.mu.
func (s *memoryShard) makeRoom(now int64) {
	before := len(s.tats)
	s.sweep(now)
	if len(s.tats) < before {
		return
	}
	drop := max(1, before/8)
	for k := range s.tats {
		delete(s.tats, k)
		if drop--; drop == 0 {
			return
		}
	}
}

// Len returns the number of keys tracked, idle ones included.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}
