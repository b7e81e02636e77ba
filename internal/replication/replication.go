// Package replication keeps a gatehouse process in step with the others
// that share its store: it runs the revocation feed (polling, and on
// PostgreSQL a LISTEN connection that wakes it at once), reloads the
// signing keys when the change stream says they changed (and every 30 s
// as a safety net), rotates the signing key on schedule, and serves the
// feed to remote guards (GET /oauth2/revocations) behind the one
// client-authentication path.
//
// How a revocation travels: the service layer writes an entry to the
// revocations table and applies it to this replica's deny list at once.
// On PostgreSQL the insert sends pg_notify on commit; every replica's
// listener hears it and wakes its feed, which reads the new entries,
// applies them to its deny list and hands the changes they announce to
// the change stream; the feed then passes them to the remote guards
// following the stream. The feed also polls every 250ms, so a replica
// whose listener is down converges anyway; on SQLite (one node) the
// revoker wakes the local feed directly.
//
// It imports revocation, signing, changes, route, audit and the store's
// listener; no endpoint package.
package replication

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Timings.
const (
	// KeysWatchInterval is the safety net behind the "keys" notices.
	KeysWatchInterval = 30 * time.Second
	// FeedHeartbeat is how often the remote-guard stream says "still here".
	FeedHeartbeat = 2 * time.Second
)

// Rotator rotates the signing key when it is due; every replica asks and
// the store lets exactly one win (service.Manager).
type Rotator interface {
	RotateSigningKeyIfDue(ctx context.Context, a audit.Actor, period time.Duration) (store.SigningKey, bool, error)
}

// Config is what [New] needs. Store, Feed and Keys are required.
type Config struct {
	Store store.Revocations
	Feed  *revocation.Feed
	Keys  *signing.Keys
	// ListenURL is the PostgreSQL URL whose notifications wake the feed;
	// empty on SQLite, where the revoker wakes it.
	ListenURL string
	// Rotator and RotateEvery rotate the signing key on schedule; a zero
	// RotateEvery rotates only when asked.
	Rotator     Rotator
	RotateEvery time.Duration
	// Follower authenticates a remote guard that follows the feed: it
	// writes the refusal itself and returns false.
	Follower func(w http.ResponseWriter, r *http.Request) bool
	Logger   *slog.Logger
	Now      func() time.Time
}

// Replicator is the replication work of one process. Build it with
// [New]; it never changes after.
type Replicator struct {
	cfg       Config
	listener  *sqlstore.Listener // nil on SQLite
	stream    *revocation.Stream
	keysDirty chan struct{} // a keys change arrived: reload
	streams   chan struct{} // closed by CloseStreams
	closeOnce sync.Once
}

// New returns the replicator of cfg; [Replicator.Run] starts its work.
func New(cfg Config) *Replicator {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Replicator{cfg: cfg, keysDirty: make(chan struct{}, 1), streams: make(chan struct{})}
	if cfg.ListenURL != "" {
		r.listener = &sqlstore.Listener{
			URL:      cfg.ListenURL,
			OnNotify: func(string) { cfg.Feed.Notify() },
			// Notifications sent while disconnected are lost: catch up.
			OnConnect: cfg.Feed.Notify,
			Logger:    cfg.Logger,
		}
	}
	r.stream = &revocation.Stream{
		Store: cfg.Store, Feed: cfg.Feed, Authenticate: cfg.Follower,
		Heartbeat: FeedHeartbeat, Now: cfg.Now, Logger: cfg.Logger, Done: r.streams,
	}
	return r
}

// Routes returns the feed remote guards follow.
func (r *Replicator) Routes() []route.Route {
	return []route.Route{route.New("GET", "/oauth2/revocations", r.stream)}
}

// Changed is the replicator's change-stream handler: a signing-key change
// (a rotation or a revocation, here or on another replica) reloads the
// key set.
func (r *Replicator) Changed(c changes.Change) {
	if c.Kind != changes.SigningKeys {
		return
	}
	select {
	case r.keysDirty <- struct{}{}:
	default:
	}
}

// CloseStreams ends every open feed stream; followers reconnect (to
// another replica) and resume from their cursor. Run calls it when its
// context ends.
func (r *Replicator) CloseStreams() { r.closeOnce.Do(func() { close(r.streams) }) }

// Run does the replication work until ctx ends, then closes the streams
// and returns when every part has stopped.
func (r *Replicator) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.cfg.Feed.Run(ctx) })
	if r.listener != nil {
		wg.Go(func() { _ = r.listener.Run(ctx) })
	}
	wg.Go(func() { r.reloadKeysOnNotice(ctx) })
	wg.Go(func() { r.cfg.Keys.Watch(ctx, KeysWatchInterval) })
	if r.cfg.RotateEvery > 0 && r.cfg.Rotator != nil {
		wg.Go(func() { r.autoRotate(ctx) })
	}
	<-ctx.Done()
	r.CloseStreams()
	wg.Wait()
}

func (r *Replicator) reloadKeysOnNotice(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.keysDirty:
			if err := r.cfg.Keys.Reload(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Error("reload signing keys after notice", "err", err)
			}
		}
	}
}

// autoRotate rotates the signing key every RotateEvery. Every replica runs
// it; the store lets exactly one of them win each rotation.
func (r *Replicator) autoRotate(ctx context.Context) {
	period := r.cfg.RotateEvery
	check := max(min(period/10, time.Minute), time.Second)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k, rotated, err := r.cfg.Rotator.RotateSigningKeyIfDue(ctx, audit.Actor{ID: "auto-rotation"}, period)
		switch {
		case err != nil && ctx.Err() == nil:
			r.cfg.Logger.Error("automatic key rotation", "err", err)
		case rotated:
			r.cfg.Logger.Info("signing key rotated automatically", "kid", k.ID, "period", period)
		}
		t.Reset(check)
	}
}
