package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// KeyToucher records API-key last-used times in one batch;
// store.APIKeys implements it.
type KeyToucher interface {
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// UsageAggregator coalesces API-key use. Every verified request calls
// [UsageAggregator.Used], which only counts in memory; [UsageAggregator.Flush]
// turns the counts into one apikey.used event per key per minute and one
// batched last-used update, so a key serving thousands of requests a second
// costs a handful of writes a minute.
//
// Recorder receives the events (Actor and Target are the key id, IP the
// last caller's address, Reason "count=N minute=…"). Keys receives the
// last-used times. Either may be nil to skip that half. Logger (optional)
// reports flush errors from [UsageAggregator.Run]. Now (default [time.Now])
// stamps uses reported with a zero time.
//
// The zero value with the fields set is ready; it is safe for concurrent
// use.
type UsageAggregator struct {
	Recorder *Recorder
	Keys     KeyToucher
	Logger   *slog.Logger
	Now      func() time.Time

	keys sync.Map // key id → *keyUsage
}

type keyUsage struct {
	mu       sync.Mutex
	dead     bool     // removed from the map by Flush; Used must retry
	buckets  []bucket // per minute, oldest first; usually one
	lastUsed time.Time
}

type bucket struct {
	minute time.Time
	count  int64
	lastIP string
	lastAt time.Time
}

// Used counts one use of the API key keyID by ip at time at. It does no
// I/O and takes only a per-key lock, so it is cheap on the request path.
// A zero at means now.
func (a *UsageAggregator) Used(keyID, ip string, at time.Time) {
	if at.IsZero() {
		if a.Now != nil {
			at = a.Now()
		} else {
			at = time.Now()
		}
	}
	minute := at.UTC().Truncate(time.Minute)
	for {
		v, ok := a.keys.Load(keyID)
		if !ok {
			v, _ = a.keys.LoadOrStore(keyID, new(keyUsage))
		}
		u := v.(*keyUsage)
		u.mu.Lock()
		if u.dead {
			u.mu.Unlock()
			continue
		}
		u.add(minute, ip, at)
		u.mu.Unlock()
		return
	}
}

func (u *keyUsage) add(minute time.Time, ip string, at time.Time) {
	if at.After(u.lastUsed) {
		u.lastUsed = at
	}
	// Uses arrive almost in time order, so the bucket is nearly always
	// the last one.
	for i := len(u.buckets) - 1; i >= 0; i-- {
		b := &u.buckets[i]
		if b.minute.Equal(minute) {
			b.count++
			if !at.Before(b.lastAt) {
				b.lastIP, b.lastAt = ip, at
			}
			return
		}
	}
	u.buckets = append(u.buckets, bucket{minute: minute, count: 1, lastIP: ip, lastAt: at})
	slices.SortFunc(u.buckets, func(x, y bucket) int { return x.minute.Compare(y.minute) })
}

// Flush writes what was counted since the last flush: first one
// TouchAPIKeys call with every key's latest use, then one apikey.used event
// per key and minute, in key then minute order. Counts are taken out before
// writing, so a failed write loses them (they are statistics, not
// security decisions); the errors are joined and returned.
func (a *UsageAggregator) Flush(ctx context.Context) error {
	type pending struct {
		id      string
		buckets []bucket
	}
	var (
		batch    []pending
		lastUsed = make(map[string]time.Time)
	)
	a.keys.Range(func(k, v any) bool {
		id, u := k.(string), v.(*keyUsage)
		u.mu.Lock()
		if len(u.buckets) == 0 {
			// Idle since the last flush: forget the key so the map
			// does not grow with every key ever used.
			u.dead = true
			a.keys.CompareAndDelete(k, v)
		} else {
			batch = append(batch, pending{id: id, buckets: u.buckets})
			lastUsed[id] = u.lastUsed
			u.buckets = nil
		}
		u.mu.Unlock()
		return true
	})
	if len(batch) == 0 {
		return nil
	}
	slices.SortFunc(batch, func(x, y pending) int { return strings.Compare(x.id, y.id) })

	var errs []error
	if a.Keys != nil {
		if err := a.Keys.TouchAPIKeys(ctx, lastUsed); err != nil {
			errs = append(errs, fmt.Errorf("touch api keys: %w", err))
		}
	}
	if a.Recorder != nil {
		for _, p := range batch {
			for _, b := range p.buckets {
				err := a.Recorder.Append(ctx, Event{
					Action: APIKeyUsed,
					Actor:  p.id,
					Target: p.id,
					IP:     b.lastIP,
					Result: ResultSuccess,
					Reason: fmt.Sprintf("count=%d minute=%s", b.count, b.minute.Format("2006-01-02T15:04Z")),
				})
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("flush api key usage: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx is done, then flushes once more
// (with ctx's values but not its cancellation, bounded to 10 s) so that a
// graceful shutdown keeps the last counts. Errors are logged.
func (a *UsageAggregator) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flushAndLog(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			a.flushAndLog(final)
			cancel()
			return
		}
	}
}

func (a *UsageAggregator) flushAndLog(ctx context.Context) {
	if err := a.Flush(ctx); err != nil && a.Logger != nil {
		a.Logger.ErrorContext(ctx, "flush api key usage", "err", err)
	}
}
