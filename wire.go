package gatehouse

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/authorize"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/discovery"
	"github.com/gatehouse/gatehouse/internal/housekeeping"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/introspect"
	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/limits"
	"github.com/gatehouse/gatehouse/internal/mastersecret"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/openapi"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/replication"
	"github.com/gatehouse/gatehouse/internal/rest"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/revoke"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/userinfo"
)

// This file is the composition root: it builds every component once, in
// dependency order, with its final dependencies, and mounts one list of
// routes. Nothing is changed after it is built; a change that several
// components must hear goes through the one change stream
// (internal/changes), which local writes and the revocation feed share.

// issuedFlushInterval is how often aggregated client_credentials audit
// events are written; usageFlushInterval likewise for API-key use.
const (
	issuedFlushInterval = 10 * time.Second
	usageFlushInterval  = 10 * time.Second
)

// build opens the store of r and builds the server on it; it starts
// nothing. worker, when not nil, is the password worker process that
// hashes for this server (gatehouse serve starts one).
func build(ctx context.Context, r resolved, worker *password.Worker) (*Server, error) {
	log := r.Logger
	db, err := sqlstore.OpenWith(ctx, r.DatabaseURL, sqlstore.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s, err := assemble(ctx, r, db, worker)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func assemble(ctx context.Context, r resolved, db *sqlstore.DB, worker *password.Worker) (*Server, error) {
	log, now := r.Logger, r.Now
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if r.Secret == nil {
		sec, err := mastersecret.Load(mastersecret.Config{File: r.SecretFile, DatabaseURL: r.DatabaseURL, Create: true, Logger: log})
		if err != nil {
			return nil, err
		}
		r.Secret = sec
	}

	// Metrics first: every component below reports to them, and the store
	// reads the hot and background paths make are counted where they
	// happen.
	reg := prometheus.NewRegistry()
	stats := metrics.New(reg)

	params := password.DefaultParams()
	if r.InsecureFastPasswordHashing {
		params = password.TestParams()
	}
	hasher := password.New(password.Config{
		Params: params, MaxConcurrent: r.PasswordHashConcurrency, OnWait: stats.HashWait, Worker: worker,
	})
	maxTokenTTL := r.AccessTokenTTL + r.ClockSkew
	keys, err := signing.New(signing.Config{
		Store: db, Secret: r.Secret, Algorithm: r.SigningAlg, HMACSecret: r.JWTSecret,
		MaxTokenTTL: maxTokenTTL, PublishDelay: r.KeyPublishDelay, Now: now, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	deny := guard.NewDenyList(now)
	rec := &audit.Recorder{Store: db, Logger: log, Now: now}
	usage := &audit.UsageAggregator{Recorder: rec, Keys: db, Logger: log, Now: now}
	issued := &token.IssueAggregator{Recorder: rec, Logger: log, Now: now}

	// Caches: what the hot path reads instead of the store.
	users := authn.NewUserCache(authn.UserCacheConfig{Store: stats.UserStore(db), Now: now})
	verifier := authn.NewVerifier(authn.VerifierConfig{
		Store: stats.VerifierStore(db), Prefix: r.APIKeyPrefix, Now: now, Usage: usage, Revoked: deny,
		ClientIP: func(ctx context.Context) string {
			if a := httpmw.ClientIPFrom(ctx); a.IsValid() {
				return a.String()
			}
			return ""
		},
	})
	clients := clientauth.New(clientauth.Config{Store: db, Now: now})

	var rdb *redis.Client
	if r.RedisURL != "" {
		opts, err := redis.ParseURL(r.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		// Short timeouts: a slow Redis must not stall requests; the
		// limiter's fallback takes over after the first failure.
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 250*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
		opts.MaxRetries, opts.DialerRetries = 0, 1
		rdb = redis.NewClient(opts)
	}
	policy := limits.New(limits.Config{
		Settings: r.limits, Redis: rdb, Keys: verifier, Clients: clients, Audit: rec, Observer: stats, Logger: log, Now: now,
	})
	g, err := guard.New(guard.Config{
		Issuer: r.Issuer, Audience: r.Audience, Keys: keys, APIKeys: verifier, Revocations: deny,
		APIKeyPrefix: r.APIKeyPrefix, Leeway: r.ClockSkew, Now: now, Logger: log,
		Enrich: users.Enrich, OnResult: stats.Auth, OnDuration: stats.AuthDuration, Admit: policy.Admit,
	})
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}

	// One change stream: local writes and the revocation feed's entries
	// both reach every cache that holds a copy of a record.
	wake := revocation.NewWake()
	revoker := &revocation.Revoker{Store: db, DenyList: deny, Now: now, Wake: wake}
	stream := changes.New(revoker, now,
		users.Changed, verifier.Changed, clients.Changed, policy.Changed,
		func(c changes.Change) {
			if c.Kind == changes.SigningKeys {
				keys.ReloadSoon()
			}
		},
	)
	feed := &revocation.Feed{
		Store: stats.FeedStore(db), DenyList: deny, Wake: wake, OnEntries: stream.ApplyEntries,
		OnLag: stats.RevocationLag, Now: now, Logger: log,
	}
	manager := &service.Manager{
		Store: db, Hasher: hasher, Keys: keys, Audit: rec, Revoker: revoker, Changes: stream, Logger: log,
		APIKeyPrefix: r.APIKeyPrefix, MaxTokenTTL: maxTokenTTL, Now: now,
	}
	listen := ""
	if isPostgres(r.DatabaseURL) {
		listen = r.DatabaseURL
	}
	repl := replication.New(replication.Config{
		Store: db, Feed: feed, Keys: keys, ListenURL: listen, Rotator: manager, RotateEvery: r.KeyRotation,
		Follower: clients.Gate(clientauth.Policy{BasicOnly: true}, log), Logger: log, Now: now,
	})
	janitor := &housekeeping.Janitor{Store: db, Audit: rec, Retention: r.AuditRetention, Logger: log, Now: now}
	stats.RegisterState(reg, metrics.State{
		Hasher: hasher, WorkerPID: func() int {
			if worker == nil {
				return 0
			}
			return worker.PID()
		},
		RevocationEntries: deny.Len, LastSync: feed.LastSync, Ping: db.Ping, DB: db.SQL(), Now: now,
	})

	// The endpoints, in one list.
	th := &token.Handler{
		Store: db, Manager: manager, Keys: keys, Audit: rec, Logger: log,
		Issuer: r.Issuer, Audience: r.Audience, AccessTTL: r.AccessTokenTTL,
		RefreshTTL: r.RefreshTokenTTL, RefreshIdleTTL: r.RefreshIdleTTL,
		ReuseGrace: max(r.RefreshReuseGrace, 0), CodeTTL: r.AuthCodeTTL,
		RefreshKey: derivedKey(r.Secret, "refresh-successor"), PasswordGrant: !r.DisablePasswordGrant,
		MaxBody: r.MaxBody, Now: now, Throttle: policy.LoginThrottle(), Limit: policy.LimitClient, Failures: policy,
		Observe: stats.Token, Clients: clients, Issued: issued, LastCutoff: deny.LastCutoff,
	}
	var routes route.List
	routes = append(routes, th.Routes()...)
	routes = append(routes, (&authorize.Handler{
		Store: db, Manager: manager, Throttle: policy.LoginThrottle(), Audit: rec, Logger: log,
		Issuer: r.Issuer, Key: derivedKey(r.Secret, "authorize-forms"), CodeTTL: r.AuthCodeTTL,
		SessionTTL: r.LoginSessionTTL, MaxBody: r.MaxBody, Now: now,
	}).Routes()...)
	routes = append(routes, (&revoke.Handler{
		Clients: clients, AccessTokens: g, RefreshTokens: db, Revoker: revoker, Audit: rec, Logger: log,
		RefreshPrefix: token.RefreshPrefix, AccessTTL: r.AccessTokenTTL, ClockSkew: r.ClockSkew, MaxBody: r.MaxBody, Now: now,
	}).Routes()...)
	routes = append(routes, (&introspect.Handler{
		Clients: clients, AccessTokens: g, APIKeys: verifier, Users: users, RefreshTokens: db, Logger: log,
		Issuer: r.Issuer, Audience: r.Audience, APIKeyPrefix: r.APIKeyPrefix, RefreshPrefix: token.RefreshPrefix,
		MaxBody: r.MaxBody, Now: now,
	}).Routes()...)
	routes = append(routes, (&userinfo.Handler{Tokens: g, Users: users, Logger: log, MaxBody: r.MaxBody}).Routes()...)
	routes = append(routes, repl.Routes()...)
	routes = append(routes, (&rest.Handler{Manager: manager, Guard: g, Logger: log, Now: now}).Routes()...)
	var requireScope func(http.Handler) http.Handler
	if r.MetricsScope != "" {
		requireScope = g.Require(r.MetricsScope)
	}
	routes = append(routes,
		route.Func("GET", "/healthz", handleHealth),
		route.Func("GET", "/readyz", readiness(db, log)),
		route.New("GET", "/metrics", metrics.Handler(reg, r.metricsAllow, requireScope)),
	)
	routes = append(routes, (&discovery.Handler{
		Issuer: r.Issuer, Keys: keys, Endpoints: slices.Clone(routes), GrantTypes: th.GrantTypes(),
	}).Routes()...)
	routes = append(routes, (&openapi.Handler{
		Issuer: r.Issuer, PasswordGrant: !r.DisablePasswordGrant, Served: slices.Clone(routes), Logger: log,
	}).Routes()...)
	inner := http.NewServeMux()
	routes.Register(inner)

	// Middleware, outermost first: request id → recover → client address
	// → access log → body limit → rate limit → security headers → metrics
	// → storable text → the routes.
	wrap := func(h http.Handler) http.Handler {
		return httpmw.Chain(h,
			httpmw.RequestID,
			httpmw.Recover(log),
			httpmw.IPResolver{Trusted: r.trusted}.Middleware,
			httpmw.AccessLog(log),
			httpmw.BodyLimit(r.MaxBody),
			policy.Middleware,
			httpmw.SecurityHeaders,
			stats.HTTP().Middleware,
			httpmw.StorableText,
		)
	}
	s := &Server{
		cfg: r.Config, log: log, db: db, keys: keys, worker: worker, manager: manager, guard: g, deny: deny,
		feed: feed, registry: reg, routes: routes, inner: inner, handler: wrap(jsonMux{inner}), wrap: wrap, redis: rdb,
		background: []func(context.Context){
			func(ctx context.Context) { usage.Run(ctx, usageFlushInterval) },
			func(ctx context.Context) { issued.Run(ctx, issuedFlushInterval) },
			repl.Run,
			janitor.Run,
		},
		closeStreams: repl.CloseStreams,
	}
	return s, nil
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// readiness answers /readyz: ready while the store answers a ping.
func readiness(db interface{ Ping(context.Context) error }, log *slog.Logger) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.WarnContext(ctx, "readiness: store unreachable", "err", err)
			jsonerror.Write(w, http.StatusServiceUnavailable, "not_ready", "store unreachable")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	}
}

// derivedKey derives a purpose-bound key from the master secret.
func derivedKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse " + purpose))
	return m.Sum(nil)
}
