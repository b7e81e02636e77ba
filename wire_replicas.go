package gatehouse

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// This file wires what makes replicas agree: the revocation feed (polling,
// and PostgreSQL notifications), signing-key reloads and automatic
// rotation, and the feed that remote guards follow.
//
// How a revocation travels: manage writes an entry to the revocations
// table (and applies it to this replica's Set at once). On PostgreSQL the
// insert sends pg_notify on commit; every replica's Listener hears it and
// wakes its Feed, which reads the new entries and applies them to its Set;
// the Feed then passes them to the remote guards following
// GET /oauth2/revocations. The Feed also polls every 250ms, so a replica
// whose listener is down converges anyway, and on SQLite (one node) the
// Revoker wakes the local Feed directly.

// replication is the Server's replication state.
type replication struct {
	listener  *sqlstore.Listener // nil on SQLite
	keysDirty chan struct{}      // a "keys" notice arrived: reload
	streamsMu sync.Mutex
	streams   chan struct{} // closed by CloseStreams
}

// Replication timings.
const (
	// keysWatchInterval is the safety net behind the "keys" notices.
	keysWatchInterval = 30 * time.Second
	// feedHeartbeat is how often the remote-guard stream says "still here".
	feedHeartbeat = 2 * time.Second
)

// mountReplication registers the endpoints remote guards follow and the
// self-service logout.
func (s *Server) mountReplication(mux *http.ServeMux) {
	// New keys are published before they sign, also when the CLI rotates.
	s.keys.SetPublishDelay(s.cfg.KeyPublishDelay)
	mux.Handle("GET /oauth2/revocations", &revocation.Stream{
		Store: s.db, Feed: s.feed, Authenticate: s.authenticateFollower,
		Heartbeat: feedHeartbeat, Now: s.cfg.Now, Logger: s.log, Done: s.streamsDone(),
	})
	lh := &api.LogoutHandler{Manager: s.manager, Guard: s.guard, Logger: s.log, ActorFrom: s.actor}
	lh.Mount(mux)
}

func (s *Server) streamsDone() chan struct{} {
	s.repl.streamsMu.Lock()
	defer s.repl.streamsMu.Unlock()
	if s.repl.streams == nil {
		s.repl.streams = make(chan struct{})
	}
	return s.repl.streams
}

// CloseStreams ends every open revocation-feed stream (GET
// /oauth2/revocations); Close calls it too. Register it with
// http.Server.RegisterOnShutdown, because Shutdown waits for active
// requests and a stream never ends by itself. Followers reconnect (to
// another replica) and resume from their cursor.
func (s *Server) CloseStreams() {
	ch := s.streamsDone()
	s.repl.streamsMu.Lock()
	defer s.repl.streamsMu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// ListenerPID returns the PostgreSQL backend pid of this replica's
// revocation listener (0 when it is disconnected or on SQLite).
func (s *Server) ListenerPID() uint32 {
	if s.repl.listener == nil {
		return 0
	}
	return s.repl.listener.PID()
}

// startReplication starts the background work that keeps this replica in
// step with the others; run starts one goroutine that ends with ctx.
func (s *Server) startReplication(ctx context.Context, run func(func(context.Context))) {
	s.repl.keysDirty = make(chan struct{}, 1)
	s.feed.OnEntries = s.onRevocations
	if s.manager.Revoker != nil {
		s.manager.Revoker.Notify = s.feed.Notify
	}
	run(func(ctx context.Context) { _ = s.feed.Run(ctx) })
	if isPostgres(s.cfg.DatabaseURL) {
		s.repl.listener = &sqlstore.Listener{
			URL:      s.cfg.DatabaseURL,
			OnNotify: func(string) { s.feed.Notify() },
			// Notifications sent while disconnected are lost: catch up.
			OnConnect: s.feed.Notify,
			Logger:    s.log,
		}
		run(func(ctx context.Context) { _ = s.repl.listener.Run(ctx) })
	}
	run(func(ctx context.Context) { <-ctx.Done(); s.CloseStreams() })
	run(s.reloadKeysOnNotice)
	run(func(ctx context.Context) { s.keys.Watch(ctx, keysWatchInterval) })
	if s.cfg.KeyRotation > 0 {
		run(s.autoRotate)
	}
}

// onRevocations learns every new feed entry (under the Feed's lock: it
// only drops caches and flags work).
func (s *Server) onRevocations(rs []store.Revocation) {
	for _, r := range rs {
		switch r.Kind {
		case store.RevokeAPIKey:
			s.invalidate(r.Value, "")
		case store.RevokeUser:
			// A disabled user's API keys must stop at once: drop what the
			// verifier cached about them.
			s.invalidate("", r.Value)
		case store.RevokeKey:
			s.markKeysDirty()
		case store.RevokeEvent:
			switch {
			case r.Value == manage.EventKeysChanged:
				s.markKeysDirty()
			case strings.HasPrefix(r.Value, "apikey:"):
				s.invalidate(strings.TrimPrefix(r.Value, "apikey:"), "")
			default:
				if digest, ok := manage.UnlockedSubject(r.Value); ok {
					s.forgetLogins(digest)
				}
			}
		}
	}
}

func (s *Server) markKeysDirty() {
	select {
	case s.repl.keysDirty <- struct{}{}:
	default:
	}
}

func (s *Server) reloadKeysOnNotice(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.repl.keysDirty:
			if err := s.keys.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("reload signing keys after notice", "err", err)
			}
		}
	}
}

// autoRotate rotates the signing key every Config.KeyRotation. Every
// replica runs it; the store lets exactly one of them win each rotation.
func (s *Server) autoRotate(ctx context.Context) {
	period := s.cfg.KeyRotation
	check := max(min(period/10, time.Minute), time.Second)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k, rotated, err := s.manager.RotateSigningKeyIfDue(ctx, manage.Actor{ID: "auto-rotation"}, period)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("automatic key rotation", "err", err)
		case rotated:
			s.log.Info("signing key rotated automatically", "kid", k.ID, "period", period)
		}
		t.Reset(check)
	}
}

// authenticateFollower lets a confidential client follow the revocation
// feed; it authenticates with HTTP Basic (client_secret_basic, RFC 6749
// §2.3.1) as at the token endpoint.
func (s *Server) authenticateFollower(w http.ResponseWriter, r *http.Request) bool {
	ca, oerr := oauth.ClientCredentials(r, nil)
	if oerr != nil {
		oauth.WriteError(w, oerr)
		return false
	}
	fail := func() bool {
		e := oauth.Errorf(oauth.InvalidClient, "a confidential client must authenticate with HTTP Basic to follow the revocation feed")
		e.UseBasic = true
		oauth.WriteError(w, e)
		return false
	}
	if ca.ID == "" || ca.Secret == "" {
		return fail()
	}
	c, err := s.db.GetClient(r.Context(), ca.ID)
	if errors.Is(err, store.ErrNotFound) {
		return fail()
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "revocation feed: get client", "err", err)
		oauth.WriteError(w, oauth.Errorf(oauth.ServerError, "internal error"))
		return false
	}
	if c.Public || !secret.Matches(c.SecretHash, ca.Secret) {
		return fail()
	}
	return true
}
