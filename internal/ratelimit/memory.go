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
// concurrent requests rarely wait on each other, and Allow does not allocate
// for a key it already tracks.
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
	tats      map[string]int64 // unix nanoseconds
	nextSweep int64
	_         [40]byte // keep shards on separate cache lines
}

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
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Allow implements [Limiter]. It never returns an error.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.Unlimited() {
		return Result{Allowed: true}, nil
	}
	now := m.now().UnixNano()
	interval, burst := l.intervalNanos(), l.burst()
	s := &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]

	s.mu.Lock()
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + int64(sweepInterval)
	}
	tat, known := s.tats[key]
	newTat, allowed, remaining, reset, retryAfter := gcra(now, tat, interval, burst)
	if allowed {
		if !known && len(s.tats) >= m.maxPerShard {
			s.makeRoom(now)
		}
		s.tats[key] = newTat
	}
	s.mu.Unlock()

	return Result{
		Allowed:    allowed,
		Limit:      clampInt(burst),
		Remaining:  clampInt(remaining),
		Reset:      time.Duration(reset),
		RetryAfter: time.Duration(retryAfter),
	}, nil
}

// sweep drops idle keys. The caller holds s.mu.
func (s *memoryShard) sweep(now int64) {
	for k, tat := range s.tats {
		if tat <= now {
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
