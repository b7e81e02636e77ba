// Package metrics is gatehouse's own Prometheus instrumentation: the
// collectors, the hooks the guard, the token endpoint, the limiter, the
// revocation feed and the password hasher report to ([Set]), the store
// wrappers that count failed reads where the hot and background paths
// make them, the gauges read from components at scrape time
// ([Set.RegisterState]) and the guarded /metrics handler ([Handler]).
//
// Every label takes its value from a short fixed list (unknown values
// become "other"), so no client can create new series: no user, key,
// client id or path ever becomes a label.
//
// It imports prometheus, guard (methods and errors), oauth (error codes),
// authn (what an invalid API key looks like), httpmw and the store's
// interfaces.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Label values.
var (
	authMethods = []string{string(guard.MethodBearer), string(guard.MethodAPIKey), "none"}
	authResults = []string{
		"ok", "missing", "invalid_request", "invalid", "expired", "not_yet_valid",
		"revoked", "insufficient_scope", "unavailable", "error",
	}
	tokenGrants = []string{
		string(oauth.GrantPassword), string(oauth.GrantClientCredentials),
		string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken), "none",
	}
	tokenResults = []string{
		"ok", oauth.InvalidRequest, oauth.InvalidClient, oauth.InvalidGrant, oauth.UnauthorizedClient,
		oauth.UnsupportedGrantType, oauth.InvalidScope, oauth.AccessDenied, oauth.ServerError,
		oauth.TemporarilyUnavailable, "rate_limited",
	}
	rateLimitKinds = []string{"ip", "apikey", "user", "client", "login", "token_failures"}
	storeOps       = []string{"revocation_feed", "apikey_lookup", "user_lookup", "ping"}
)

// latencyBuckets suit in-process work that is usually sub-millisecond
// (the guard) but may wait for the store: 100µs to 2.5s.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Set holds gatehouse's own collectors and is the hook every component
// reports to. Build it with [New]; its methods are safe for concurrent use.
type Set struct {
	http         *httpmw.Metrics
	fallback     *prometheus.GaugeVec
	auth         *prometheus.CounterVec
	authDuration *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	issued       *prometheus.CounterVec
	tokenLatency *prometheus.HistogramVec
	rateLimited  *prometheus.CounterVec
	hashWait     prometheus.Histogram
	revLag       prometheus.Histogram
	storeErrors  *prometheus.CounterVec
}

// New registers the Go and process collectors, the HTTP middleware's
// collectors and gatehouse's own on reg, and returns the hooks.
func New(reg *prometheus.Registry) *Set {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Set{
		http: httpmw.NewMetrics(reg),
		fallback: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_ratelimit_fallback",
			Help: "1 while Redis is unreachable and this node limits with local memory (backend: limiter, login_throttle).",
		}, []string{"backend"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_auth_total",
			Help: "Authentications by the guard, by method (bearer, api_key, none) and result " +
				"(ok, missing, invalid_request, invalid, expired, not_yet_valid, revoked, insufficient_scope, unavailable, error); " +
				"a request refused for missing scopes counts once, as insufficient_scope.",
		}, []string{"method", "result"}),
		authDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_auth_duration_seconds",
			Help:    "Time the guard took to authenticate a request (signature or API-key check, revocation, enrichment), by method.",
			Buckets: latencyBuckets,
		}, []string{"method"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_token_requests_total",
			Help: "Token endpoint requests, by grant type and result (ok, an RFC 6749 error code, or rate_limited).",
		}, []string{"grant", "result"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_tokens_issued_total",
			Help: "Access tokens issued by the token endpoint, by grant type.",
		}, []string{"grant"}),
		tokenLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_token_request_duration_seconds",
			Help:    "Token endpoint latency (password hashing included), by grant type.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"grant"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_rate_limited_total",
			Help: "Requests refused by a rate limit or the login throttle, by kind (ip, apikey, user, client, login).",
		}, []string{"kind"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_password_hash_wait_seconds",
			Help:    "Time a password hash or verification waited for a hashing slot.",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		revLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gatehouse_revocation_lag_seconds",
			Help: "Observed after every revocation-feed poll: time since the start of the last successful poll, " +
				"so a bound on how late a revocation made on another replica is enforced here.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_store_errors_total",
			Help: "Store operations that failed (not found excluded), by operation: revocation_feed (the poll), " +
				"apikey_lookup and user_lookup (guard path), ping (the scrape-time check).",
		}, []string{"op"}),
	}
	// Create every series up front, so dashboards and rate() see zeros
	// rather than missing series.
	for _, meth := range authMethods {
		for _, res := range authResults {
			m.auth.WithLabelValues(meth, res)
		}
		m.authDuration.WithLabelValues(meth)
	}
	for _, g := range tokenGrants {
		m.issued.WithLabelValues(g)
		m.tokenLatency.WithLabelValues(g)
		m.tokens.WithLabelValues(g, "ok")
	}
	for _, k := range rateLimitKinds {
		m.rateLimited.WithLabelValues(k)
	}
	for _, op := range storeOps {
		m.storeErrors.WithLabelValues(op)
	}

	reg.MustRegister(m.fallback, m.auth, m.authDuration, m.tokens, m.issued, m.tokenLatency, m.rateLimited,
		m.hashWait, m.revLag, m.storeErrors)
	return m
}

