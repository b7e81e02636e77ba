package guard_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/guard"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "https://api.example.com"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// keySet is a tiny in-memory guard.KeySet: kid → key and pinned algorithm.
type keySet map[string]pinnedKey

type pinnedKey struct {
	key any
	alg jose.SignatureAlgorithm
}

func (ks keySet) VerificationKey(_ context.Context, kid string) (any, jose.SignatureAlgorithm, error) {
	k, ok := ks[kid]
	if !ok {
		return nil, "", errors.New("unknown kid")
	}
	return k.key, k.alg, nil
}

// apiKeys is a fake guard.APIKeyVerifier that records the keys it is asked
// about.
type apiKeys struct {
	valid map[string]*guard.Principal
	mu    sync.Mutex
	seen  []string
}

func (v *apiKeys) VerifyAPIKey(_ context.Context, key string) (*guard.Principal, error) {
	v.mu.Lock()
	v.seen = append(v.seen, key)
	v.mu.Unlock()
	if p, ok := v.valid[key]; ok {
		return p, nil
	}
	return nil, errors.New("unknown key")
}

func (v *apiKeys) calls() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.seen...)
}

// revoked is a fake guard.RevocationChecker that revokes the listed jtis.
type revoked map[string]bool

func (r revoked) Revoked(p *guard.Principal) bool { return r[p.TokenID] }

const (
	validAPIKey   = "gk_live_valid0123456789abcdefghij"
	invalidAPIKey = "gk_live_wrong0123456789abcdefghij"
)

// fixture holds the keys of one test: the server's keys under their kids,
// and an attacker's key that the key set does not know.
type fixture struct {
	ec       *ecdsa.PrivateKey
	rsa      *rsa.PrivateKey
	ed       ed25519.PrivateKey
	hmac     []byte
	attacker *ecdsa.PrivateKey
	keys     keySet
	apiKeys  *apiKeys
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		ec:       mustECKey(t),
		rsa:      mustRSAKey(t),
		attacker: mustECKey(t),
		hmac:     []byte("0123456789abcdef0123456789abcdef"),
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("ed25519.GenerateKey() error = %v", err)
	}
	f.ed = edKey
	f.keys = keySet{
		"ec1":   {key: &f.ec.PublicKey, alg: jose.ES256},
		"rsa1":  {key: &f.rsa.PublicKey, alg: jose.RS256},
		"ed1":   {key: f.ed.Public(), alg: jose.EdDSA},
		"hmac1": {key: f.hmac, alg: jose.HS256},
	}
	f.apiKeys = &apiKeys{valid: map[string]*guard.Principal{
		validAPIKey: {
			Subject:  "user-2",
			Username: "bob",
			Scopes:   []string{"read", "keys"},
			Method:   guard.MethodAPIKey,
			KeyID:    "key-1",
			IssuedAt: testNow.Add(-time.Hour),
		},
	}}
	return f
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey() error = %v", err)
	}
	return k
}

func mustRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa.GenerateKey() error = %v", err)
	}
	return k
}

// config returns a guard config over the fixture's keys.
func (f *fixture) config() guard.Config {
	return guard.Config{
		Issuer:   testIssuer,
		Audience: testAudience,
		Keys:     f.keys,
		APIKeys:  f.apiKeys,
		Now:      func() time.Time { return testNow },
	}
}

func (f *fixture) guard(t testing.TB, edit func(*guard.Config)) *guard.Guard {
	t.Helper()
	cfg := f.config()
	if edit != nil {
		edit(&cfg)
	}
	return mustGuard(t, cfg)
}

func mustGuard(t testing.TB, cfg guard.Config) *guard.Guard {
	t.Helper()
	g, err := guard.New(cfg)
	if err != nil {
		t.Fatalf("guard.New() error = %v", err)
	}
	return g
}

// claims returns valid access-token claims at testNow.
func claims() map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "user-1",
		"aud":       testAudience,
		"exp":       testNow.Add(15 * time.Minute).Unix(),
		"iat":       testNow.Unix(),
		"jti":       "tok-1",
		"client_id": "client-1",
		"scope":     "read write",
	}
}

