package gatehouse

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/text"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Server is a running gatehouse authorization server. It is an
// http.Handler; use Mount to add its routes to your own mux instead.
type Server struct {
	cfg      Config
	log      *slog.Logger
	db       *sqlstore.DB
	keys     *signing.Keys
	hasher   *password.Hasher
	pwWorker *password.Worker // nil when passwords hash in this process
	manager  *manage.Manager
	guard    *guard.Guard
	revoked  *revocation.Set
	feed     *revocation.Feed
	usage    *audit.UsageAggregator
	users    *manage.UserCache
	verifier *manage.Verifier
	ip       httpmw.IPResolver
	registry *prometheus.Registry
	metrics  *httpmw.Metrics
	stats    *metricSet // gatehouse's own collectors (wire_metrics.go)
	repl     replication
	oauth    oauthState // wire_oauth.go
	abuse    abuseState // wire_abuse.go

	handler http.Handler
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.Once
}

// New opens the store named by cfg.DatabaseURL, applies pending
// migrations, makes sure a signing key and the built-in first-party client
// exist and starts the background work (revocation feed, usage
// aggregation). Close stops it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	s, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if w := cfg.issuerWarning(); w != "" {
		s.log.Warn(w)
	}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if cfg.PasswordWorker != "" {
		s.startPasswordWorker()
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.start(bg)
	return s, nil
}

// newHasher returns the password hasher of s's configuration, hashing in
// worker when it is not nil.
func (s *Server) newHasher(worker *password.Worker) *password.Hasher {
	params := password.DefaultParams()
	if s.cfg.InsecureFastPasswordHashing {
		params = password.TestParams()
	}
	return password.New(password.Config{
		Params: params, MaxConcurrent: s.cfg.PasswordHashConcurrency, OnWait: s.observeHashWait, Worker: worker,
	})
}

// RunPasswordWorkerIfChild turns the process into gatehouse's password
// hashing worker when a Server started it as one (see
// Config.PasswordWorker): it then hashes for its parent until the parent
// goes away, and exits. Otherwise it returns at once. Call it first in main:
//
//	func main() {
//		gatehouse.RunPasswordWorkerIfChild()
//		exe, _ := os.Executable()
//		srv, err := gatehouse.New(ctx, gatehouse.Config{PasswordWorker: exe})
//		...
//	}
func RunPasswordWorkerIfChild() { password.RunWorkerIfChild() }

// startPasswordWorker moves password hashing into a child process running
// Config.PasswordWorker. A serving server only: tools that Open the store
// hash a password or two and need no process for it. If the worker does
// not start, hashing stays in this process and the error is logged.
func (s *Server) startPasswordWorker() {
	w, err := password.StartWorker(password.WorkerConfig{Path: s.cfg.PasswordWorker, Logger: s.log})
	if err != nil {
		s.log.Error("password worker did not start; hashing passwords in the server process", "err", err)
		return
	}
	s.log.Info("password worker started", "pid", w.PID())
	s.pwWorker = w
	s.hasher = s.newHasher(w)
	s.manager.Hasher = s.hasher
}

// Open opens the store, applies pending migrations and wires every
// component, but starts nothing and creates no key: it is what tools such
// as the CLI use to work on a server's database, even while the server
// runs. Like New, it creates an SQLite database (and its master secret)
// that does not exist yet. Close it when done.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	return open(ctx, cfg, false)
}

// ErrNoDatabase is returned (wrapped, saying where it looked) by
// OpenExisting when there is no gatehouse database.
var ErrNoDatabase = sqlstore.ErrNoDatabase

// OpenExisting is Open for tools that read or change what is already there:
// it creates nothing. A missing SQLite file, or a database (SQLite or
// PostgreSQL) on which no migration ever ran, is [ErrNoDatabase]; a
// missing master secret is an error rather than a new one.
func OpenExisting(ctx context.Context, cfg Config) (*Server, error) {
	return open(ctx, cfg, true)
}