// HTTP returns the per-route request counter and latency middleware.
func (m *Set) HTTP() *httpmw.Metrics { return m.http }

// State is what the gauges read from the running components at scrape
// time.
type State struct {
	Hasher interface {
		QueueDepth() int
		InFlight() int
	}
	// WorkerPID is the password worker's process id, 0 when it is down or
	// not used.
	WorkerPID func() int
	// RevocationEntries is the size of the in-memory deny list.
	RevocationEntries func() int
	// LastSync is when the last successful revocation-feed poll started.
	LastSync func() time.Time
	Ping     func(context.Context) error
	DB       *sql.DB
	Now      func() time.Time
}

// RegisterState registers the gauges read from st on reg, and counts a
// failed scrape-time ping as a store error of m.
func (m *Set) RegisterState(reg *prometheus.Registry, st State) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_queue_depth",
			Help: "Password hash or verify calls waiting for a hashing slot now.",
		}, func() float64 { return float64(st.Hasher.QueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_in_flight",
			Help: "Password hashes or verifications running now.",
		}, func() float64 { return float64(st.Hasher.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_worker_up",
			Help: "1 while the password worker process runs; 0 while it is down (it restarts at the next hash) or not used.",
		}, func() float64 {
			if st.WorkerPID != nil && st.WorkerPID() != 0 {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_revocation_entries",
			Help: "Entries in this replica's in-memory revocation set (revoked tokens, keys, families, clients, users).",
		}, func() float64 { return float64(st.RevocationEntries()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_revocation_feed_staleness_seconds",
			Help: "Time since the start of the last successful revocation-feed poll, at scrape time (0 before the first).",
		}, func() float64 {
			last := st.LastSync()
			if last.IsZero() {
				return 0
			}
			return max(st.Now().Sub(last).Seconds(), 0)
		}),
		&storeUp{ping: st.Ping, failed: m.storeErrors.WithLabelValues("ping")},
		collectors.NewDBStatsCollector(st.DB, "gatehouse"),
	)
}

// FeedStore counts the revocation feed's failed polls.
func (m *Set) FeedStore(s store.Revocations) store.Revocations {
	return countingRevocations{Revocations: s, errs: m.storeErrors.WithLabelValues("revocation_feed")}
}

// VerifierStore counts the API-key verifier's failed reads of keys and of
// their owners.
func (m *Set) VerifierStore(s authn.KeyStore) authn.KeyStore {
	return countingStore{
		countingUsers: countingUsers{UserStore: s, errs: m.storeErrors.WithLabelValues("user_lookup")},
		keys:          s, keyErrs: m.storeErrors.WithLabelValues("apikey_lookup"),
	}
}

// UserStore counts the bearer path's failed user reads.
func (m *Set) UserStore(s authn.UserStore) authn.UserStore {
	return countingUsers{UserStore: s, errs: m.storeErrors.WithLabelValues("user_lookup")}
}

// Handler serves reg's metrics to the clients in allow (after
// trusted-proxy resolution); require, when not nil, also asks the guard
// for a credential with a scope.
func Handler(reg *prometheus.Registry, allow []netip.Prefix, require func(http.Handler) http.Handler) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	if require != nil {
		h = require(h)
	}
	return httpmw.AllowFrom(allow)(h)
}

// Auth is the guard's OnResult hook.
func (m *Set) Auth(method guard.Method, err error) {
	m.auth.WithLabelValues(methodLabel(method), authResult(err)).Inc()
}

// AuthDuration is the guard's OnDuration hook.
func (m *Set) AuthDuration(method guard.Method, d time.Duration) {
	m.authDuration.WithLabelValues(methodLabel(method)).Observe(d.Seconds())
}

func methodLabel(m guard.Method) string {
	switch m {
	case guard.MethodBearer, guard.MethodAPIKey:
		return string(m)
	case "":
		return "none"
	}
	return "other"
}

