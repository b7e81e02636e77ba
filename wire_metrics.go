package gatehouse

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// This file wires gatehouse's own Prometheus metrics: the hooks other
// components call, and the collectors behind them.
//
// Every label takes its value from a short fixed list (unknown values
// become "other"), so no client can create new series: no user, key,
// client id or path ever becomes a label.

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

// metricSet holds gatehouse's own collectors.
type metricSet struct {
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

// buildMetrics registers gatehouse's own collectors on s.registry and puts
// error-counting wrappers around the store where the hot and background
// paths read it (the revocation feed, API-key and user lookups).
func (s *Server) buildMetrics() {
	m := &metricSet{
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

	reg := s.registry
	reg.MustRegister(m.auth, m.authDuration, m.tokens, m.issued, m.tokenLatency, m.rateLimited,
		m.hashWait, m.revLag, m.storeErrors)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_queue_depth",
			Help: "Password hash or verify calls waiting for a hashing slot now.",
		}, func() float64 { return float64(s.hasher.QueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_in_flight",
			Help: "Password hashes or verifications running now.",
		}, func() float64 { return float64(s.hasher.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_worker_up",
			Help: "1 while the password worker process runs; 0 while it is down (it restarts at the next hash) or not used.",
		}, func() float64 {
			if s.pwWorker != nil && s.pwWorker.PID() != 0 {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_revocation_entries",
			Help: "Entries in this replica's in-memory revocation set (revoked tokens, keys, families, clients, users).",
		}, func() float64 { return float64(s.revoked.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_revocation_feed_staleness_seconds",
			Help: "Time since the start of the last successful revocation-feed poll, at scrape time (0 before the first).",
		}, func() float64 {
			last := s.feed.LastSync()
			if last.IsZero() {
				return 0
			}
			return max(s.cfg.Now().Sub(last).Seconds(), 0)
		}),
		&storeUp{ping: s.db.Ping, failed: m.storeErrors.WithLabelValues("ping")},
		collectors.NewDBStatsCollector(s.db.SQL(), "gatehouse"),
	)
	s.stats = m

	// Count store failures where they happen. The wrappers pass every call
	// through unchanged.
	s.feed.Store = countingRevocations{Revocations: s.feed.Store, errs: m.storeErrors.WithLabelValues("revocation_feed")}
	s.verifier.Store = countingStore{Store: s.verifier.Store,
		keyErrs: m.storeErrors.WithLabelValues("apikey_lookup"), userErrs: m.storeErrors.WithLabelValues("user_lookup")}
	s.users.Store = countingUsers{Users: s.users.Store, errs: m.storeErrors.WithLabelValues("user_lookup")}
}

// metricsHandler guards the /metrics handler: only clients in
// Config.MetricsAllow (after trusted-proxy resolution) get through, and
// with Config.MetricsScope set they need a credential with that scope.
func (s *Server) metricsHandler(h http.Handler) http.Handler {
	allow := s.cfg.MetricsAllow
	if len(allow) == 0 {
		allow = DefaultMetricsAllow
	}
	// Validate checked the list.
	prefixes, _ := httpmw.ParseTrustedProxies(strings.Join(allow, ","))
	if s.cfg.MetricsScope != "" {
		h = s.guard.Require(s.cfg.MetricsScope)(h)
	}
	return httpmw.AllowFrom(prefixes)(h)
}

// observeAuth is the guard's OnResult hook.
func (s *Server) observeAuth(method guard.Method, err error) {
	if s.stats == nil {
		return
	}
	s.stats.auth.WithLabelValues(methodLabel(method), authResult(err)).Inc()
}

// observeAuthDuration is the guard's OnDuration hook.
func (s *Server) observeAuthDuration(method guard.Method, d time.Duration) {
	if s.stats == nil {
		return
	}
	s.stats.authDuration.WithLabelValues(methodLabel(method)).Observe(d.Seconds())
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
	case errors.As(err, &keyErr) && keyErr.Err != nil && !errors.Is(keyErr.Err, manage.ErrInvalidAPIKey):
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

// observeToken learns every token-endpoint outcome.
func (s *Server) observeToken(grant string, err error, d time.Duration) {
	m := s.stats
	if m == nil {
		return
	}
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

// observeRateLimited counts a refused request; kind is "ip", "apikey",
// "user", "client", "login" or "token_failures".
func (s *Server) observeRateLimited(kind string) {
	if s.stats == nil {
		return
	}
	s.stats.rateLimited.WithLabelValues(oneOf(kind, rateLimitKinds)).Inc()
}

// observeRevocationLag learns how far the revocation feed is behind.
func (s *Server) observeRevocationLag(d time.Duration) {
	if s.stats == nil {
		return
	}
	s.stats.revLag.Observe(max(d, 0).Seconds())
}

// observeHashWait learns how long a login waited for a hashing slot.
func (s *Server) observeHashWait(d time.Duration) {
	if s.stats == nil {
		return // the hasher is built before the metrics
	}
	s.stats.hashWait.Observe(max(d, 0).Seconds())
}

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

// countingStore counts failed reads on the API-key verifier's path.
type countingStore struct {
	store.Store
	keyErrs, userErrs prometheus.Counter
}

func (c countingStore) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := c.Store.GetAPIKey(ctx, id)
	if storeFailed(err) {
		c.keyErrs.Inc()
	}
	return k, err
}

func (c countingStore) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := c.Store.GetUser(ctx, id)
	if storeFailed(err) {
		c.userErrs.Inc()
	}
	return u, err
}

// countingUsers counts failed reads of the bearer path's user cache.
type countingUsers struct {
	store.Users
	errs prometheus.Counter
}

func (c countingUsers) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := c.Users.GetUser(ctx, id)
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