func open(ctx context.Context, cfg Config, mustExist bool) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	if err := s.open(ctx, mustExist); err != nil {
		return nil, err
	}
	if err := s.db.Migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.build(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// init creates what a serving server needs on first start.
func (s *Server) init(ctx context.Context) error {
	created, err := s.keys.Ensure(ctx)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if created {
		s.log.Info("created signing key", "kid", s.keys.ActiveKeyID(), "alg", s.cfg.SigningAlg)
	}
	if err := s.ensureFirstPartyClient(ctx); err != nil {
		return err
	}
	if err := s.feed.Sync(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	return nil
}

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

// Keys returns the signing keys (for `gatehouse key`).
func (s *Server) Keys() *signing.Keys { return s.keys }

// Config returns the configuration in effect, defaults applied.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) open(ctx context.Context, mustExist bool) error {
	db, err := sqlstore.OpenWith(ctx, s.cfg.DatabaseURL, sqlstore.Options{Logger: s.log, MustExist: mustExist})
	if errors.Is(err, sqlstore.ErrNoDatabase) {
		return err
	} else if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.db = db
	if s.cfg.Secret == nil {
		sec, err := loadSecret(s.cfg, s.log, !mustExist)
		if err != nil {
			db.Close()
			return err
		}
		s.cfg.Secret = sec
	}
	return nil
}

// build wires every component; it starts nothing.
func (s *Server) build(ctx context.Context) error {
	cfg := s.cfg
	s.hasher = s.newHasher(nil)
	keys, err := signing.New(signing.Config{
		Store: s.db, Secret: cfg.Secret, Algorithm: cfg.SigningAlg, HMACSecret: cfg.JWTSecret,
		MaxTokenTTL: cfg.AccessTokenTTL + cfg.ClockSkew, Now: cfg.Now, Logger: s.log,
	})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	s.keys = keys
	s.revoked = revocation.NewSet(cfg.Now)
	s.feed = &revocation.Feed{Store: s.db, Set: s.revoked, Now: cfg.Now, Logger: s.log, OnLag: s.observeRevocationLag}
	rec := &audit.Recorder{Store: s.db, Logger: s.log, Now: cfg.Now}
	s.manager = &manage.Manager{
		Store: s.db, Hasher: s.hasher, Keys: s.keys, Audit: rec,
		Revoker:      &revocation.Revoker{Store: s.db, Set: s.revoked, Now: cfg.Now},
		Logger:       s.log,
		APIKeyPrefix: cfg.APIKeyPrefix, MaxTokenTTL: cfg.AccessTokenTTL + cfg.ClockSkew, Now: cfg.Now,
	}
	s.usage = &audit.UsageAggregator{Recorder: rec, Keys: s.db, Now: cfg.Now}
	s.users = &manage.UserCache{Store: s.db, Now: cfg.Now}
	s.manager.Invalidate = s.invalidate
	proxies, err := httpmw.ParseTrustedProxies(strings.Join(cfg.TrustedProxies, ","))
	if err != nil {
		return fmt.Errorf("trusted proxies: %w", err)
	}
	s.ip = httpmw.IPResolver{Trusted: proxies}
	s.verifier = &manage.Verifier{
		Store: s.db, Prefix: cfg.APIKeyPrefix, Now: cfg.Now, Usage: s.usage, Revoked: s.revoked,
		ClientIP: func(ctx context.Context) string {
			if a := httpmw.ClientIPFrom(ctx); a.IsValid() {
				return a.String()
			}
			return ""
		},
	}
	g, err := guard.New(guard.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Keys: s.keys, APIKeys: s.verifier,
		Revocations: s.revoked, APIKeyPrefix: cfg.APIKeyPrefix, Leeway: cfg.ClockSkew, Now: cfg.Now,
		Logger: s.log, Enrich: s.enrich, OnResult: s.observeAuth, OnDuration: s.observeAuthDuration, Admit: s.admit,
	})
	if err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	s.guard = g
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = httpmw.NewMetrics(s.registry)
	s.buildMetrics()
	if err := s.buildAbuse(ctx); err != nil {
		return err
	}
	return nil
}

