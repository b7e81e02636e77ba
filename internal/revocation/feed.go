package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Feed keeps a [guard.DenyList] in step with the store's revocation feed
// by polling.
//
// Store and DenyList are required. Interval is the time between polls (default
// 250ms; [Feed.Notify] cuts a wait short). Window (default 5s) is how far
// behind the cursor each poll re-reads, see [Feed.Sync]. Now defaults to
// [time.Now]. Logger (optional) receives poll errors. OnLag (optional) is
// called after every poll with the time since the start of the last
// successful poll: about the poll's duration while healthy, growing while
// the store is unreachable, so it makes a good gauge to alert on.
//
// Set the fields before calling any method; the methods are safe for
// concurrent use.
type Feed struct {
	Store    store.Revocations
	DenyList *guard.DenyList
	Interval time.Duration
	Window   time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
	OnLag    func(time.Duration)
	// OnEntries, when set, receives after each successful Sync the entries
	// it read that no earlier Sync passed on (Seq above the highest one
	// delivered so far), in Seq order. It runs under the Feed's lock: it
	// must be quick and must not call Sync. The wiring uses it to drop
	// caches (a revoked API key, a disabled user) and to reload keys.
	OnEntries func([]store.Revocation)
	// Wake, when set, is how writers of entries (a [Revoker], a
	// PostgreSQL listener) wake the feed early; nil means the feed's own.
	Wake *Wake

	mu        sync.Mutex // serialises Sync
	delivered int64      // highest Seq passed to OnEntries and subscribers
	subs      map[*subscriber]struct{}
	samples   []sample  // cursor after each recent poll, oldest first
	lastOK    time.Time // start of the last successful poll

	wakeOnce sync.Once
	wakeCh   chan struct{}
}

// sample is the deny list's cursor after a poll that ended at time at.
type sample struct {
	at     time.Time
	cursor int64
}

// Defaults of the Feed's tunables.
const (
	DefaultInterval = 250 * time.Millisecond
	DefaultWindow   = 5 * time.Second
	// pollBatch is the page size of one ListRevocations call.
	pollBatch = 1000
)

func (f *Feed) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Feed) wake() chan struct{} {
	if f.Wake != nil {
		return f.Wake.ch
	}
	f.wakeOnce.Do(func() { f.wakeCh = make(chan struct{}, 1) })
	return f.wakeCh
}

// Wake wakes a [Feed] for an early poll. The feed and whoever writes
// entries hold the same one, built before either of them. Make it with
// [NewWake]; it is safe for concurrent use.
type Wake struct{ ch chan struct{} }

// NewWake returns a Wake.
func NewWake() *Wake { return &Wake{ch: make(chan struct{}, 1)} }

// Notify asks for a poll now rather than at the next tick. It never
// blocks; notifications during a poll coalesce into one more poll.
func (w *Wake) Notify() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// Notify wakes a running [Feed.Run] to poll now rather than at the next
// tick. It never blocks; notifications during a poll coalesce into one
// more poll. A PostgreSQL LISTEN on the store's notification channel is
// meant to call it.
func (f *Feed) Notify() {
	select {
	case f.wake() <- struct{}{}:
	default:
	}
}

// Sync catches up once: it reads every unexpired entry after the read
// point and applies it to the deny list, then sweeps the list if due.
//
// The read point is not the deny list's cursor but the cursor as it was Window
// ago (0 until the feed has run that long). Sequence numbers are handed
// out when a transaction inserts, not when it commits, so on a database
// that lets writers commit out of order an entry with a lower Seq can
// become visible after a higher one was read; re-reading the entries of
// the last few seconds catches it, and Apply is idempotent. (sqlstore
// orders commits on PostgreSQL as well, so this is a second line of
// defence; it costs re-reading the last Window of entries on each poll.)
func (f *Feed) Sync(ctx context.Context) error {
	if f.Store == nil || f.DenyList == nil {
		return errors.New("sync revocations: feed has no store or deny list")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	start := f.now()
	after := f.readFrom(start)
	var fresh []store.Revocation
	for {
		rs, err := f.Store.ListRevocations(ctx, after, start, pollBatch)
		if err != nil {
			return fmt.Errorf("sync revocations: %w", err)
		}
		for _, r := range rs {
			f.DenyList.Apply(feedEntry(r))
			if r.Seq > f.delivered {
				fresh = append(fresh, r)
			}
		}
		if len(rs) < pollBatch {
			break
		}
		after = rs[len(rs)-1].Seq
	}
	if len(fresh) > 0 {
		f.delivered = fresh[len(fresh)-1].Seq
		if f.OnEntries != nil {
			f.OnEntries(fresh)
		}
		f.publish(fresh)
	}
	f.DenyList.SweepIfDue()
	f.lastOK = start
	f.record(f.now())
	return nil
}

func (f *Feed) window() time.Duration {
	if f.Window > 0 {
		return f.Window
	}
	return DefaultWindow
}

// readFrom returns the cursor of the newest sample taken at least Window
// before now, or 0.
func (f *Feed) readFrom(now time.Time) int64 {
	limit := now.Add(-f.window())
	var from int64
	for _, s := range f.samples {
		if s.at.After(limit) {
			break
		}
		from = s.cursor
	}
	return from
}

// record appends a sample and forgets those no read point will need: all
// but the newest one older than Window.
func (f *Feed) record(now time.Time) {
	f.samples = append(f.samples, sample{at: now, cursor: f.DenyList.Cursor()})
	limit := now.Add(-f.window())
	drop := 0
	for i := 0; i+1 < len(f.samples) && !f.samples[i+1].at.After(limit); i++ {
		drop = i + 1
	}
	f.samples = append(f.samples[:0], f.samples[drop:]...)
}

// LastSync returns when the last successful [Feed.Sync] started (zero
// before the first): everything committed before then has been applied.
func (f *Feed) LastSync() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastOK
}

