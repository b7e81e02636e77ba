// Package limits is gatehouse's rate-limit policy: which limit applies
// where, what a refusal answers, and the login throttle's adapter. The
// counting itself is internal/ratelimit's (GCRA in memory or in Redis,
// the failed-login throttle); this package decides what to count.
//
// Where each limit applies:
//
//   - [Policy.Middleware] (every request): per client address (IPv6 per
//     /64), Settings.IP.
//   - [Policy.LimitClient] (token endpoint, once the request proved itself:
//     a confidential client's secret, a public client's valid refresh
//     token, code and verifier or password): per OAuth2 client, its own
//     limit or Settings.Client. The built-in first-party client is exempt:
//     every user's login goes through it, and the per-address limits and
//     the login throttle cover it.
//   - [Policy.Check] and [Policy.Spend] (token endpoint): failed requests
//     that proved nothing (an unknown client, a wrong secret, a public
//     client's junk), per address under Settings.Token; an address that
//     spent its budget gets 429 for its public-client requests before
//     their grant runs. A public client proves nothing by its client_id, so
//     what junk costs is charged to where it comes from, never to the
//     client.
//   - [Policy.Admit] (the guard, after authentication): per API key (its
//     own limit or Settings.APIKey), per user (Settings.User) and, for a
//     client-credentials token, per client.
//   - [Policy.LoginThrottle] (every password check, before hashing):
//     password attempts per address (Settings.Token), then failed logins
//     per address, per address and account (a lock) and per account
//     (growing delays, never a lock); an admin's unlock reaches it through
//     the change stream ([Policy.Changed]).
//
// With a Redis client the limiter and the throttle's counters live in
// Redis (shared by every replica) behind a fallback to local memory while
// Redis is unreachable: limits stay in force per node, the switch is
// logged once and reported to the Observer.
//
// It imports ratelimit, guard (the principal), oauth (the token endpoint's
// error shape), audit (sampled refusals), httpmw (the client address and
// the JSON error writer) and the store's records; no endpoint package.
package limits

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Settings are the limits in force, parsed once.
type Settings struct {
	IP, Token, User, APIKey, Client ratelimit.Limit
	// LoginIP bounds failed logins per address; LoginMaxFailures failures
	// in a row lock an address out of one account for LoginLockout.
	LoginIP          ratelimit.Limit
	LoginMaxFailures int
	LoginLockout     time.Duration
}

// Observer learns every refusal (kind: ip, apikey, user, client, login,
// token_failures) and every switch of a Redis-backed counter to local
// memory and back (backend: limiter, login_throttle).
type Observer interface {
	RateLimited(kind string)
	Fallback(backend string, down bool)
}

// OwnLimits tells the own limit of an API key or a client, if it has one,
// parsed once when its record was read: the API-key verifier and the
// client authenticator, whose caches the request has just filled.
type OwnLimits interface {
	RateLimit(ctx context.Context, id string) (ratelimit.Limit, bool)
}

// Config is what [New] needs.
type Config struct {
	Settings Settings
	// Redis, when set, holds the counters of every replica.
	Redis *redis.Client
	// Keys and Clients tell API keys' and clients' own limits.
	Keys, Clients OwnLimits
	Audit         *audit.Recorder
	Observer      Observer
	Logger        *slog.Logger
	// Now is the clock of the login throttle and the audit sampler.
	// Request limits read the wall clock: a test or an embedding
	// application that moves its token clock must not stall every limit
	// (Redis reads its own clock anyway).
	Now func() time.Time
}

// Policy applies the limits. Build it with [New]; it is safe for
// concurrent use and never changes after.
type Policy struct {
	set      Settings
	limiter  ratelimit.Limiter
	memory   *ratelimit.Memory // the limiter when it is local memory only (no Redis)
	throttle *ratelimit.Throttle
	keys     OwnLimits
	clients  OwnLimits
	audit    *audit.Recorder
	observer Observer
	log      *slog.Logger
	sampled  *audit.Sampler
	// apikeyText is Settings.APIKey as text, part of the limiter key of
	// every API key without a limit of its own.
	apikeyText string
}

// New builds the policy's limiter and login throttle.
func New(cfg Config) *Policy {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	set := cfg.Settings
	perIP := set.LoginIP
	if perIP.Unlimited() {
		perIP = ratelimit.Limit{Rate: 1e9, Burst: 1e9} // the throttle's zero value means its default
	}
	onFallback := func(backend string) func(bool) {
		return func(down bool) { cfg.Observer.Fallback(backend, down) }
	}
	local := ratelimit.NewMemory(time.Now)
	p := &Policy{
		set: set, limiter: local, memory: local, keys: cfg.Keys, clients: cfg.Clients, audit: cfg.Audit, observer: cfg.Observer,
		log: cfg.Logger, sampled: &audit.Sampler{Now: cfg.Now}, apikeyText: set.APIKey.String(),
	}
	var counters ratelimit.Counters = ratelimit.NewMemoryCounters(cfg.Now)
	if cfg.Redis != nil {
		p.memory = nil
		p.limiter = ratelimit.NewFallback(ratelimit.NewRedis(cfg.Redis, "gatehouse:rl:"), local, cfg.Logger, onFallback("limiter"))
		counters = ratelimit.NewFallbackCounters(ratelimit.NewRedisCounters(cfg.Redis, "gatehouse:login:"), counters,
			cfg.Logger, onFallback("login_throttle"))
	}
	cfg.Observer.Fallback("limiter", false)
	cfg.Observer.Fallback("login_throttle", false)
	p.throttle = ratelimit.NewThrottle(counters, ratelimit.ThrottleConfig{
		MaxFailures: set.LoginMaxFailures, LockFor: set.LoginLockout, PerIP: perIP,
	})
	return p
}