// invalidate drops cached users and keys after a change on this node.
func (s *Server) invalidate(keyID, userID string) {
	s.verifier.Forget(keyID, userID)
	if keyID == "" {
		s.users.Forget(userID)
	}
}

// enrich fills in the username of a bearer token's subject.
func (s *Server) enrich(ctx context.Context, p *guard.Principal) error {
	if p.Username != "" || p.Subject == "" || p.IsClient() {
		return nil
	}
	u, ok, err := s.users.Get(ctx, p.Subject)
	if err != nil {
		return err
	}
	if ok {
		p.Username = u.Username
	}
	return nil
}

func (s *Server) start(ctx context.Context) {
	run := func(f func(context.Context)) {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); f(ctx) }()
	}
	run(func(ctx context.Context) { s.usage.Run(ctx, 10*time.Second) })
	s.startReplication(ctx, run)
	s.startOAuth(ctx, run)
	s.startAbuse(ctx, run)
	s.startHousekeeping(ctx, run)
}

// Close stops background work and closes the store. In-flight requests
// should be drained first (http.Server.Shutdown).
func (s *Server) Close() error {
	var err error
	s.closeMu.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.pwWorker != nil {
			_ = s.pwWorker.Close()
		}
		err = s.db.Close()
	})
	return err
}

// ServeHTTP serves every gatehouse route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Guard returns the embedded guard: it verifies tokens with the server's
// keys and API keys against its store, and sees revocations at once.
func (s *Server) Guard() *guard.Guard { return s.guard }

// Manager returns the service layer the CLI and admin API use.
func (s *Server) Manager() *manage.Manager { return s.manager }

// Store returns the underlying store (for tests and tools).
func (s *Server) Store() store.Store { return s.db }

// Registry returns the Prometheus registry behind /metrics, so an
// embedding application can add its own collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Mount registers gatehouse's routes on mux, each wrapped in gatehouse's
// middleware (request id, panic recovery, access log, body limit). It
// does not register "/".
func (s *Server) Mount(mux *http.ServeMux) {
	s.register(mux, s.wrap)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.register(mux, func(h http.Handler) http.Handler { return h })
	return s.wrap(jsonMux{mux})
}

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
		httpmw.WriteJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed here")
		return
	}
	httpmw.WriteJSONError(w, http.StatusNotFound, "not_found", "no such endpoint")
}

// statusProbe records the status a handler would send, discarding the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }

func (s *Server) wrap(h http.Handler) http.Handler {
	return httpmw.Chain(h,
		httpmw.RequestID,
		httpmw.Recover(s.log),
		s.ip.Middleware,
		httpmw.AccessLog(s.log),
		httpmw.BodyLimit(s.cfg.MaxBody),
		s.limitRequest,
		httpmw.SecurityHeaders,
		s.metrics.Middleware,
		httpmw.StorableText,
	)
}

func (s *Server) actor(r *http.Request) manage.Actor {
	a := manage.Actor{UserAgent: text.Clip(r.UserAgent(), 256), RequestID: httpmw.RequestIDFrom(r.Context())}
	if ip := httpmw.ClientIPFrom(r.Context()); ip.IsValid() {
		a.IP = ip.String()
	}
	return a
}

// mountPrefixes is the URL space gatehouse serves when mounted.
var mountPrefixes = []string{
	"/oauth2/", "/token", "/users/me", "/users/me/logout", "/api-keys", "/api-keys/", "/admin/",
	"/.well-known/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/",
}

