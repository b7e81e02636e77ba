package gatehouse

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// This file wires abuse resistance: rate limits (per IP, API key, client
// and user; in memory or Redis), login throttling, and audit retention.
//
// Where each limit applies:
//
//   - limitRequest (middleware, every request): per client address
//     (Config.RateLimitIP).
//   - limitClient (token endpoint, once the request proved itself: a
//     confidential client's secret, a public client's valid refresh token,
//     code and verifier or password): per OAuth2 client, its own RateLimit
//     or Config.RateLimitClient. The built-in first-party client is exempt:
//     every user's login goes through it, and the per-address limits and
//     the login throttle cover it.
//   - tokenFailures (token endpoint): failed requests that proved nothing
//     (unknown client, wrong secret, a public client's junk), per address
//     under Config.RateLimitToken; an address that spent it gets 429 for
//     its public-client requests before their grant runs.
//   - admit (guard, after authentication): per API key (its own RateLimit
//     or Config.RateLimitAPIKey), per user (Config.RateLimitUser) and, for a
//     client-credentials token, per client.
//   - loginThrottle (every password check, before hashing): password
//     attempts per address (Config.RateLimitToken, the token endpoint's
//     stricter limit), then failed logins per address, per address and
//     account (a lock) and per account (growing delays, never a lock)
//     (ratelimit.Throttle); an admin's unlock reaches it through the
//     revocation feed (forgetLogins).
//
// With Config.RedisURL the limiter and the throttle's counters live in Redis
// (shared by every replica) behind a fallback to local memory while Redis is
// unreachable: limits stay in force per node, the switch is logged once and
// shown by the gatehouse_ratelimit_fallback gauge.

// abuseState is the Server's part for this file.
type abuseState struct {
	limiter  ratelimit.Limiter
	memory   *ratelimit.Memory // the limiter when it is local memory only (no Redis)
	throttle *loginThrottle
	redis    *redis.Client // nil without Config.RedisURL

	ip, token, user, apikey, client ratelimit.Limit
	apikeyText                      string // apikey.String(), part of each key's limiter key

	keyLimits sync.Map // API key id → *keyLimit
	sampled   audit.Sampler
	fallback  *prometheus.GaugeVec
}

// keyLimit caches an API key's own limit for keyLimitTTL.
type keyLimit struct {
	limit   ratelimit.Limit
	text    string // limit.String()
	fetched time.Time
}

const keyLimitTTL = time.Second

// buildAbuse creates the limiters; it runs in build, before routes exist.
func (s *Server) buildAbuse(ctx context.Context) error {
	cfg := s.cfg
	a := &s.abuse
	for _, l := range []struct {
		dst  *ratelimit.Limit
		name string
		v    string
	}{
		{&a.ip, "rate-limit-ip", cfg.RateLimitIP}, {&a.token, "rate-limit-token", cfg.RateLimitToken},
		{&a.user, "rate-limit-user", cfg.RateLimitUser}, {&a.apikey, "rate-limit-apikey", cfg.RateLimitAPIKey},
		{&a.client, "rate-limit-client", cfg.RateLimitClient},
	} {
		v, err := ratelimit.ParseLimit(l.v)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		*l.dst = v
	}
	a.apikeyText = a.apikey.String()
	perIP, err := ratelimit.ParseLimit(cfg.LoginIPLimit)
	if err != nil {
		return fmt.Errorf("login-ip-limit: %w", err)
	}
	if perIP.Unlimited() {
		perIP = ratelimit.Limit{Rate: 1e9, Burst: 1e9} // the throttle's zero value means its default
	}
	a.sampled.Now = cfg.Now

	a.fallback = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatehouse_ratelimit_fallback",
		Help: "1 while Redis is unreachable and this node limits with local memory (backend: limiter, login_throttle).",
	}, []string{"backend"})
	s.registry.MustRegister(a.fallback)
	a.fallback.WithLabelValues("limiter").Set(0)
	a.fallback.WithLabelValues("login_throttle").Set(0)
	onFallback := func(backend string) func(bool) {
		return func(down bool) {
			v := 0.0
			if down {
				v = 1
			}
			a.fallback.WithLabelValues(backend).Set(v)
		}
	}

	// Request limits read the wall clock, not cfg.Now: a test or an
	// embedding application that moves its token clock must not stall
	// every limit (Redis reads its own clock anyway).
	local := ratelimit.NewMemory(time.Now)
	var counters ratelimit.Counters = ratelimit.NewMemoryCounters(cfg.Now)
	a.limiter, a.memory = local, local
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("redis url: %w", err)
		}
		// Short timeouts: a slow Redis must not stall requests; the
		// fallback takes over after the first failure.
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 250*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
		opts.MaxRetries, opts.DialerRetries = 0, 1
		a.redis = redis.NewClient(opts)
		a.memory = nil
		a.limiter = ratelimit.NewFallback(ratelimit.NewRedis(a.redis, "gatehouse:rl:"), local, s.log, onFallback("limiter"))
		counters = ratelimit.NewFallbackCounters(ratelimit.NewRedisCounters(a.redis, "gatehouse:login:"), counters, s.log, onFallback("login_throttle"))
	}
	a.throttle = &loginThrottle{
		s: s,
		t: ratelimit.NewThrottle(counters, ratelimit.ThrottleConfig{
			MaxFailures: cfg.LoginMaxFailures, LockFor: cfg.LoginLockout, PerIP: perIP,
		}),
	}

	// Drop a changed key's cached limit at once on this node.
	if prev := s.manager.Invalidate; prev != nil {
		s.manager.Invalidate = func(keyID, userID string) {
			prev(keyID, userID)
			if keyID != "" {
				a.keyLimits.Delete(keyID)
			}
		}
	}
	return nil
}

