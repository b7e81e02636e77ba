package guard

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrInactive is the cause of a credential that the issuer's introspection
// endpoint reported inactive (unknown, revoked, expired, owner disabled),
// or whose answer did not describe it (another kind of credential, another
// token id or subject).
var ErrInactive = errors.New("guard: credential is not active")

// Introspector asks the issuer's RFC 7662 introspection endpoint,
// authenticating as a confidential client with HTTP Basic. It is the
// remote guard's [APIKeyVerifier], and it learns the username of a user's
// access token. It is safe for concurrent use.
//
// Only an answer that says the value is an API key (active, token_type
// "api_key", with its key_id) makes it one: an access or refresh token the
// issuer calls active is refused. A value that starts with the API-key
// prefix but is not a well-formed gatehouse credential (length,
// characters, checksum) is refused without a request
// ([ErrMalformedAPIKey]); values without the prefix (keys imported from
// another system) are asked about. An access token's answer must be
// token_type "Bearer" with the token's own jti and subject.
//
// Answers are cached, at most IntrospectionCacheSize of them: an API key's
// by the SHA-256 of issuer and key, for PositiveTTL (never past its
// expiry); an access token's by issuer and jti, until the token expires
// (a username does not change); an inactive answer for NegativeTTL. One
// request per key or token is in flight at a time; the others wait for its
// answer. A key in the [DenyList] (when set) is refused even while cached.
// An endpoint that cannot be asked gives an [*UnavailableError].
type Introspector struct {
	issuer, endpoint    string
	prefix              string // API-key prefix, e.g. "gk_"
	clientID, secret    string
	client              *http.Client
	positiveTTL, negTTL time.Duration
	now                 func() time.Time
	deny                RevocationChecker
	maxEntries          int

	mu       sync.RWMutex
	cache    map[string]introEntry // by cache key: see apiKeyCacheKey, jtiCacheKey
	inflight map[string]*introCall
	gen      uint64 // bumped by Forget: an answer asked for before is not cached
}

type introEntry struct {
	p     *Principal // nil: inactive
	until time.Time
}

// introCall is one request to the endpoint that callers wait for.
type introCall struct {
	done chan struct{}
	e    introEntry
	err  error
}

var _ APIKeyVerifier = (*Introspector)(nil)

// DefaultIntrospectionCacheSize is the number of introspection answers a
// remote guard keeps when [RemoteConfig.IntrospectionCacheSize] is zero.
const DefaultIntrospectionCacheSize = 10_000

// introspectTimeout bounds one request that several callers may wait for:
// it does not end with the caller that started it.
const introspectTimeout = 15 * time.Second

// A cache key is a kind byte and then, for an API key, the SHA-256 of
// issuer and key (a key is a secret) or, for an access token, its jti.
// Both are built in the caller's buffer, so that a cache hit allocates
// nothing.
const (
	keyAPIKey byte = 'k'
	keyJTI    byte = 'j'
)

func (in *Introspector) apiKeyCacheKey(buf []byte, key string) []byte {
	var hb [256]byte
	sum := sha256.Sum256(append(append(append(hb[:0], in.issuer...), 0), key...))
	return append(append(buf[:0], keyAPIKey), sum[:]...)
}

func jtiCacheKey(buf []byte, jti string) []byte {
	return append(append(buf[:0], keyJTI), jti...)
}

// VerifyAPIKey implements [APIKeyVerifier].
func (in *Introspector) VerifyAPIKey(ctx context.Context, key string) (*Principal, error) {
	if strings.HasPrefix(key, in.prefix) && !wellFormedKey(in.prefix, key) {
		return nil, ErrMalformedAPIKey
	}
	var buf [64]byte
	k := in.apiKeyCacheKey(buf[:], key)
	e, ok := in.cached(k)
	if !ok {
		var err error
		if e, err = in.fetch(ctx, k, func(ctx context.Context) (introEntry, error) { return in.askAPIKey(ctx, key) }); err != nil {
			return nil, err
		}
	}
	if e.p == nil {
		return nil, ErrInactive
	}
	if in.deny != nil && in.deny.Revoked(e.p) {
		return nil, ErrInactive
	}
	return clonePrincipal(e.p), nil
}

// username returns the username of p, the verified principal of the
// access token token: "" when the issuer names none, [ErrInactive] when it
// calls the token inactive.
func (in *Introspector) username(ctx context.Context, p *Principal, token string) (string, error) {
	var buf [128]byte
	k := jtiCacheKey(buf[:], p.TokenID)
	e, ok := in.cached(k)
	if !ok {
		var err error
		if e, err = in.fetch(ctx, k, func(ctx context.Context) (introEntry, error) { return in.askToken(ctx, p, token) }); err != nil {
			return "", err
		}
	}
	if e.p == nil || e.p.Subject != p.Subject {
		return "", ErrInactive
	}
	return e.p.Username, nil
}

// cached returns the live cache entry for k.
func (in *Introspector) cached(k []byte) (introEntry, bool) {
	in.mu.RLock()
	e, ok := in.cache[string(k)]
	in.mu.RUnlock()
	return e, ok && in.now().Before(e.until)
}

