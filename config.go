package gatehouse

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/defaults"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/limits"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Config configures a Server. The zero value of every field means its
// documented default, applied by New.
type Config struct {
	// Addr is the listen address of the binary ("127.0.0.1:8080"); it also
	// forms the default Issuer.
	Addr string
	// DatabaseURL is "sqlite:PATH" (default "sqlite:./gatehouse.db") or a
	// "postgres://" URL.
	DatabaseURL string
	// Issuer is the `iss` of every token; replicas must share it.
	// Default "http://" + Addr.
	Issuer string
	// Audience is the `aud` of access tokens, required by the guard.
	// Default: the issuer.
	Audience string

	AccessTokenTTL  time.Duration // default 15m
	RefreshTokenTTL time.Duration // absolute lifetime of a refresh family; default 720h
	// RefreshIdleTTL expires a refresh token that is not used for this
	// long; default 0 = only the absolute lifetime applies.
	RefreshIdleTTL time.Duration
	// RefreshReuseGrace is the window in which a used refresh token gets the
	// same successor again (concurrent refreshes). Default 5s; negative
	// turns it off.
	RefreshReuseGrace time.Duration
	ClockSkew         time.Duration // leeway for exp/nbf/iat; default 5s
	AuthCodeTTL       time.Duration // default 1m
	// LoginSessionTTL is how long a browser stays signed in at the
	// authorization endpoint (its login session). Default 12h.
	LoginSessionTTL time.Duration

	// SigningAlg is ES256 (default), EdDSA, RS256 or HS256.
	SigningAlg string
	// JWTSecret is the HS256 shared secret (GATEHOUSE_JWT_SECRET), at
	// least 32 bytes. Only for SigningAlg HS256.
	JWTSecret []byte
	// KeyRotation rotates the signing key automatically this often; 0 = only
	// by `gatehouse key rotate`.
	KeyRotation time.Duration
	// KeyPublishDelay is how long a new signing key is published in the
	// JWKS before it signs; default 5s. Replicas hear of a new key within
	// a second through the revocation feed, and remote guards refetch the
	// JWKS on the notice and on an unknown kid at most once a second by
	// default, so 5s leaves every verifier time to know the key first.
	KeyPublishDelay time.Duration

	// DisablePasswordGrant turns the password grant off server-wide.
	DisablePasswordGrant bool
	// APIKeyPrefix is the prefix of new API keys; default "gk_".
	APIKeyPrefix string

	// RedisURL, when set, shares rate limits across replicas.
	RedisURL string
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string
	// MaxBody is the request body limit in bytes; default 1 MiB.
	MaxBody int64

	// Rate limits, written as COUNT/UNIT[:BURST] ("100/s", "20/m:40") or
	// "unlimited"; "" means the default named. See wire_abuse.go.
	//
	// RateLimitIP limits every request per client address (resolved
	// through TrustedProxies); default [DefaultRateLimitIP].
	RateLimitIP string
	// RateLimitUser limits authenticated requests per user (all of the
	// user's tokens and keys together); default [DefaultRateLimitUser].
	RateLimitUser string
	// RateLimitAPIKey limits requests per API key that has no limit of
	// its own (apikey create --rate-limit); default [DefaultRateLimitAPIKey].
	RateLimitAPIKey string
	// RateLimitClient limits token requests per OAuth2 client that has no
	// limit of its own (counted once a request proved itself: a
	// confidential client's secret, a public client's valid refresh token,
	// code or password), and requests made with its client-credentials
	// tokens; default [DefaultRateLimitClient].
	RateLimitClient string
	// RateLimitToken is the stricter limit of the token endpoint, per
	// client address: password attempts (password grant, login form),
	// checked before the password is hashed, and, counted apart, failed
	// token requests that proved nothing (unknown client, wrong secret, a
	// public client's invalid refresh token, code or password); default
	// [DefaultRateLimitToken].
	RateLimitToken string
	// LoginMaxFailures is the number of failed logins in a row from one
	// client address at one account after which that address is locked
	// out of that account for LoginLockout; default 10. The account itself
	// is never locked, only slowed down: growing delays (at most a minute)
	// start after its third failure in a row from any addresses, and an
	// address that logged in to it in the last 30 days skips them.
	LoginMaxFailures int
	// LoginLockout is how long such a lock lasts after the address's last
	// failure, and how long an account's run of failures is remembered;
	// default 15m.
	LoginLockout time.Duration
	// LoginIPLimit bounds failed logins per client address (IPv6 per /64),
	// whatever the account; default "100/m", loose enough for an office
	// behind one address.
	LoginIPLimit string
	// AuditRetention deletes audit events older than this (hourly,
	// keeping the hash chain verifiable); 0 keeps them forever.
	AuditRetention time.Duration
	// PasswordHashConcurrency is how many password hashes may run at
	// once; 0 means half the CPUs (at least one), so that a login flood
	// leaves CPU for token and API-key checks.
	PasswordHashConcurrency int

	// MetricsAllow lists the CIDRs (or bare addresses) of the clients that
	// may scrape GET /metrics; others get 403. The client address is the one
	// resolved through TrustedProxies. Empty means DefaultMetricsAllow:
	// loopback and private networks, so a Prometheus on the same host or
	// network can scrape but the internet cannot. Use "0.0.0.0/0" and
	// "::/0" to open it to everyone.
	MetricsAllow []string
	// MetricsScope, when set, also requires a bearer token or API key with
	// this scope on GET /metrics (checked by the guard).
	MetricsScope string

	// Secret is the 32-byte master secret that encrypts private signing
	// keys at rest. When nil, SecretFile is read; when that is empty too, an
	// SQLite store keeps a generated one beside the database file (with a
	// warning); PostgreSQL requires it.
	Secret     []byte
	SecretFile string

	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time

	// InsecureFastPasswordHashing uses cheap argon2id parameters. It exists
	// for tests and benchmarks only: never set it on a real server.
	InsecureFastPasswordHashing bool
}

