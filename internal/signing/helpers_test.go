package signing

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSecret() []byte { return bytes.Repeat([]byte{0x42}, 32) }

func testHMACSecret() []byte { return []byte("0123456789abcdef0123456789abcdef-hs256") }

// clock is an injectable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustKeys builds a key set, filling a fresh store, the test secret and a
// logger into cfg where they are unset.
func mustKeys(t testing.TB, cfg Config) *Keys {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = newStore(t)
	}
	if cfg.Secret == nil {
		cfg.Secret = testSecret()
	}
	if cfg.Algorithm == HS256 && cfg.HMACSecret == nil {
		cfg.HMACSecret = testHMACSecret()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	k, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return k
}

func mustEnsure(t testing.TB, k *Keys) {
	t.Helper()
	if _, err := k.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure() error = %v", err)
	}
}

func mustRotate(t testing.TB, k *Keys) store.SigningKey {
	t.Helper()
	nk, err := k.Rotate(context.Background())
	if err != nil {
		t.Fatalf("Rotate() error = %v", err)
	}
	return nk
}

func mustList(t testing.TB, k *Keys) []KeyInfo {
	t.Helper()
	l, err := k.List(context.Background())
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	return l
}

func accessClaims(now time.Time) AccessClaims {
	return AccessClaims{
		Issuer: "https://auth.example", Subject: "user-1", Audience: []string{"https://api.example"},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(15 * time.Minute),
		ID: "jti-1", ClientID: "client-1", Scope: "read write",
	}
}

func mustIssue(t testing.TB, k *Keys, now time.Time) string {
	t.Helper()
	tok, err := k.IssueAccessToken(accessClaims(now))
	if err != nil {
		t.Fatalf("IssueAccessToken() error = %v", err)
	}
	return tok
}

// header returns the protected header of a compact JWS, parsed with the
// one algorithm allowed.
func header(t testing.TB, tok string, alg jose.SignatureAlgorithm) jose.Header {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("ParseSigned(%s) error = %v", alg, err)
	}
	return parsed.Headers[0]
}

// jwksKey finds kid in the JWKS, or fails.
func jwksKey(t testing.TB, set jose.JSONWebKeySet, kid string) jose.JSONWebKey {
	t.Helper()
	found := set.Key(kid)
	if len(found) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q, want 1", len(found), kid)
	}
	return found[0]
}

// verifyJWKS verifies tok with the public key the JWKS publishes for its
// kid, the way a remote verifier does, and returns its claims.
func verifyJWKS(t testing.TB, k *Keys, tok string, alg jose.SignatureAlgorithm) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("ParseSigned(%s) error = %v", alg, err)
	}
	jwk := jwksKey(t, k.JWKS(), parsed.Headers[0].KeyID)
	if !jwk.IsPublic() || jwk.Algorithm != string(alg) || jwk.Use != "sig" {
		t.Fatalf("JWKS key %s: public %v, alg %q, use %q; want public, %s, sig", jwk.KeyID, jwk.IsPublic(), jwk.Algorithm, jwk.Use, alg)
	}
	var claims map[string]any
	if err := parsed.Claims(jwk.Key, &claims); err != nil {
		t.Fatalf("Claims() with the JWKS key error = %v", err)
	}
	return claims
}

// verifyKeySet verifies tok through VerificationKey, as the guard does.
func verifyKeySet(t testing.TB, k *Keys, tok string) (map[string]any, error) {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.HS256})
	if err != nil {
		t.Fatalf("ParseSigned() error = %v", err)
	}
	key, alg, err := k.VerificationKey(context.Background(), parsed.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	if got := parsed.Headers[0].Algorithm; got != string(alg) {
		t.Fatalf("token alg %s, pinned alg %s", got, alg)
	}
	var claims map[string]any
	if err := parsed.Claims(key, &claims); err != nil {
		t.Fatalf("Claims() with VerificationKey error = %v", err)
	}
	return claims, nil
}

func jwksKIDs(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func statusOf(l []KeyInfo, kid string) string {
	for _, ki := range l {
		if ki.ID == kid {
			return ki.Status
		}
	}
	return "missing"
}