type nopObserver struct{}

func (nopObserver) RateLimited(string)    {}
func (nopObserver) Fallback(string, bool) {}

// Changed is the policy's change-stream handler: an admin's unlock ends an
// account's login throttling on this node (every replica hears it, the one
// that made it too). The counters may live in Redis, so the work goes to a
// goroutine of its own, bounded by a second.
func (p *Policy) Changed(c changes.Change) {
	if c.Kind != changes.Unlock {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := p.throttle.Forget(ctx, c.ID); err != nil {
			p.log.Warn("forget an account's failed logins", "err", err)
		}
	}()
}

// keyBufSize is the size of the stack buffers limiter keys are built in;
// a longer key (a very long user or key id) still works, it just
// allocates.
const keyBufSize = 128

// Middleware limits every request per client address.
func (p *Policy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := httpmw.ClientIPFrom(r.Context())
		if !ip.IsValid() || p.set.IP.Unlimited() {
			next.ServeHTTP(w, r)
			return
		}
		const prefix = "ip:"
		var buf [keyBufSize]byte
		key := ratelimit.AppendAddrKey(append(buf[:0], prefix...), ip)
		if res, ok := p.check(w, r, key, p.set.IP); !ok {
			p.deny(w, r, res, "ip", string(key[len(prefix):]), "", p.set.IP)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Admit applies per-principal limits after the guard authenticated a
// request (guard.Config.Admit).
func (p *Policy) Admit(w http.ResponseWriter, r *http.Request, pr *guard.Principal) bool {
	var buf [keyBufSize]byte
	switch {
	case pr.Method == guard.MethodAPIKey && pr.KeyID != "":
		// The limit is part of the key: a changed limit starts afresh
		// instead of inheriting a state measured against the old one.
		key := append(append(append(buf[:0], "key:"...), pr.KeyID...), ':')
		l := p.set.APIKey
		if own, ok := p.keys.RateLimit(r.Context(), pr.KeyID); ok {
			l, key = own, own.AppendText(key)
		} else {
			key = append(key, p.apikeyText...)
		}
		if !p.allow(w, r, "apikey", key, pr.KeyID, pr.KeyID, l) {
			return false
		}
	case pr.IsClient(): // client credentials
		return p.allow(w, r, "client", append(append(buf[:0], "client:"...), pr.ClientID...), pr.ClientID, pr.ClientID, p.set.Client)
	}
	if pr.Subject == "" {
		return true
	}
	return p.allow(w, r, "user", append(append(buf[:0], "user:"...), pr.Subject...), pr.Subject, pr.Subject, p.set.User)
}

// LimitClient applies the per-client limit at the token endpoint, once
// the request proved itself (token.Handler.Limit).
func (p *Policy) LimitClient(w http.ResponseWriter, r *http.Request, c store.Client) error {
	if c.FirstParty {
		return nil
	}
	l := p.set.Client
	if own, ok := p.clients.RateLimit(r.Context(), c.ID); ok {
		l = own
	}
	var buf [keyBufSize]byte
	key := l.AppendText(append(append(append(buf[:0], "client:"...), c.ID...), ':'))
	res, ok := p.check(w, r, key, l)
	if ok {
		return nil
	}
	p.refused(r, "client", c.ID, c.ID, l)
	return tooMany("rate limit exceeded for this client; retry later", res)
}

// Check refuses a token request when the caller's address has spent its
// budget of failures; it spends nothing (token.FailureBudget).
func (p *Policy) Check(w http.ResponseWriter, r *http.Request) error {
	return p.tokenFailure(w, r, false)
}

// Spend counts one failed token request of the caller's address, and
// refuses when the budget was spent already (token.FailureBudget).
func (p *Policy) Spend(w http.ResponseWriter, r *http.Request) error {
	return p.tokenFailure(w, r, true)
}

// tokenFailure spends one failure of the caller's address (or, without
// spend, only looks) and returns a 429 *oauth.Error when none is left. A
// limiter error lets the request through, as check does.
func (p *Policy) tokenFailure(w http.ResponseWriter, r *http.Request, spend bool) error {
	ip, l := httpmw.ClientIPFrom(r.Context()), p.set.Token
	if !ip.IsValid() || l.Unlimited() {
		return nil
	}
	const prefix = "tokenfail:"
	var buf [keyBufSize]byte
	key := ratelimit.AppendAddrKey(append(buf[:0], prefix...), ip)
	var res ratelimit.Result
	var err error
	if spend {
		res, err = p.allowKey(r.Context(), key, l)
	} else {
		res, err = p.limiter.Peek(r.Context(), string(key), l)
	}
	if err != nil || res.Allowed {
		return nil
	}
	ratelimit.SetHeaders(w.Header(), res)
	p.refused(r, "token_failures", string(key[len(prefix):]), "", l)
	return tooMany("too many failed token requests from this address; retry later", res)
}

// tooMany is the token endpoint's 429 (RFC 6749 §5.2 shape).
func tooMany(msg string, res ratelimit.Result) error {
	e := oauth.Errorf(oauth.TemporarilyUnavailable, "%s", msg)
	e.Status = http.StatusTooManyRequests
	e.RetryAfter = max(res.RetryAfter, time.Second)
	return e
}

// allow checks one limit; when it is exceeded it writes the 429 answer and
// returns false. kind names the limit for metrics; target and actor go
// into the (sampled) audit event.
func (p *Policy) allow(w http.ResponseWriter, r *http.Request, kind string, key []byte, target, actor string, l ratelimit.Limit) bool {
	res, ok := p.check(w, r, key, l)
	if !ok {
		p.deny(w, r, res, kind, target, actor, l)
	}
	return ok
}

// deny records a refusal by the limit l and writes the 429 answer: an
// RFC 6749 error on the token endpoint, the JSON error elsewhere.
func (p *Policy) deny(w http.ResponseWriter, r *http.Request, res ratelimit.Result, kind, target, actor string, l ratelimit.Limit) {
	p.refused(r, kind, target, actor, l)
	if r.URL.Path == "/oauth2/token" || r.URL.Path == "/token" {
		oauth.WriteError(w, tooMany("rate limit exceeded; retry later", res))
		return
	}
	jsonerror.Write(w, http.StatusTooManyRequests, "rate_limited", "rate limit exceeded; retry after "+
		w.Header().Get("Retry-After")+" s")
}

// check asks the limiter and sets the RateLimit-* headers. When several
// limits apply to one request, the headers describe the tightest one
// (fewest remaining). A limiter error (only the caller's context, since
// the fallback keeps a local limiter) lets the request through. key is
// not kept.
func (p *Policy) check(w http.ResponseWriter, r *http.Request, key []byte, l ratelimit.Limit) (ratelimit.Result, bool) {
	if l.Unlimited() {
		return ratelimit.Result{Allowed: true}, true
	}
	res, err := p.allowKey(r.Context(), key, l)
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
func (p *Policy) allowKey(ctx context.Context, key []byte, l ratelimit.Limit) (ratelimit.Result, error) {
	if p.memory != nil {
		return p.memory.AllowBytes(ctx, key, l)
	}
	return p.limiter.Allow(ctx, string(key), l)
}

// refused counts a refusal and records a sampled ratelimit.exceeded event.
func (p *Policy) refused(r *http.Request, kind, target, actor string, l ratelimit.Limit) {
	p.observer.RateLimited(kind)
	if !p.sampled.Allow(kind + "\x00" + target) {
		return
	}
	a := httpmw.Actor(r)
	a.ID = actor
	p.audit.Record(r.Context(), a.Event(audit.RateLimitExceeded, kind+":"+target, audit.ResultFailure,
		"limit="+l.String()+" sampled=1m"))
}

// LoginThrottle returns the throttle every password check goes through
// (service.LoginThrottle).
func (p *Policy) LoginThrottle() service.LoginThrottle { return loginThrottle{p} }

// loginThrottle adapts ratelimit.Throttle to service.LoginThrottle,
// counting refusals and sampling their audit events.
type loginThrottle struct{ p *Policy }

func (l loginThrottle) Begin(ctx context.Context, account, ip string) (service.LoginAttempt, time.Duration, error) {
	p := l.p
	// Password attempts per address (Settings.Token), checked before any
	// hashing: the stricter limit of the token endpoint, which keeps a
	// flood of guesses from one place off the hasher.
	if a, err := netip.ParseAddr(ip); err == nil && !p.set.Token.Unlimited() {
		var buf [keyBufSize]byte
		key := ratelimit.AppendAddrKey(append(buf[:0], "login:"...), a)
		if res, err := p.allowKey(ctx, key, p.set.Token); err == nil && !res.Allowed {
			p.observer.RateLimited("login")
			return nil, max(res.RetryAfter, time.Second), nil
		}
	}
	at, d, err := p.throttle.Begin(ctx, account, ip)
	if err != nil || d.Wait > 0 {
		if err == nil {
			p.observer.RateLimited("login")
		}
		return nil, d.Wait, err
	}
	return at, 0, nil
}

// RecordLock implements service.LockSampler: one login.locked event per
// address (IPv6 per /64) per minute (the account of the sampled attempt is
// its target). Keyed by account or by whole IPv6 address, a flood of
// guesses at random usernames or from rotating addresses would write a row
// per guess.
func (l loginThrottle) RecordLock(account, ip string) bool {
	return l.p.sampled.Allow("login\x00" + ratelimit.AddrKey(ip))
}