// Default values (written once, in internal/defaults).
const (
	DefaultAddr        = defaults.Addr
	DefaultDatabaseURL = defaults.DatabaseURL
)

// Default rate limits (see [Config.RateLimitIP] and the fields after it).
const (
	DefaultRateLimitIP     = defaults.RateLimitIP
	DefaultRateLimitUser   = defaults.RateLimitUser
	DefaultRateLimitAPIKey = defaults.RateLimitAPIKey
	DefaultRateLimitClient = defaults.RateLimitClient
	DefaultRateLimitToken  = defaults.RateLimitToken
	DefaultLoginIPLimit    = defaults.LoginIPLimit
)

// DefaultMetricsAllow is the default of [Config.MetricsAllow]: loopback,
// RFC 1918 private IPv4, and IPv6 unique local addresses (RFC 4193).
var DefaultMetricsAllow = defaults.MetricsAllow()

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = DefaultDatabaseURL
	}
	if c.Issuer == "" {
		c.Issuer = "http://" + c.Addr
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	def(&c.AccessTokenTTL, defaults.AccessTokenTTL)
	def(&c.RefreshTokenTTL, defaults.RefreshTokenTTL)
	def(&c.RefreshReuseGrace, defaults.RefreshReuseGrace)
	def(&c.ClockSkew, defaults.ClockSkew)
	def(&c.AuthCodeTTL, defaults.AuthCodeTTL)
	def(&c.LoginSessionTTL, defaults.LoginSessionTTL)
	def(&c.KeyPublishDelay, defaults.KeyPublishDelay)
	if c.SigningAlg == "" {
		c.SigningAlg = defaults.SigningAlg
	}
	if c.APIKeyPrefix == "" {
		c.APIKeyPrefix = defaults.APIKeyPrefix
	}
	if c.MaxBody == 0 {
		c.MaxBody = defaults.MaxBody
	}
	for _, d := range []struct {
		v   *string
		def string
	}{
		{&c.RateLimitIP, DefaultRateLimitIP}, {&c.RateLimitUser, DefaultRateLimitUser},
		{&c.RateLimitAPIKey, DefaultRateLimitAPIKey}, {&c.RateLimitClient, DefaultRateLimitClient},
		{&c.RateLimitToken, DefaultRateLimitToken}, {&c.LoginIPLimit, DefaultLoginIPLimit},
	} {
		if *d.v == "" {
			*d.v = d.def
		}
	}
	if c.LoginMaxFailures == 0 {
		c.LoginMaxFailures = defaults.LoginMaxFailures
	}
	def(&c.LoginLockout, defaults.LoginLockout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem with the configuration at once. It checks
// the configuration as New will use it, with defaults applied.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is a configuration as the server uses it: defaults applied and
// every setting written as text parsed, once.
type resolved struct {
	Config
	limits       limits.Settings
	trusted      []netip.Prefix // TrustedProxies
	metricsAllow []netip.Prefix // MetricsAllow, or DefaultMetricsAllow
}

// resolve applies the defaults, checks every setting and parses those
// written as text; it reports every problem at once.
func (c Config) resolve() (resolved, error) {
	explicitIssuer := c.Issuer != ""
	c.setDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("issuer %q must be an http(s) URL without query or fragment", c.Issuer)
	} else if explicitIssuer && unreachableHost(u.Hostname()) {
		bad("issuer %q names no address a client can reach: use the URL clients use", c.Issuer)
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !isPostgres(c.DatabaseURL) {
		bad("database url must start with sqlite: or postgres://")
	}
	for name, d := range map[string]time.Duration{
		"access-token-ttl": c.AccessTokenTTL, "refresh-token-ttl": c.RefreshTokenTTL,
		"clock-skew": c.ClockSkew, "auth-code-ttl": c.AuthCodeTTL, "login-session-ttl": c.LoginSessionTTL,
	} {
		if d < 0 {
			bad("%s must not be negative", name)
		}
	}
	if c.RefreshIdleTTL < 0 || c.KeyRotation < 0 || c.KeyPublishDelay < 0 {
		bad("durations must not be negative")
	}
	if c.KeyRotation > 0 && c.KeyRotation < 2*c.AccessTokenTTL {
		bad("key rotation period %s must be at least twice the access-token ttl %s", c.KeyRotation, c.AccessTokenTTL)
	}
	switch c.SigningAlg {
	case "ES256", "EdDSA", "RS256":
	case "HS256":
		if len(c.JWTSecret) < 32 {
			bad("signing alg HS256 needs GATEHOUSE_JWT_SECRET of at least 32 bytes")
		}
	default:
		bad("signing alg %q: want ES256, EdDSA, RS256 or HS256", c.SigningAlg)
	}
	if err := secret.ValidatePrefix(c.APIKeyPrefix); err != nil {
		bad("api key prefix %q: want 1-16 lower-case letters or digits starting with a letter, ending in _", c.APIKeyPrefix)
	}
	if c.MaxBody < 1024 {
		bad("max body must be at least 1KiB")
	}
	if c.Secret != nil && len(c.Secret) != 32 {
		bad("master secret must be 32 bytes (64 hex characters or base64)")
	}
	r := resolved{Config: c}
	var err error
	if r.trusted, err = httpmw.ParseTrustedProxies(strings.Join(c.TrustedProxies, ",")); err != nil {
		bad("trusted proxies: %v", err)
	}
	allow := c.MetricsAllow
	if len(allow) == 0 {
		allow = DefaultMetricsAllow
	}
	if r.metricsAllow, err = httpmw.ParseTrustedProxies(strings.Join(allow, ",")); err != nil {
		bad("metrics allow: %v", err)
	}
	if c.MetricsScope != "" {
		if sc, err := service.ParseScopes([]string{c.MetricsScope}); err != nil || len(sc) != 1 || sc[0] != c.MetricsScope {
			bad("metrics scope %q must be a single scope (no spaces, commas or quotes)", c.MetricsScope)
		}
	}
	for _, l := range []struct {
		name string
		text string
		dst  *ratelimit.Limit
	}{
		{"rate-limit-ip", c.RateLimitIP, &r.limits.IP}, {"rate-limit-user", c.RateLimitUser, &r.limits.User},
		{"rate-limit-apikey", c.RateLimitAPIKey, &r.limits.APIKey}, {"rate-limit-client", c.RateLimitClient, &r.limits.Client},
		{"rate-limit-token", c.RateLimitToken, &r.limits.Token}, {"login-ip-limit", c.LoginIPLimit, &r.limits.LoginIP},
	} {
		if *l.dst, err = ratelimit.ParseLimit(l.text); err != nil {
			bad("%s: %v", l.name, err)
		}
	}
	r.limits.LoginMaxFailures, r.limits.LoginLockout = c.LoginMaxFailures, c.LoginLockout
	if c.LoginMaxFailures < 0 || c.LoginLockout < 0 || c.AuditRetention < 0 || c.PasswordHashConcurrency < 0 {
		bad("login-max-failures, login-lockout, audit-retention and password-hash-concurrency must not be negative")
	}
	if c.AuditRetention > 0 && c.AuditRetention < time.Hour {
		bad("audit retention %s must be at least 1h", c.AuditRetention)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("redis url must start with redis:// or rediss://")
	}
	return r, errors.Join(errs...)
}

// unreachableHost reports whether a client can never connect to host: it
// is empty or an unspecified address (0.0.0.0, ::), which a server may
// listen on but no client can dial.
func unreachableHost(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// issuerWarning returns a warning when the issuer is left to its default
// and that default, http://<Addr>, is no address a client can reach: a
// server listening on all interfaces (the container image does) would put
// http://0.0.0.0:8080 into every token and discovery document. It is a
// warning, not an error, because a client on the same machine still gets
// tokens the server itself accepts.
func (c Config) issuerWarning() string {
	if c.Issuer != "" {
		return ""
	}
	addr := c.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !unreachableHost(host) {
		return ""
	}
	return "the issuer http://" + addr + " is no address a client can reach (clients, remote guards and " +
		"discovery need one): set GATEHOUSE_ISSUER (--issuer) to the URL clients use, e.g. http://localhost:8080"
}

func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}
