package guard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	defaultRealm        = "gatehouse"
	defaultAPIKeyPrefix = "gk_"
	defaultLeeway       = 5 * time.Second
	// maxCredentialSize caps the Authorization and X-API-Key header values
	// and the access tokens the guard will parse (8 KiB).
	maxCredentialSize = 8 << 10
)

// Config configures a [Guard]. The zero value of each optional field is
// documented with it.
type Config struct {
	// Issuer is the exact "iss" every access token must carry. Required
	// when Keys is set.
	Issuer string
	// Audience must be one of the token's "aud" values. Required when Keys
	// is set.
	Audience string
	// Keys verifies bearer JWTs. Nil means bearer JWTs are refused; at
	// least one of Keys and APIKeys must be set.
	Keys KeySet
	// APIKeys verifies API keys. Nil means API keys are refused.
	APIKeys APIKeyVerifier
	// Revocations is asked about every verified access token. Nil means no
	// token is treated as revoked.
	Revocations RevocationChecker
	// APIKeyPrefix marks a bearer value as an API key rather than a JWT.
	// Empty means "gk_".
	APIKeyPrefix string
	// Leeway is the clock skew allowed when checking "exp", "nbf" and
	// "iat". Zero means 5s; negative values are refused.
	Leeway time.Duration
	// Now returns the current time. Nil means [time.Now].
	Now func() time.Time
	// Realm is the realm of the WWW-Authenticate challenge. Empty means
	// "gatehouse".
	Realm string
	// Logger receives one debug record per failed authentication, with the
	// method, error code and cause. Credentials are never logged. Nil means
	// no logging.
	Logger *slog.Logger
	// OnResult, if set, is called once per [Guard.Authenticate] and once
	// per request through [Guard.Require] or [Guard.RequireAny] with the
	// method tried ("" when the request carried no usable credential) and
	// the result: nil or an [*Error]. Through Require, a principal refused
	// for missing scopes is reported with the 403 insufficient_scope error
	// instead of nil. It suits metrics; it must be fast and safe for
	// concurrent use.
	OnResult func(method Method, err error)
	// OnDuration, if set, is called once per [Guard.Authenticate] with the
	// method tried and how long authentication took by the wall clock
	// (enrichment included, the scope check and Admit not). It suits a
	// latency histogram; it must be fast and safe for concurrent use.
	OnDuration func(method Method, d time.Duration)
	// Enrich, if set, is called with every principal verified from an
	// access token, before scopes are checked, to fill in what the token
	// does not carry (the embedded server sets Username). An error is
	// logged and the principal is used as it is. Nil means none.
	Enrich func(ctx context.Context, p *Principal) error
	// Admit, if set, is called by [Guard.Require] and [Guard.RequireAny]
	// for every authenticated request after its scopes were checked, with
	// the principal; it may refuse the request by writing a response and
	// returning false (the embedded server applies per-key and per-user
	// rate limits here). Nil admits every request.
	Admit func(w http.ResponseWriter, r *http.Request, p *Principal) bool
	// TokenCacheSize bounds how many verified access tokens the guard
	// remembers (keyed by the SHA-256 of the token, each until it
	// expires), so that a token seen again skips the signature check. The
	// signing key's validity, the expiry and [Config.Revocations] are
	// still checked on every request, and every request gets its own copy
	// of the principal. Zero means [DefaultTokenCacheSize]; negative turns
	// the cache off.
	TokenCacheSize int
}

// Guard authenticates requests. It is safe for concurrent use and is not
// changed after [New].
type Guard struct {
	issuer       string
	audience     string
	keys         KeySet
	apiKeys      APIKeyVerifier
	revocations  RevocationChecker
	apiKeyPrefix string
	leeway       time.Duration
	now          func() time.Time
	realm        string
	logger       *slog.Logger
	onResult     func(Method, error)
	onDuration   func(Method, time.Duration)
	enrich       func(context.Context, *Principal) error
	admit        func(http.ResponseWriter, *http.Request, *Principal) bool
	cache        *tokenCache
	gate         func() *Error                                    // see remoteHooks
	learn        func(context.Context, *Principal, string) *Error // see remoteHooks
	// algs is the allow-list handed to the JWS parser; the per-key pin is
	// checked after parsing.
	algs []jose.SignatureAlgorithm
}

// New checks cfg, fills in its defaults and returns a [Guard]. It reports
// every problem with cfg at once.
func New(cfg Config) (*Guard, error) { return newGuard(cfg, remoteHooks{}) }

// remoteHooks are the checks a remote guard ([NewRemote]) adds.
type remoteHooks struct {
	// gate is asked before any credential is verified; an error refuses
	// the request (the revocation feed is stale beyond MaxStale).
	gate func() *Error
	// learn completes the principal of a verified access token (its
	// username); an error refuses the request.
	learn func(ctx context.Context, p *Principal, token string) *Error
}