// register adds every route to mux through wrap.
func (s *Server) register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	inner := http.NewServeMux()
	th := &token.Handler{
		Store: s.db, Manager: s.manager, Keys: s.keys, Audit: s.manager.Audit, Logger: s.log,
		Issuer: s.cfg.Issuer, Audience: s.cfg.Audience, AccessTTL: s.cfg.AccessTokenTTL,
		RefreshTTL: s.cfg.RefreshTokenTTL, RefreshIdleTTL: s.cfg.RefreshIdleTTL,
		ReuseGrace: max(s.cfg.RefreshReuseGrace, 0), CodeTTL: s.cfg.AuthCodeTTL,
		RefreshKey: s.derivedKey("refresh-successor"), PasswordGrant: !s.cfg.DisablePasswordGrant,
		MaxBody: s.cfg.MaxBody, Now: s.cfg.Now, ActorFrom: s.actor,
		Throttle: s.loginThrottle(), Limit: s.limitClient, Failures: tokenFailures{s}, Observe: s.observeToken,
		LastCutoff: s.revoked.LastCutoff,
	}
	s.configureToken(th)
	th.Mount(inner)
	ah := &api.Handler{Manager: s.manager, Guard: s.guard, Logger: s.log, ActorFrom: s.actor}
	ah.Mount(inner)
	s.mountOAuth(inner)
	s.mountReplication(inner)
	s.mountAdmin(inner)
	s.mountDocs(inner)
	inner.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	inner.HandleFunc("GET /readyz", s.handleReady)
	inner.Handle("GET /metrics", s.metricsHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})))

	// Hand gatehouse's part of the URL space to inner, wrapped once.
	h := wrap(jsonMux{inner})
	for _, p := range mountPrefixes {
		mux.Handle(p, h)
	}
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: store unreachable", "err", err)
		httpmw.WriteJSONError(w, http.StatusServiceUnavailable, "not_ready", "store unreachable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// ensureFirstPartyClient creates the built-in client that the password
// grant uses when a request names none.
func (s *Server) ensureFirstPartyClient(ctx context.Context) error {
	_, err := s.db.GetClient(ctx, token.FirstPartyClientID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("get first-party client: %w", err)
	}
	now := store.Normalize(s.cfg.Now())
	err = s.db.CreateClient(ctx, store.Client{
		ID: token.FirstPartyClientID, Name: "gatehouse first-party login", Public: true, FirstParty: true,
		GrantTypes: []string{string(oauth.GrantPassword), string(oauth.GrantRefreshToken)},
		CreatedAt:  now, UpdatedAt: now,
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("create first-party client: %w", err)
	}
	return nil
}

// derivedKey derives a purpose-bound key from the master secret.
func (s *Server) derivedKey(purpose string) []byte {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte("gatehouse " + purpose))
	return m.Sum(nil)
}

// loadSecret finds the master secret: the configured file, or for SQLite
// the one kept beside the database, which it generates when create is set.
func loadSecret(cfg Config, log *slog.Logger, create bool) ([]byte, error) {
	if cfg.SecretFile != "" {
		b, err := os.ReadFile(cfg.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		return ParseSecret(string(b))
	}
	if isPostgres(cfg.DatabaseURL) {
		return nil, errors.New("GATEHOUSE_SECRET (or --secret-file) is required with PostgreSQL: " +
			"every replica must share it; create one with: openssl rand -hex 32")
	}
	db, ok := sqlstore.SQLiteFile(cfg.DatabaseURL)
	if !ok {
		return nil, fmt.Errorf("no file for the master secret beside database %q", cfg.DatabaseURL)
	}
	path := db + ".secret"
	if err := sqlstore.MakePrivate(path, log); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(path); err == nil {
		return ParseSecret(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if !create {
		return nil, fmt.Errorf("no master secret: set GATEHOUSE_SECRET or --secret-file to the server's, "+
			"or put its file back at %s", path)
	}
	var sec [32]byte
	_, _ = rand.Read(sec[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("read secret: %w", rerr)
		}
		return ParseSecret(string(b))
	}
	if err != nil {
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(sec[:]) + "\n"); err != nil {
		return nil, fmt.Errorf("write secret file: %w", err)
	}
	log.Warn("GATEHOUSE_SECRET is not set: generated a master secret and saved it beside the database; "+
		"keep it safe and back it up with the database", "path", path)
	return sec[:], nil
}
