package audit

import (
	"sync"
	"time"
)

// Sampler lets one event per key through per window, so that a flood of
// identical refusals (rate limits, locked accounts) costs a handful of
// audit rows instead of one per request. It is safe for concurrent use.
//
// Window defaults to one minute and Now to [time.Now]. At most MaxKeys
// keys (default 65536) are remembered; when full, the map is cleared,
// which at worst lets a few more events through.
type Sampler struct {
	Window  time.Duration
	MaxKeys int
	Now     func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
}

// Allow reports whether an event for key should be recorded now, and if so
// starts a new window for it.
func (s *Sampler) Allow(key string) bool {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	window := s.Window
	if window <= 0 {
		window = time.Minute
	}
	maxKeys := s.MaxKeys
	if maxKeys <= 0 {
		maxKeys = 1 << 16
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.last[key]; ok && now.Sub(t) < window && !now.Before(t) {
		return false
	}
	if s.last == nil || len(s.last) >= maxKeys {
		s.last = make(map[string]time.Time)
	}
	s.last[key] = now
	return true
}