// authResult maps a guard result to a label value.
func authResult(err error) string {
	if err == nil {
		return "ok"
	}
	var ge *guard.Error
	if !errors.As(err, &ge) {
		return "error"
	}
	switch ge.Code {
	case "":
		return "missing"
	case guard.CodeInvalidRequest:
		return "invalid_request"
	case guard.CodeInsufficientScope:
		return "insufficient_scope"
	}
	var (
		expired *guard.TokenExpiredError
		early   *guard.TokenNotYetValidError
		revoked *guard.TokenRevokedError
		keyErr  *guard.APIKeyError
	)
	switch {
	case errors.As(err, &keyErr) && keyErr.Err != nil && !errors.Is(keyErr.Err, authn.ErrInvalidAPIKey):
		// The verifier failed (the store), not the key (the guard answers 503).
		return "error"
	case ge.Status == http.StatusServiceUnavailable:
		return "unavailable" // a remote guard whose revocation feed is stale
	case errors.As(err, &expired):
		return "expired"
	case errors.As(err, &early):
		return "not_yet_valid"
	case errors.As(err, &revoked):
		return "revoked"
	}
	return "invalid"
}

// Token learns every token-endpoint outcome (token.Handler.Observe).
func (m *Set) Token(grant string, err error, d time.Duration) {
	g := oneOf(grant, tokenGrants)
	if grant == "" {
		g = "none"
	}
	res := "ok"
	if err != nil {
		var oe *oauth.Error
		switch {
		case !errors.As(err, &oe):
			res = oauth.ServerError
		case oe.Status == http.StatusTooManyRequests:
			res = "rate_limited"
		default:
			res = oneOf(oe.Code, tokenResults)
		}
	} else {
		m.issued.WithLabelValues(g).Inc()
	}
	m.tokens.WithLabelValues(g, res).Inc()
	m.tokenLatency.WithLabelValues(g).Observe(d.Seconds())
}

// RateLimited counts a refused request; kind is "ip", "apikey", "user",
// "client", "login" or "token_failures" (limits.Observer).
func (m *Set) RateLimited(kind string) {
	m.rateLimited.WithLabelValues(oneOf(kind, rateLimitKinds)).Inc()
}

// Fallback reports a Redis-backed counter switching to local memory and
// back (limits.Observer).
func (m *Set) Fallback(backend string, down bool) {
	v := 0.0
	if down {
		v = 1
	}
	m.fallback.WithLabelValues(backend).Set(v)
}

// RevocationLag learns how far the revocation feed is behind (the feed's
// OnLag).
func (m *Set) RevocationLag(d time.Duration) { m.revLag.Observe(max(d, 0).Seconds()) }

// HashWait learns how long a login waited for a hashing slot (the
// hasher's OnWait).
func (m *Set) HashWait(d time.Duration) { m.hashWait.Observe(max(d, 0).Seconds()) }

// oneOf returns v when it is in allowed, else "other".
func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return "other"
}

// storeFailed reports whether err is a store failure worth counting: not a
// record that does not exist, and not a request that went away.
func storeFailed(err error) bool {
	return err != nil && !errors.Is(err, store.ErrNotFound) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// countingRevocations counts failed revocation-feed reads.
type countingRevocations struct {
	store.Revocations
	errs prometheus.Counter
}

func (c countingRevocations) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]store.Revocation, error) {
	rs, err := c.Revocations.ListRevocations(ctx, afterSeq, now, limit)
	if storeFailed(err) {
		c.errs.Inc()
	}
	return rs, err
}

// countingStore counts failed reads on the API-key verifier's path: of
// keys, and of their owners (as user lookups).
type countingStore struct {
	countingUsers
	keys    authn.KeyStore
	keyErrs prometheus.Counter
}

func (c countingStore) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := c.keys.GetAPIKey(ctx, id)
	if storeFailed(err) {
		c.keyErrs.Inc()
	}
	return k, err
}

// countingUsers counts failed user reads.
type countingUsers struct {
	authn.UserStore
	errs prometheus.Counter
}

func (c countingUsers) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := c.UserStore.GetUser(ctx, id)
	if storeFailed(err) {
		c.errs.Inc()
	}
	return u, err
}

// storeUp pings the store at scrape time: gatehouse_store_up is 1 when it
// answered within a second, and a failure counts as a "ping" store error.
type storeUp struct {
	ping   func(context.Context) error
	failed prometheus.Counter
}

var storeUpDesc = prometheus.NewDesc("gatehouse_store_up",
	"1 if the store answered a ping at scrape time (within 1s), else 0.", nil, nil)

func (u *storeUp) Describe(ch chan<- *prometheus.Desc) { ch <- storeUpDesc }

func (u *storeUp) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v := 1.0
	if err := u.ping(ctx); err != nil {
		v = 0
		u.failed.Inc()
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, v)
}