// claimsWith returns claims() changed by edit.
func claimsWith(edit func(c map[string]any)) map[string]any {
	c := claims()
	edit(c)
	return c
}

// headers returns the protected headers of a normal access token for kid.
func headers(kid string) map[jose.HeaderKey]any {
	return map[jose.HeaderKey]any{"kid": kid, jose.HeaderType: "at+jwt"}
}

func headersWith(kid string, edit func(h map[jose.HeaderKey]any)) map[jose.HeaderKey]any {
	h := headers(kid)
	edit(h)
	return h
}

// mustSign signs claims with key and alg, with exactly the given protected
// headers (besides alg). A nil header value removes that header.
func mustSign(t testing.TB, key any, alg jose.SignatureAlgorithm, hdr map[jose.HeaderKey]any, c any) string {
	t.Helper()
	return mustSignOpts(t, key, alg, &jose.SignerOptions{ExtraHeaders: dropNil(hdr)}, c)
}

func mustSignOpts(t testing.TB, key any, alg jose.SignatureAlgorithm, opts *jose.SignerOptions, c any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("jose.NewSigner(%s) error = %v", alg, err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatalf("Serialize() error = %v", err)
	}
	return tok
}

func dropNil(h map[jose.HeaderKey]any) map[jose.HeaderKey]any {
	out := make(map[jose.HeaderKey]any, len(h))
	for k, v := range h {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// unsignedToken builds a compact JWS by hand with the given header and
// claims and signature bytes, for attacks go-jose refuses to produce.
func unsignedToken(t testing.TB, hdr map[string]any, c any, sig []byte) string {
	t.Helper()
	return b64JSON(t, hdr) + "." + b64JSON(t, c) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// publicDER returns the PKIX DER bytes of a public key: what an attacker
// would use as an HMAC secret in an algorithm-confusion attack.
func publicDER(t testing.TB, pub any) []byte {
	t.Helper()
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("x509.MarshalPKIXPublicKey() error = %v", err)
	}
	return b
}

// replacePart replaces part i (0 header, 1 payload, 2 signature) of a
// compact token.
func replacePart(tok string, i int, part string) string {
	parts := strings.Split(tok, ".")
	parts[i] = part
	return strings.Join(parts, ".")
}

// errorBody is the JSON body of a guard error.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// result is what a request through the guard produced.
type result struct {
	status    int
	challenge string
	cache     string
	body      errorBody
	principal *guard.Principal // set when the handler ran
}

// serve sends r through g.Require(scopes...) to a handler that records the
// principal.
func serve(t testing.TB, h func(http.Handler) http.Handler, r *http.Request) result {
	t.Helper()
	var res result
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := guard.PrincipalFrom(r.Context())
		if !ok {
			t.Errorf("handler ran without a principal in the context")
		}
		res.principal = p
		w.WriteHeader(http.StatusOK)
	})
	w := httptest.NewRecorder()
	h(next).ServeHTTP(w, r)
	res.status = w.Code
	res.challenge = w.Header().Get("WWW-Authenticate")
	res.cache = w.Header().Get("Cache-Control")
	if w.Code != http.StatusOK {
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		dec := json.NewDecoder(w.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res.body); err != nil {
			t.Errorf("decode error body %q: %v", w.Body.String(), err)
		}
	}
	return res
}

func newRequest(target string) *http.Request {
	return httptest.NewRequest(http.MethodGet, target, nil)
}

func bearerRequest(tok string) *http.Request {
	r := newRequest("/resource")
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func apiKeyRequest(key string) *http.Request {
	r := newRequest("/resource")
	r.Header.Set("X-API-Key", key)
	return r
}

// Expected challenges and bodies.
const (
	challengeMissing      = `Bearer realm="gatehouse"`
	challengeInvalidToken = `Bearer realm="gatehouse", error="invalid_token"`
	challengeInvalidReq   = `Bearer realm="gatehouse", error="invalid_request"`
)

func invalidToken(desc string) errorBody { return errorBody{Error: "invalid_token", Description: desc} }
func invalidReq(desc string) errorBody   { return errorBody{Error: "invalid_request", Description: desc} }