// loginThrottle adapts ratelimit.Throttle to manage.LoginThrottle, counting
// refusals in the metrics and sampling their audit events.
type loginThrottle struct {
	s *Server
	t *ratelimit.Throttle
}

func (l *loginThrottle) Begin(ctx context.Context, account, ip string) (manage.LoginAttempt, time.Duration, error) {
	// Password attempts per address (Config.RateLimitToken), checked
	// before any hashing: the stricter limit of the token endpoint, which
	// keeps a flood of guesses from one place off the hasher.
	if a, err := netip.ParseAddr(ip); err == nil && !l.s.abuse.token.Unlimited() {
		var buf [keyBufSize]byte
		key := ratelimit.AppendAddrKey(append(buf[:0], "login:"...), a)
		if res, err := l.s.abuse.allowKey(ctx, key, l.s.abuse.token); err == nil && !res.Allowed {
			l.s.observeRateLimited("login")
			return nil, max(res.RetryAfter, time.Second), nil
		}
	}
	at, d, err := l.t.Begin(ctx, account, ip)
	if err != nil || d.Wait > 0 {
		if err == nil {
			l.s.observeRateLimited("login")
		}
		return nil, d.Wait, err
	}
	return at, 0, nil
}

// RecordLock implements manage's optional lock sampler: one login.locked
// event per address (IPv6 per /64) per minute (the account of the sampled
// attempt is its target). Keyed by account or by whole IPv6 address, a
// flood of guesses at random usernames or from rotating addresses would
// write a row per guess.
func (l *loginThrottle) RecordLock(account, ip string) bool {
	return l.s.abuse.sampled.Allow("login\x00" + ratelimit.AddrKey(ip))
}

// forgetLogins ends an account's login throttling on this node: an
// admin's unlock, heard from the revocation feed (by every replica, the
// one that made it too). It runs under the feed's lock, which a Redis
// round trip (250 ms at most) holds only for this rare event.
func (s *Server) forgetLogins(digest string) {
	if s.abuse.throttle == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.abuse.throttle.t.Forget(ctx, digest); err != nil {
		s.log.Warn("forget an account's failed logins", "err", err)
	}
}

// loginThrottle counts failed logins (nil: none).
func (s *Server) loginThrottle() manage.LoginThrottle {
	if s.abuse.throttle == nil {
		return nil
	}
	return s.abuse.throttle
}

// keyBufSize is the size of the stack buffers limiter keys are built in;
// a longer key (a very long user or key id) still works, it just
// allocates.
const keyBufSize = 128