func newGuard(cfg Config, hooks remoteHooks) (*Guard, error) {
	var problems []error
	if cfg.Keys == nil && cfg.APIKeys == nil {
		problems = append(problems, errors.New("one of Keys and APIKeys is required"))
	}
	if cfg.Keys != nil {
		if cfg.Issuer == "" {
			problems = append(problems, errors.New("Issuer is required with Keys"))
		}
		if cfg.Audience == "" {
			problems = append(problems, errors.New("Audience is required with Keys"))
		}
	}
	if cfg.Leeway < 0 {
		problems = append(problems, errors.New("Leeway must not be negative"))
	}
	if strings.ContainsAny(cfg.APIKeyPrefix, " \t\r\n") {
		problems = append(problems, errors.New("APIKeyPrefix must not contain white space"))
	}
	if !validRealm(cfg.Realm) {
		problems = append(problems, errors.New(`Realm must be printable ASCII without '"' or '\'`))
	}
	if len(problems) > 0 {
		return nil, errors.Join(append([]error{errors.New("guard: invalid config")}, problems...)...)
	}

	g := &Guard{
		issuer:       cfg.Issuer,
		audience:     cfg.Audience,
		keys:         cfg.Keys,
		apiKeys:      cfg.APIKeys,
		revocations:  cfg.Revocations,
		apiKeyPrefix: cfg.APIKeyPrefix,
		leeway:       cfg.Leeway,
		now:          cfg.Now,
		realm:        cfg.Realm,
		logger:       cfg.Logger,
		onResult:     cfg.OnResult,
		onDuration:   cfg.OnDuration,
		enrich:       cfg.Enrich,
		admit:        cfg.Admit,
		gate:         hooks.gate,
		learn:        hooks.learn,
		algs:         allowedAlgorithms(),
	}
	switch {
	case cfg.TokenCacheSize == 0:
		g.cache = newTokenCache(DefaultTokenCacheSize)
	case cfg.TokenCacheSize > 0:
		g.cache = newTokenCache(cfg.TokenCacheSize)
	}
	if g.apiKeyPrefix == "" {
		g.apiKeyPrefix = defaultAPIKeyPrefix
	}
	if g.leeway == 0 {
		g.leeway = defaultLeeway
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.realm == "" {
		g.realm = defaultRealm
	}
	return g, nil
}

func validRealm(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Realm returns the realm the guard's challenges name, for callers that
// write its errors themselves with [WriteError].
func (g *Guard) Realm() string { return g.realm }

// Authenticate finds the request's credential, verifies it and returns its
// principal. It does not check scopes. On failure the error is an [*Error]:
// 400 invalid_request for a malformed request (two credentials, repeated or
// oversized headers, a credential in the query string), 401 without a code
// when there is no credential, 401 invalid_token when the credential is
// refused, 503 temporarily_unavailable when it cannot be checked now (an
// [*UnavailableError] from the [APIKeyVerifier] or [KeySet]; in remote
// mode, a stale feed or an issuer that cannot be asked).
func (g *Guard) Authenticate(r *http.Request) (*Principal, error) {
	p, method, err := g.authenticateTimed(r)
	if g.onResult != nil {
		g.onResult(method, err)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// authenticateTimed is Authenticate without the OnResult call, which the
// middleware makes itself once it knows whether the scopes suffice.
func (g *Guard) authenticateTimed(r *http.Request) (*Principal, Method, error) {
	var start time.Time
	if g.onDuration != nil {
		start = time.Now()
	}
	p, method, gerr := g.authenticate(r)
	if gerr != nil {
		g.logFailure(r.Context(), method, gerr)
		if g.onDuration != nil {
			g.onDuration(method, time.Since(start))
		}
		return nil, method, gerr
	}
	if g.enrich != nil && method == MethodBearer {
		// The principal was made for this request, so it may be changed.
		if err := g.enrich(r.Context(), p); err != nil && g.logger != nil {
			g.logger.WarnContext(r.Context(), "guard: enrich principal", "err", err)
		}
	}
	if g.onDuration != nil {
		g.onDuration(method, time.Since(start))
	}
	return p, method, nil
}

func (g *Guard) authenticate(r *http.Request) (*Principal, Method, *Error) {
	if r.URL != nil && r.URL.RawQuery != "" && hasQueryCredential(r.URL.RawQuery) {
		return nil, "", invalidRequest(DescriptionQueryCredential)
	}
	authz, err := singleHeader(r.Header, "Authorization")
	if err != nil {
		return nil, "", err
	}
	apiKey, err := singleHeader(r.Header, "X-Api-Key")
	if err != nil {
		return nil, "", err
	}
	bearer, isBearer, err := parseBearer(authz)
	if err != nil {
		return nil, MethodBearer, err
	}
	apiKey = strings.Trim(apiKey, " \t")

	ctx := r.Context()
	if g.gate != nil && (apiKey != "" || isBearer) {
		method := MethodBearer
		if apiKey != "" || strings.HasPrefix(bearer, g.apiKeyPrefix) {
			method = MethodAPIKey
		}
		if err := g.gate(); err != nil {
			return nil, method, err
		}
	}
	switch {
	case apiKey != "" && isBearer:
		return nil, "", invalidRequest("send either the X-API-Key header or an Authorization header, not both")
	case apiKey != "":
		p, err := g.verifyAPIKey(ctx, apiKey)
		return p, MethodAPIKey, err
	case isBearer && strings.HasPrefix(bearer, g.apiKeyPrefix):
		p, err := g.verifyAPIKey(ctx, bearer)
		return p, MethodAPIKey, err
	case isBearer:
		p, err := g.verifyAccessToken(ctx, bearer)
		if err == nil && g.learn != nil {
			if err = g.learn(ctx, p, bearer); err != nil {
				p = nil
			}
		}
		return p, MethodBearer, err
	default:
		return nil, "", newError(http.StatusUnauthorized, "", DescriptionMissing, nil)
	}
}

func (g *Guard) verifyAPIKey(ctx context.Context, key string) (*Principal, *Error) {
	if g.apiKeys == nil {
		return nil, invalidToken("API keys are not accepted", &APIKeyError{})
	}
	p, err := g.apiKeys.VerifyAPIKey(ctx, key)
	if err != nil || p == nil {
		if err == nil {
			err = errors.New("verifier returned no principal")
		}
		if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
			return nil, unavailable(&APIKeyError{Err: err})
		}
		return nil, invalidToken(DescriptionInvalidAPIKey, &APIKeyError{Err: err})
	}
	if p.Method != MethodAPIKey {
		// Copy rather than write: the verifier may hand out a shared value.
		cp := *p
		cp.Method = MethodAPIKey
		p = &cp
	}
	return p, nil
}

func (g *Guard) logFailure(ctx context.Context, method Method, e *Error) {
	if g.logger == nil || !g.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", string(method)),
		slog.Int("status", e.Status),
		slog.String("error_code", e.Code),
		slog.String("reason", e.Description),
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("cause", e.Err.Error()))
	}
	g.logger.LogAttrs(ctx, slog.LevelDebug, "guard: authentication failed", attrs...)
}

// Require returns middleware that authenticates each request and lets it
// through only when the principal has every one of scopes; with no scopes
// it only authenticates. The principal is stored in the request context
// ([PrincipalFrom]) before next is called. Failures are written with
// [WriteError]: 400, 401, or 403 insufficient_scope naming the scopes.
//
// Require panics if a scope is not a valid RFC 6749 §3.3 scope token or
// contains a comma (gatehouse grants no such scope: "read,write" is two
// scopes, Require("read", "write")), as [http.ServeMux.Handle] panics on a
// bad pattern: it is a programming error found at start-up.
func (g *Guard) Require(scopes ...string) func(http.Handler) http.Handler {
	return g.middleware(checkScopes("Require", scopes), false)
}

// RequireAny is like [Guard.Require] but lets the request through when the
// principal has at least one of scopes. It panics if scopes is empty or
// holds an invalid scope token.
func (g *Guard) RequireAny(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("guard: RequireAny needs at least one scope")
	}
	return g.middleware(checkScopes("RequireAny", scopes), true)
}