// Run polls until ctx is done, then returns nil. Failed polls are logged
// and retried at the next tick. Callers usually run [Feed.Sync] once
// before serving, so that the deny list is complete from the first request.
func (f *Feed) Run(ctx context.Context) error {
	interval := f.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	started := f.now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-f.wake():
		}
		if err := f.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if f.Logger != nil {
				f.Logger.ErrorContext(ctx, "revocation feed poll failed", "err", err)
			}
		}
		if f.OnLag != nil {
			f.mu.Lock()
			last := f.lastOK
			f.mu.Unlock()
			if last.IsZero() {
				last = started
			}
			f.OnLag(f.now().Sub(last))
		}
		t.Reset(interval)
	}
}

// Revoker revokes: it writes an entry to the store, for every replica's
// [Feed], and applies it to the local deny list at once, so this process
// refuses the credential before its own feed polls.
//
// Store may be nil for a process without a shared store (the entry is then
// only local). DenyList may be nil when the process checks nothing itself. Now
// defaults to [time.Now]. A Revoker is safe for concurrent use.
type Revoker struct {
	Store    store.Revocations
	DenyList *guard.DenyList
	Now      func() time.Time
	// Wake, when set, is woken after each entry is stored, so the local
	// feed passes the entry on to its subscribers (remote guards) without
	// waiting for its next poll.
	Wake *Wake
}

// Revoke records a revocation of the given kind (one of the guard.Revoke*
// constants) for value, in force for tokens issued at or before at (for
// user and client kinds; a zero at means now) until expires, which must be
// set: choose it as the longest remaining lifetime of what it revokes.
//
// When the store write fails the entry is still applied locally, so this
// process refuses at once, and the error is returned: other replicas have
// not heard of it.
func (r *Revoker) Revoke(ctx context.Context, kind, value string, at, expires time.Time) error {
	switch kind {
	case guard.RevokeToken, guard.RevokeFamily, guard.RevokeAPIKey, guard.RevokeClient,
		guard.RevokeUser, guard.RevokeKey, guard.RevokeEvent:
	default:
		return fmt.Errorf("revoke: unknown kind %q", kind)
	}
	if value == "" {
		return fmt.Errorf("revoke %s: empty value", kind)
	}
	if expires.IsZero() {
		return fmt.Errorf("revoke %s: no expiry", kind)
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	if at.IsZero() {
		at = now
	}
	entry := store.Revocation{
		Kind:      kind,
		Value:     value,
		At:        store.Normalize(at),
		ExpiresAt: store.Normalize(expires),
		CreatedAt: store.Normalize(now),
	}
	var err error
	if r.Store != nil {
		var stored store.Revocation
		stored, err = r.Store.AddRevocation(ctx, entry)
		if err == nil {
			entry = stored
			if r.Wake != nil {
				defer r.Wake.Notify()
			}
		} else {
			err = fmt.Errorf("revoke %s: %w", kind, err)
		}
	}
	if r.DenyList != nil {
		r.DenyList.Apply(feedEntry(entry))
	}
	return err
}

// feedEntry is r as the deny list and the remote guards read it.
func feedEntry(r store.Revocation) guard.FeedEntry {
	return guard.FeedEntry{Seq: r.Seq, Kind: r.Kind, Value: r.Value, At: r.At, ExpiresAt: r.ExpiresAt}
}