// limitRequest is middleware applied to every request (per-IP limits).
func (s *Server) limitRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := httpmw.ClientIPFrom(r.Context())
		if !ip.IsValid() || s.abuse.ip.Unlimited() {
			next.ServeHTTP(w, r)
			return
		}
		const prefix = "ip:"
		var buf [keyBufSize]byte
		key := ratelimit.AppendAddrKey(append(buf[:0], prefix...), ip)
		if res, ok := s.check(w, r, key, s.abuse.ip); !ok {
			s.deny(w, r, res, "ip", string(key[len(prefix):]), "", s.abuse.ip)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admit applies per-principal limits after the guard authenticated a
// request (guard.Config.Admit).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, p *guard.Principal) bool {
	a := &s.abuse
	var buf [keyBufSize]byte
	switch {
	case p.Method == guard.MethodAPIKey && p.KeyID != "":
		l, text := s.apiKeyLimit(r.Context(), p.KeyID)
		// The limit is part of the key: a changed limit starts afresh
		// instead of inheriting a state measured against the old one.
		key := append(append(append(append(buf[:0], "key:"...), p.KeyID...), ':'), text...)
		if !s.allow(w, r, "apikey", key, p.KeyID, p.KeyID, l) {
			return false
		}
	case p.IsClient(): // client credentials
		return s.allow(w, r, "client", append(append(buf[:0], "client:"...), p.ClientID...), p.ClientID, p.ClientID, a.client)
	}
	if p.Subject == "" {
		return true
	}
	return s.allow(w, r, "user", append(append(buf[:0], "user:"...), p.Subject...), p.Subject, p.Subject, a.user)
}

// apiKeyLimit returns the limit of an API key, its own or the default, and
// the limit's String.
func (s *Server) apiKeyLimit(ctx context.Context, id string) (ratelimit.Limit, string) {
	now := s.cfg.Now()
	if v, ok := s.abuse.keyLimits.Load(id); ok {
		if kl := v.(*keyLimit); now.Sub(kl.fetched) < keyLimitTTL && !now.Before(kl.fetched) {
			return kl.limit, kl.text
		}
	}
	l, text := s.abuse.apikey, s.abuse.apikeyText
	k, err := s.db.GetAPIKey(ctx, id)
	if err != nil {
		// The guard just read it; keep the default for this request.
		return l, text
	}
	if k.RateLimit != "" {
		if own, err := ratelimit.ParseLimit(k.RateLimit); err == nil {
			l, text = own, own.String()
		}
	}
	s.abuse.keyLimits.Store(id, &keyLimit{limit: l, text: text, fetched: now})
	return l, text
}

// limitClient applies per-client limits at the token endpoint.
func (s *Server) limitClient(w http.ResponseWriter, r *http.Request, c store.Client) error {
	if c.FirstParty {
		return nil
	}
	l := s.abuse.client
	if c.RateLimit != "" {
		if own, err := ratelimit.ParseLimit(c.RateLimit); err == nil {
			l = own
		}
	}
	var buf [keyBufSize]byte
	key := l.AppendText(append(append(append(buf[:0], "client:"...), c.ID...), ':'))
	res, ok := s.check(w, r, key, l)
	if ok {
		return nil
	}
	s.refused(r, "client", c.ID, c.ID, l)
	e := oauth.Errorf(oauth.TemporarilyUnavailable, "rate limit exceeded for this client; retry later")
	e.Status = http.StatusTooManyRequests
	e.RetryAfter = max(res.RetryAfter, time.Second)
	return e
}

// tokenFailures is the token endpoint's budget of failed requests per
// caller address (token.FailureBudget), under Config.RateLimitToken: a
// public client proves nothing by its client_id, so what junk costs is
// charged to where it comes from, never to the client (issue 13 item 6).
type tokenFailures struct{ s *Server }

func (f tokenFailures) Check(w http.ResponseWriter, r *http.Request) error {
	return f.s.tokenFailure(w, r, false)
}

func (f tokenFailures) Spend(w http.ResponseWriter, r *http.Request) error {
	return f.s.tokenFailure(w, r, true)
}

// tokenFailure spends one failure of the caller's address (or, without
// spend, only looks) and returns a 429 *oauth.Error when none is left. A
// limiter error lets the request through, as check does.
func (s *Server) tokenFailure(w http.ResponseWriter, r *http.Request, spend bool) error {
	ip, l := httpmw.ClientIPFrom(r.Context()), s.abuse.token
	if !ip.IsValid() || l.Unlimited() {
		return nil
	}
	const prefix = "tokenfail:"
	var buf [keyBufSize]byte
	key := ratelimit.AppendAddrKey(append(buf[:0], prefix...), ip)
	var res ratelimit.Result
	var err error
	if spend {
		res, err = s.abuse.allowKey(r.Context(), key, l)
	} else {
		res, err = s.abuse.limiter.Peek(r.Context(), string(key), l)
	}
	if err != nil || res.Allowed {
		return nil
	}
	ratelimit.SetHeaders(w.Header(), res)
	s.refused(r, "token_failures", string(key[len(prefix):]), "", l)
	e := oauth.Errorf(oauth.TemporarilyUnavailable, "too many failed token requests from this address; retry later")
	e.Status = http.StatusTooManyRequests
	e.RetryAfter = max(res.RetryAfter, time.Second)
	return e
}

