package guard_test

import (
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
)

// FuzzAuthenticate feeds arbitrary Authorization and X-API-Key values to
// the guard: it must never panic, must fail with a 400 or 401 *guard.Error,
// and may only succeed with the principal of the one valid token or key.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f)
	g := fx.guard(f, nil)
	valid := mustSign(f, fx.ec, jose.ES256, headers("ec1"), claims())
	wantBearer, err := g.VerifyAccessToken(f.Context(), valid)
	if err != nil {
		f.Fatalf("VerifyAccessToken(valid) error = %v", err)
	}
	wantKey := *fx.apiKeys.valid[validAPIKey]

	f.Add("Bearer "+valid, "")
	f.Add("", validAPIKey)
	f.Add("Bearer "+validAPIKey, "")
	f.Add("bearer "+valid[:len(valid)-3], "")
	f.Add("Bearer "+valid, validAPIKey)
	f.Add("Basic dXNlcjpwYXNz", "gk_")
	f.Add("Bearer", " ")
	f.Add("Bearer eyJhbGciOiJub25lIn0.e30.", "")
	f.Add("Bearer a.b.c==", "\x00")
	f.Add("Bearer\t"+strings.Repeat("A", 100)+"==", "")
	f.Add("", "")

	f.Fuzz(func(t *testing.T, authz, apiKey string) {
		r, err := http.NewRequest(http.MethodGet, "http://api.example.com/resource", nil)
		if err != nil {
			t.Fatalf("NewRequest() error = %v", err)
		}
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if apiKey != "" {
			r.Header["X-Api-Key"] = []string{apiKey}
		}
		p, err := g.Authenticate(r)
		if err != nil {
			if p != nil {
				t.Fatalf("Authenticate() = %+v with error %v", p, err)
			}
			ge, ok := err.(*guard.Error)
			if !ok {
				t.Fatalf("Authenticate() error type %T, want *guard.Error", err)
			}
			if ge.Status != http.StatusBadRequest && ge.Status != http.StatusUnauthorized {
				t.Fatalf("Authenticate() status %d, want 400 or 401", ge.Status)
			}
			return
		}
		if !cmp.Equal(p, wantBearer) && !cmp.Equal(*p, wantKey) {
			t.Fatalf("Authenticate(%q, %q) = %+v: a principal for garbage", authz, apiKey, p)
		}
	})
}

// FuzzVerifyAccessToken feeds arbitrary tokens to VerifyAccessToken: it
// must never panic, and may only return the principal of a token the real
// key signed (base64 variants of it decode to the same signed bytes).
func FuzzVerifyAccessToken(f *testing.F) {
	fx := newFixture(f)
	g := fx.guard(f, nil)
	valid := map[string]string{
		"ec1":   mustSign(f, fx.ec, jose.ES256, headers("ec1"), claims()),
		"ed1":   mustSign(f, fx.ed, jose.EdDSA, headers("ed1"), claims()),
		"hmac1": mustSign(f, fx.hmac, jose.HS256, headers("hmac1"), claims()),
	}
	want := map[string]*guard.Principal{}
	for kid, tok := range valid {
		p, err := g.VerifyAccessToken(f.Context(), tok)
		if err != nil {
			f.Fatalf("VerifyAccessToken(%s) error = %v", kid, err)
		}
		want[kid] = p
		f.Add(tok)
		f.Add(tamperSignature(tok))
		f.Add(tok[:len(tok)/2])
	}
	f.Add(unsignedToken(f, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "ec1"}, claims(), nil))
	f.Add(mustSign(f, publicDER(f, &fx.ec.PublicKey), jose.HS256, headers("ec1"), claims()))
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add("..")
	f.Add("")

	f.Fuzz(func(t *testing.T, token string) {
		p, err := g.VerifyAccessToken(t.Context(), token)
		if err != nil {
			if p != nil {
				t.Fatalf("VerifyAccessToken() = %+v with error %v", p, err)
			}
			if _, ok := err.(*guard.Error); !ok {
				t.Fatalf("VerifyAccessToken() error type %T, want *guard.Error", err)
			}
			return
		}
		if w, ok := want[p.SigningKeyID]; !ok || !cmp.Equal(p, w) {
			t.Fatalf("VerifyAccessToken(%q) = %+v: a principal for garbage", token, p)
		}
	})
}