// fetch asks (through ask) about k, unless a request for k is in flight
// already: then it waits for that one's answer. The answer is cached.
func (in *Introspector) fetch(ctx context.Context, k []byte, ask func(context.Context) (introEntry, error)) (introEntry, error) {
	in.mu.Lock()
	c := in.inflight[string(k)]
	if c == nil {
		c = &introCall{done: make(chan struct{})}
		if in.inflight == nil {
			in.inflight = make(map[string]*introCall)
		}
		key, gen := string(k), in.gen
		in.inflight[key] = c
		go func() {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), introspectTimeout)
			c.e, c.err = ask(actx)
			cancel()
			in.mu.Lock()
			delete(in.inflight, key)
			if c.err == nil && in.gen == gen {
				in.store(key, c.e)
			}
			in.mu.Unlock()
			close(c.done)
		}()
	}
	in.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return introEntry{}, &UnavailableError{Err: c.err}
		}
		return c.e, nil
	case <-ctx.Done():
		return introEntry{}, &UnavailableError{Err: ctx.Err()}
	}
}

// store caches e under k, first dropping an entry when the cache is full:
// an expired one among the few it looks at, else an arbitrary one. The
// caller holds in.mu.
func (in *Introspector) store(k string, e introEntry) {
	if len(in.cache) >= in.maxEntries {
		now, seen := in.now(), 0
		var victim string
		for key, old := range in.cache {
			if !now.Before(old.until) {
				victim = key
				break
			}
			if seen == 0 {
				victim = key
			}
			if seen++; seen >= 8 {
				break
			}
		}
		delete(in.cache, victim)
	}
	in.cache[k] = e
}

// Len returns the number of answers cached.
func (in *Introspector) Len() int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return len(in.cache)
}

// introspection is the part of an RFC 7662 §2.2 response the guard reads.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	Sub       string `json:"sub"`
	Iss       string `json:"iss"`
	Jti       string `json:"jti"`
	KeyID     string `json:"key_id"`
}

// Token types of gatehouse's introspection answers.
const (
	tokenTypeAPIKey = "api_key" // API keys (refresh tokens are "refresh_token")
	tokenTypeAccess = "Bearer"  // access tokens (RFC 6749 §7.1 types are case-insensitive)
)

// askAPIKey asks about an API key.
func (in *Introspector) askAPIKey(ctx context.Context, key string) (introEntry, error) {
	r, err := in.post(ctx, key)
	if err != nil {
		return introEntry{}, err
	}
	now := in.now()
	// Only what the issuer says is an API key is one: an access token or
	// a refresh token is active too, but the deny list's checks for it
	// and its own lifetime would not apply.
	if !r.Active || r.TokenType != tokenTypeAPIKey || r.Sub == "" || r.KeyID == "" ||
		(r.Iss != "" && r.Iss != in.issuer) {
		return introEntry{until: now.Add(in.negTTL)}, nil
	}
	p := &Principal{Subject: r.Sub, Username: r.Username, Method: MethodAPIKey, KeyID: r.KeyID}
	if r.Scope != "" {
		p.Scopes = strings.Fields(r.Scope)
	}
	if r.Iat > 0 {
		p.IssuedAt = time.Unix(r.Iat, 0).UTC()
	}
	until := now.Add(in.positiveTTL)
	if r.Exp > 0 {
		p.ExpiresAt = time.Unix(r.Exp, 0).UTC()
		if p.ExpiresAt.Before(until) {
			until = p.ExpiresAt
		}
	}
	return introEntry{p: p, until: until}, nil
}

// askToken asks about the access token token, whose verified principal is
// p; an active answer is kept until the token expires.
func (in *Introspector) askToken(ctx context.Context, p *Principal, token string) (introEntry, error) {
	r, err := in.post(ctx, token)
	if err != nil {
		return introEntry{}, err
	}
	if !r.Active || !strings.EqualFold(r.TokenType, tokenTypeAccess) || r.Sub != p.Subject || r.Jti != p.TokenID ||
		(r.Iss != "" && r.Iss != in.issuer) {
		return introEntry{until: in.now().Add(in.negTTL)}, nil
	}
	// Kept a minute past the expiry, so that the guard's leeway does not
	// ask about a token the issuer may already call expired; an expired
	// token is refused before its entry is looked at.
	return introEntry{p: &Principal{Subject: r.Sub, Username: r.Username, TokenID: r.Jti}, until: p.ExpiresAt.Add(time.Minute)}, nil
}

// post asks the introspection endpoint about token (RFC 7662 §2.1).
func (in *Introspector) post(ctx context.Context, token string) (introspection, error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return introspection{}, fmt.Errorf("introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.secret))
	resp, err := in.client.Do(req)
	if err != nil {
		return introspection{}, fmt.Errorf("introspect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return introspection{}, fmt.Errorf("introspect: %w",
			&StatusError{Method: http.MethodPost, URL: in.endpoint, ClientID: in.clientID, Status: resp.StatusCode})
	}
	var r introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil {
		return introspection{}, fmt.Errorf("introspect %s: %w", in.endpoint, badAnswer(err))
	}
	return r, nil
}

// probe asks about a value that is no credential, so that NewRemote finds
// a refused client or a wrong endpoint before the first request does.
func (in *Introspector) probe(ctx context.Context) error {
	_, err := in.post(ctx, "gatehouse-guard-start-probe")
	return err
}

// Forget drops cached answers for the API key keyID and for every
// credential of subject (either may be ""), so the next use asks again.
// The remote guard calls it when the feed reports a revoked or rotated key
// or a user revocation (a disabled user's keys must stop).
func (in *Introspector) Forget(keyID, subject string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.gen++
	for k, e := range in.cache {
		if e.p != nil && ((keyID != "" && e.p.KeyID == keyID) || (subject != "" && e.p.Subject == subject)) {
			delete(in.cache, k)
		}
	}
}
