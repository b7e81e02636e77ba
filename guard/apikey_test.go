package guard_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
)

func TestAPIKeys(t *testing.T) {
	f := newFixture(t)
	wantValid := *f.apiKeys.valid[validAPIKey]

	tests := []struct {
		name          string
		edit          func(*guard.Config)
		req           func() *http.Request
		mw            func(g *guard.Guard) func(http.Handler) http.Handler
		wantStatus    int
		wantChallenge string
		wantBody      errorBody
		wantPrincipal *guard.Principal
		wantVerified  []string // keys the verifier was asked about
	}{
		{
			name:          "valid X-API-Key",
			req:           func() *http.Request { return apiKeyRequest(validAPIKey) },
			wantStatus:    200,
			wantPrincipal: &wantValid,
			wantVerified:  []string{validAPIKey},
		},
		{
			name:          "valid X-API-Key with surrounding blanks",
			req:           func() *http.Request { return apiKeyRequest(" " + validAPIKey + "\t") },
			wantStatus:    200,
			wantPrincipal: &wantValid,
			wantVerified:  []string{validAPIKey},
		},
		{
			name:          "valid key as bearer is routed to the API-key verifier",
			req:           func() *http.Request { return bearerRequest(validAPIKey) },
			wantStatus:    200,
			wantPrincipal: &wantValid,
			wantVerified:  []string{validAPIKey},
		},
		{
			name: "X-API-Key beside a Basic Authorization header",
			req: func() *http.Request {
				r := apiKeyRequest(validAPIKey)
				r.SetBasicAuth("proxy", "secret")
				return r
			},
			wantStatus:    200,
			wantPrincipal: &wantValid,
			wantVerified:  []string{validAPIKey},
		},
		{
			name:          "invalid X-API-Key",
			req:           func() *http.Request { return apiKeyRequest(invalidAPIKey) },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("Invalid or inactive API Key"),
			wantVerified:  []string{invalidAPIKey},
		},
		{
			name:          "invalid key as bearer",
			req:           func() *http.Request { return bearerRequest(invalidAPIKey) },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("Invalid or inactive API Key"),
			wantVerified:  []string{invalidAPIKey},
		},
		{
			name:          "key that is not gk_ goes to X-API-Key verifier anyway",
			req:           func() *http.Request { return apiKeyRequest("random") },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("Invalid or inactive API Key"),
			wantVerified:  []string{"random"},
		},
		{
			name:          "empty X-API-Key is no credential",
			req:           func() *http.Request { return apiKeyRequest("  ") },
			wantStatus:    401,
			wantChallenge: challengeMissing,
			wantBody:      errorBody{Error: "unauthorized", Description: "Missing API Key"},
		},
		{
			name:          "insufficient scope",
			req:           func() *http.Request { return apiKeyRequest(validAPIKey) },
			mw:            func(g *guard.Guard) func(http.Handler) http.Handler { return g.Require("admin") },
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="admin"`,
			wantBody:      errorBody{Error: "insufficient_scope", Description: "missing required scope: admin"},
			wantVerified:  []string{validAPIKey},
		},
		{
			name:          "API keys not accepted",
			edit:          func(c *guard.Config) { c.APIKeys = nil },
			req:           func() *http.Request { return apiKeyRequest(validAPIKey) },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("API keys are not accepted"),
		},
		{
			name:          "bearer tokens not accepted",
			edit:          func(c *guard.Config) { c.Keys = nil },
			req:           func() *http.Request { return bearerRequest("eyJhbGciOiJFUzI1NiJ9.e30.AAAA") },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("bearer tokens are not accepted"),
		},
		{
			name:          "custom prefix routes its keys",
			edit:          func(c *guard.Config) { c.APIKeyPrefix = "acme_" },
			req:           func() *http.Request { return bearerRequest("acme_abc") },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("Invalid or inactive API Key"),
			wantVerified:  []string{"acme_abc"},
		},
		{
			name:          "custom prefix: gk_ bearer is a JWT",
			edit:          func(c *guard.Config) { c.APIKeyPrefix = "acme_" },
			req:           func() *http.Request { return bearerRequest(validAPIKey) },
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is malformed"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.apiKeys.seen = nil
			g := f.guard(t, tc.edit)
			mw := g.Require("read")
			if tc.mw != nil {
				mw = tc.mw(g)
			}
			got := serve(t, mw, tc.req())
			if got.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %+v)", got.status, tc.wantStatus, got.body)
			}
			if diff := cmp.Diff(tc.wantVerified, f.apiKeys.calls()); diff != "" {
				t.Errorf("keys verified mismatch (-want +got):\n%s", diff)
			}
			if tc.wantStatus == 200 {
				if diff := cmp.Diff(tc.wantPrincipal, got.principal); diff != "" {
					t.Errorf("principal mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if got.challenge != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got.challenge, tc.wantChallenge)
			}
			if got.cache != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got.cache)
			}
			if diff := cmp.Diff(tc.wantBody, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAPIKeyMethodForced checks that a verifier principal without Method
// comes out as MethodAPIKey, and that the verifier's value is not written.
func TestAPIKeyMethodForced(t *testing.T) {
	shared := &guard.Principal{Subject: "u", Scopes: []string{"read"}, KeyID: "k", IssuedAt: testNow.Add(-time.Minute)}
	v := &apiKeys{valid: map[string]*guard.Principal{"gk_x": shared}}
	g := mustGuard(t, guard.Config{APIKeys: v})

	p, err := g.Authenticate(apiKeyRequest("gk_x"))
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	if p.Method != guard.MethodAPIKey {
		t.Errorf("Method = %q, want %q", p.Method, guard.MethodAPIKey)
	}
	if shared.Method != "" {
		t.Errorf("verifier's principal was modified: Method = %q", shared.Method)
	}
	if !slices.Equal(p.Scopes, []string{"read"}) || p.Subject != "u" {
		t.Errorf("Authenticate() = %+v, want the verifier's principal", p)
	}
}