func (g *Guard) middleware(need []string, anyOf bool) func(http.Handler) http.Handler {
	scopeAttr := strings.Join(need, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, method, err := g.authenticateTimed(r)
			if err != nil {
				if g.onResult != nil {
					g.onResult(method, err)
				}
				WriteError(w, err, g.realm)
				return
			}
			if !hasScopes(p, need, anyOf) {
				e := scopeError(p, need, anyOf, scopeAttr)
				g.logFailure(r.Context(), p.Method, e)
				if g.onResult != nil {
					g.onResult(method, e)
				}
				WriteError(w, e, g.realm)
				return
			}
			if g.onResult != nil {
				g.onResult(method, nil)
			}
			if g.admit != nil && !g.admit(w, r, p) {
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

func hasScopes(p *Principal, need []string, anyOf bool) bool {
	if len(need) == 0 {
		return true
	}
	for _, s := range need {
		has := p.HasScope(s)
		if anyOf && has {
			return true
		}
		if !anyOf && !has {
			return false
		}
	}
	return !anyOf
}

func scopeError(p *Principal, need []string, anyOf bool, scopeAttr string) *Error {
	var desc string
	if anyOf {
		desc = "requires one of the scopes: " + scopeAttr
	} else {
		var missing []string
		for _, s := range need {
			if !p.HasScope(s) {
				missing = append(missing, s)
			}
		}
		if len(missing) == 1 {
			desc = "missing required scope: " + missing[0]
		} else {
			desc = "missing required scopes: " + strings.Join(missing, " ")
		}
	}
	e := newError(http.StatusForbidden, CodeInsufficientScope, desc, nil)
	e.Scope = scopeAttr
	return e
}

// checkScopes copies scopes and panics on one that is not an RFC 6749 §3.3
// scope-token (%x21 / %x23-5B / %x5D-7E, at least one character).
func checkScopes(fn string, scopes []string) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		if !validScope(s) {
			panic("guard: " + fn + ": invalid scope token " + strconv.Quote(s))
		}
		if strings.Contains(s, ",") {
			// RFC 6749 allows it, but gatehouse grants no scope with a
			// comma: this is a list that should be separate arguments.
			panic("guard: " + fn + ": scope " + strconv.Quote(s) + " contains a comma; pass each scope as its own argument")
		}
		out[i] = s
	}
	return out
}

func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