// allow checks one limit; when it is exceeded it writes the 429 answer and
// returns false. kind names the limit for metrics; target and actor go
// into the (sampled) audit event.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, kind string, key []byte, target, actor string, l ratelimit.Limit) bool {
	res, ok := s.check(w, r, key, l)
	if !ok {
		s.deny(w, r, res, kind, target, actor, l)
	}
	return ok
}

// deny records a refusal by the limit l and writes the 429 answer.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, res ratelimit.Result, kind, target, actor string, l ratelimit.Limit) {
	s.refused(r, kind, target, actor, l)
	if r.URL.Path == "/oauth2/token" || r.URL.Path == "/token" {
		e := oauth.Errorf(oauth.TemporarilyUnavailable, "rate limit exceeded; retry later")
		e.Status = http.StatusTooManyRequests
		e.RetryAfter = max(res.RetryAfter, time.Second)
		oauth.WriteError(w, e)
		return
	}
	httpmw.WriteJSONError(w, http.StatusTooManyRequests, "rate_limited", "rate limit exceeded; retry after "+
		w.Header().Get("Retry-After")+" s")
}

// check asks the limiter and sets the RateLimit-* headers. When several
// limits apply to one request, the headers describe the tightest one
// (fewest remaining). A limiter error (only the caller's context, since
// the fallback keeps a local limiter) lets the request through. key is
// not kept.
func (s *Server) check(w http.ResponseWriter, r *http.Request, key []byte, l ratelimit.Limit) (ratelimit.Result, bool) {
	if l.Unlimited() {
		return ratelimit.Result{Allowed: true}, true
	}
	res, err := s.abuse.allowKey(r.Context(), key, l)
	if err != nil {
		return res, true
	}
	h := w.Header()
	if rem, ok := ratelimit.Remaining(h); !res.Allowed || !ok || res.Remaining < rem {
		ratelimit.SetHeaders(h, res)
	}
	return res, res.Allowed
}

// allowKey asks the limiter about a key built in a caller's buffer: the
// memory limiter takes it as is (no allocation for a known key), any other
// limiter (Redis behind its fallback) gets a string copy.
func (a *abuseState) allowKey(ctx context.Context, key []byte, l ratelimit.Limit) (ratelimit.Result, error) {
	if a.memory != nil {
		return a.memory.AllowBytes(ctx, key, l)
	}
	return a.limiter.Allow(ctx, string(key), l)
}

// refused counts a refusal and records a sampled ratelimit.exceeded event.
func (s *Server) refused(r *http.Request, kind, target, actor string, l ratelimit.Limit) {
	s.observeRateLimited(kind)
	if !s.abuse.sampled.Allow(kind + "\x00" + target) {
		return
	}
	a := s.actor(r)
	err := s.manager.Audit.Record(r.Context(), audit.Event{
		Action: audit.RateLimitExceeded, Actor: actor, Target: kind + ":" + target, IP: a.IP,
		UserAgent: a.UserAgent, RequestID: a.RequestID, Result: audit.ResultFailure,
		Reason: "limit=" + l.String() + " sampled=1m",
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "audit record failed", "err", err)
	}
}

// startAbuse starts background work (audit retention).
func (s *Server) startAbuse(ctx context.Context, run func(func(context.Context))) {
	if c := s.abuse.redis; c != nil {
		run(func(ctx context.Context) {
			<-ctx.Done()
			_ = c.Close()
		})
	}
	if s.cfg.AuditRetention <= 0 {
		return
	}
	run(func(ctx context.Context) {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			s.pruneAudit(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// pruneAudit deletes audit events older than the retention, keeping the
// chain verifiable (audit.Prune records the anchor first).
func (s *Server) pruneAudit(ctx context.Context) {
	before := s.cfg.Now().Add(-s.cfg.AuditRetention)
	n, err := audit.Prune(ctx, s.manager.Audit, before)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "prune audit log", "err", err)
	case n > 0:
		s.log.InfoContext(ctx, "pruned audit log", "events", n, "before", before.UTC().Format(time.RFC3339))
	}
}
