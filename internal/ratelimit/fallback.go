package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff bounds for retrying a failed primary.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// breaker tracks whether a primary backend is usable. While it is down, one
// caller at a time probes it after a backoff that doubles up to maxBackoff.
type breaker struct {
	what       string // for log lines: "rate limiter", "login throttle counters"
	logger     *slog.Logger
	onFallback func(bool)
	now        func() time.Time

	// down mirrors the state for a lock-free fast path while the primary
	// is healthy; it is written only under mu.
	down atomic.Bool

	mu      sync.Mutex
	retryAt time.Time
	backoff time.Duration
}

func newBreaker(what string, logger *slog.Logger, onFallback func(bool)) *breaker {
	if logger == nil {
		logger = slog.Default()
	}
	return &breaker{what: what, logger: logger, onFallback: onFallback, now: time.Now, backoff: minBackoff}
}

// usePrimary reports whether the caller should try the primary. When the
// primary is down and its backoff has passed, the first caller to ask gets
// true and becomes the probe; the others keep using the local backend.
func (b *breaker) usePrimary() bool {
	if !b.down.Load() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.down.Load() {
		return true
	}
	now := b.now()
	if now.Before(b.retryAt) {
		return false
	}
	b.retryAt = now.Add(b.backoff)
	return true
}

// report records the outcome of a primary call, logs a transition once and
// tells onFallback (under the lock, so transitions arrive in order).
func (b *breaker) report(ctx context.Context, err error) {
	if err == nil && !b.down.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		if b.down.Load() {
			b.down.Store(false)
			b.backoff = minBackoff
			b.logger.InfoContext(ctx, b.what+" backend is back, leaving local fallback")
			if b.onFallback != nil {
				b.onFallback(false)
			}
		}
		return
	}
	if !b.down.Load() {
		b.down.Store(true)
		b.backoff = minBackoff
		b.logger.WarnContext(ctx, b.what+" backend failed, using local fallback", "err", err)
		if b.onFallback != nil {
			b.onFallback(true)
		}
	} else {
		b.backoff = min(2*b.backoff, maxBackoff)
	}
	b.retryAt = b.now().Add(b.backoff)
}

// Fallback is a [Limiter] that asks a primary limiter (Redis) and, while the
// primary fails, a local one (memory) instead: limits stay in force per node
// rather than failing open or shutting the API down when Redis is away. It
// logs once per transition, not per request, and retries the primary after a
// backoff that starts at one second and doubles up to 30 seconds, one probe
// at a time.
//
// An error caused by the caller's context (cancelled, deadline passed) is
// returned as it is and says nothing about the primary's health.
type Fallback struct {
	primary, local Limiter
	b              *breaker
}

var _ Limiter = (*Fallback)(nil)

// NewFallback returns a Fallback over primary and local. onFallback, if not
// nil, is called with true when the fallback starts and false when the
// primary is back, for a metric; it must be quick and must not call back
// into the limiter. A nil logger means slog.Default().
func NewFallback(primary, local Limiter, logger *slog.Logger, onFallback func(bool)) *Fallback {
	return &Fallback{primary: primary, local: local, b: newBreaker("rate limiter", logger, onFallback)}
}

// Allow implements [Limiter]. It returns an error only when the local
// limiter fails or the caller's context ends.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return fallbackDo(ctx, f.b,
		func() (Result, error) { return f.primary.Allow(ctx, key, l) },
		func() (Result, error) { return f.local.Allow(ctx, key, l) })
}

// Peek implements [Limiter], like Allow.
func (f *Fallback) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return fallbackDo(ctx, f.b,
		func() (Result, error) { return f.primary.Peek(ctx, key, l) },
		func() (Result, error) { return f.local.Peek(ctx, key, l) })
}

// FallbackCounters is [Fallback] for login-throttle [Counters].
type FallbackCounters struct {
	primary, local Counters
	b              *breaker
}

var _ Counters = (*FallbackCounters)(nil)

// NewFallbackCounters returns counters that use primary and, while it
// fails, local, with the same logging, callback and backoff as
// [NewFallback]. Counts made locally are not copied back to the primary.
func NewFallbackCounters(primary, local Counters, logger *slog.Logger, onFallback func(bool)) *FallbackCounters {
	return &FallbackCounters{primary: primary, local: local, b: newBreaker("login throttle counters", logger, onFallback)}
}

// fallbackDo calls primary when the breaker allows and local otherwise or
// when primary fails for a reason other than the caller's context.
func fallbackDo[T any](ctx context.Context, b *breaker, primary, local func() (T, error)) (T, error) {
	if b.usePrimary() {
		v, err := primary()
		if err == nil || ctx.Err() != nil {
			if err == nil {
				b.report(ctx, nil)
			}
			return v, err
		}
		b.report(ctx, err)
	}
	return local()
}

// incrResult is Incr's two values, for fallbackDo.
type incrResult struct {
	c     Count
	added bool
}

// Incr implements [Counters].
func (f *FallbackCounters) Incr(ctx context.Context, key string, bound int64, ttl time.Duration, slide bool) (Count, bool, error) {
	r, err := fallbackDo(ctx, f.b,
		func() (incrResult, error) {
			c, added, err := f.primary.Incr(ctx, key, bound, ttl, slide)
			return incrResult{c, added}, err
		},
		func() (incrResult, error) {
			c, added, err := f.local.Incr(ctx, key, bound, ttl, slide)
			return incrResult{c, added}, err
		})
	return r.c, r.added, err
}

// Decr implements [Counters]. A reservation taken on one backend and
// given back while the other is in use is lost on the first, where it
// expires with its counter.
func (f *FallbackCounters) Decr(ctx context.Context, key string) error {
	_, err := fallbackDo(ctx, f.b,
		func() (struct{}, error) { return struct{}{}, f.primary.Decr(ctx, key) },
		func() (struct{}, error) { return struct{}{}, f.local.Decr(ctx, key) })
	return err
}

// Get implements [Counters].
func (f *FallbackCounters) Get(ctx context.Context, key string) (Count, error) {
	return fallbackDo(ctx, f.b,
		func() (Count, error) { return f.primary.Get(ctx, key) },
		func() (Count, error) { return f.local.Get(ctx, key) })
}

// Delete implements [Counters].
func (f *FallbackCounters) Delete(ctx context.Context, key string) error {
	_, err := fallbackDo(ctx, f.b,
		func() (struct{}, error) { return struct{}{}, f.primary.Delete(ctx, key) },
		func() (struct{}, error) { return struct{}{}, f.local.Delete(ctx, key) })
	return err
}
