package gatehouse

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Server is a running gatehouse authorization server. It is an
// http.Handler; use Mount to add its routes to your own mux instead.
type Server struct {
	cfg      Config
	log      *slog.Logger
	db       *sqlstore.DB
	keys     *signing.Keys
	worker   *password.Worker // nil when passwords hash in this process
	manager  *service.Manager
	guard    *guard.Guard
	deny     *guard.DenyList
	feed     *revocation.Feed
	registry *prometheus.Registry
	redis    *redis.Client // nil without Config.RedisURL

	routes  route.List     // every endpoint, once
	inner   *http.ServeMux // the routes registered
	handler http.Handler   // inner behind the middleware
	wrap    func(http.Handler) http.Handler

	// background is the work New starts and Close stops.
	background   []func(context.Context)
	closeStreams func()

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New opens the store named by cfg.DatabaseURL (an SQLite file and its
// master secret are created when missing), applies pending migrations,
// makes sure a signing key and the built-in first-party client exist and
// starts the background work: the revocation feed that keeps replicas in
// step, signing-key reloads and rotation, usage aggregation and
// housekeeping. Close stops it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if w := cfg.issuerWarning(); w != "" {
		r.Logger.Warn(w)
	}
	s, err := build(ctx, r, password.WorkerFrom(ctx))
	if err != nil {
		return nil, err
	}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	for _, f := range s.background {
		s.wg.Go(func() { f(bg) })
	}
	return s, nil
}

// init creates what a serving server needs on first start and loads the
// revocations in force, so the deny list is complete from the first
// request.
func (s *Server) init(ctx context.Context) error {
	created, err := s.keys.Ensure(ctx)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if created {
		s.log.Info("created signing key", "kid", s.keys.ActiveKeyID(), "alg", s.cfg.SigningAlg)
	}
	if err := s.manager.EnsureFirstPartyClient(ctx); err != nil {
		return err
	}
	if err := s.feed.Sync(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	return nil
}

// Close stops background work, ends the revocation-feed streams and closes
// the store. In-flight requests should be drained first
// (http.Server.Shutdown).
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.closeStreams()
		if s.redis != nil {
			_ = s.redis.Close()
		}
		err = s.db.Close()
	})
	return err
}

// ServeHTTP serves every gatehouse route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Mount registers gatehouse's routes on mux, each wrapped in gatehouse's
// middleware (request id, panic recovery, access log, body limit, rate
// limits). It registers the paths of its routes only, never "/".
func (s *Server) Mount(mux *http.ServeMux) {
	h := s.wrap(jsonMux{s.inner})
	for _, p := range s.routes.Paths() {
		mux.Handle(p, h)
	}
}

// Guard returns the embedded guard: it verifies tokens with the server's
// keys and API keys against its store, and sees revocations at once.
func (s *Server) Guard() *guard.Guard { return s.guard }

// Registry returns the Prometheus registry behind /metrics, so an
// embedding application can add its own collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// CloseStreams ends every open revocation-feed stream (GET
// /oauth2/revocations); Close calls it too. Register it with
// http.Server.RegisterOnShutdown, because Shutdown waits for active
// requests and a stream never ends by itself. Followers reconnect (to
// another replica) and resume from their cursor.
func (s *Server) CloseStreams() { s.closeStreams() }

// Config returns the configuration in effect, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// jsonMux answers requests that match no route with a JSON 404 or 405
// instead of ServeMux's plain-text pages.
type jsonMux struct{ *http.ServeMux }

func (m jsonMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := m.Handler(r)
	if pattern != "" {
		m.ServeMux.ServeHTTP(w, r)
		return
	}
	// Let the mux decide between 404 and 405 (and set Allow), then write
	// our own body.
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if probe.status == http.StatusMethodNotAllowed {
		jsonerror.Write(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed here")
		return
	}
	jsonerror.Write(w, http.StatusNotFound, "not_found", "no such endpoint")
}

// statusProbe records the status a handler would send, discarding the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }

// Migrate applies pending schema migrations to the store named by
// cfg.DatabaseURL and returns how many were pending.
func Migrate(ctx context.Context, cfg Config) (int, error) {
	cfg.setDefaults()
	db, err := sqlstore.OpenWith(ctx, cfg.DatabaseURL, sqlstore.Options{Logger: cfg.Logger})
	if err != nil {
		return 0, fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	n, err := db.Pending(ctx)
	if err != nil {
		return 0, fmt.Errorf("check migrations: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return n, nil
}
