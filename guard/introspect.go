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

// ErrInactive is the cause of an API key that the issuer's introspection
// endpoint reported inactive (unknown, revoked, expired, owner disabled).
var ErrInactive = errors.New("guard: credential is not active")

// Introspector is an [APIKeyVerifier] that asks the issuer's RFC 7662
// introspection endpoint, authenticating as a confidential client with
// HTTP Basic. Only an answer that says the value is an API key (active,
// token_type "api_key", with its key_id) makes it one: an access or
// refresh token the issuer calls active is refused. A value that starts
// with the API-key prefix but is not a well-formed gatehouse credential
// (length, characters, checksum) is refused without a request
// ([ErrMalformedAPIKey]); values without the prefix (keys imported from
// another system) are asked about. Answers are cached by the SHA-256 of
// issuer and key: an active key for PositiveTTL (never past its expiry),
// anything else for NegativeTTL. A key in the [DenyList] (when set) is
// refused even while cached. It is safe for concurrent use.
type Introspector struct {
	issuer, endpoint    string
	prefix              string // API-key prefix, e.g. "gk_"
	clientID, secret    string
	client              *http.Client
	positiveTTL, negTTL time.Duration
	now                 func() time.Time
	deny                RevocationChecker
	maxEntries          int

	mu    sync.Mutex
	cache map[[sha256.Size]byte]introEntry
}

type introEntry struct {
	p     *Principal // nil: inactive
	until time.Time
}

var _ APIKeyVerifier = (*Introspector)(nil)

// maxIntrospectionEntries bounds the introspection cache.
const maxIntrospectionEntries = 10_000

// VerifyAPIKey implements [APIKeyVerifier].
func (in *Introspector) VerifyAPIKey(ctx context.Context, key string) (*Principal, error) {
	if strings.HasPrefix(key, in.prefix) && !wellFormedKey(in.prefix, key) {
		return nil, ErrMalformedAPIKey
	}
	sum := sha256.Sum256([]byte(in.issuer + "\x00" + key))
	now := in.now()
	in.mu.Lock()
	e, ok := in.cache[sum]
	in.mu.Unlock()
	if !ok || !now.Before(e.until) {
		var err error
		if e, err = in.ask(ctx, key, now); err != nil {
			return nil, err
		}
		in.mu.Lock()
		if len(in.cache) >= in.maxEntries {
			for k := range in.cache { // drop an arbitrary entry
				delete(in.cache, k)
				break
			}
		}
		in.cache[sum] = e
		in.mu.Unlock()
	}
	if e.p == nil {
		return nil, ErrInactive
	}
	if in.deny != nil && in.deny.Revoked(e.p) {
		return nil, ErrInactive
	}
	return clonePrincipal(e.p), nil
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

// tokenTypeAPIKey is the token_type gatehouse's introspection endpoint
// gives API keys (access tokens are "Bearer", refresh tokens
// "refresh_token").
const tokenTypeAPIKey = "api_key"

func (in *Introspector) ask(ctx context.Context, key string, now time.Time) (introEntry, error) {
	r, err := in.post(ctx, key)
	if err != nil {
		return introEntry{}, err
	}
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

// Forget drops cached answers for the API key keyID and for every key of
// subject (either may be ""), so the next use asks again. The remote guard
// calls it when the feed reports a revoked or rotated key or a user
// revocation (a disabled user's keys must stop).
func (in *Introspector) Forget(keyID, subject string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, e := range in.cache {
		if e.p != nil && ((keyID != "" && e.p.KeyID == keyID) || (subject != "" && e.p.Subject == subject)) {
			delete(in.cache, k)
		}
	}
}
