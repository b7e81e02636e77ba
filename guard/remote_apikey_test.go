package guard_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// TestRemoteAPIKeysOnly: a remote guard takes as an API key only what the
// issuer's introspection says is one (token_type api_key, with its key id);
// a value with the key prefix that is not well formed is refused without a
// call to the server; a key without the prefix (a legacy key) is asked
// about, behind the negative cache.
func TestRemoteAPIKeysOnly(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	answer := func(tokenType string) map[string]any {
		return map[string]any{"active": true, "sub": "user-7", "username": "eve", "scope": "read",
			"jti": "id-7", "key_id": "key-7", "iss": f.srv.URL, "token_type": tokenType}
	}
	good := mustWellFormedKey(t, "gk_")
	f.active[good] = answer("api_key")
	legacy := "legacy-plain-key-0123456789"
	f.active[legacy] = answer("api_key")
	refresh := "grt_" + good[len("gk_"):]
	f.active[refresh] = answer("refresh_token")
	access := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTcifQ.c2ln"
	f.active[access] = answer("Bearer")
	untyped := mustWellFormedKey(t, "gk_")
	f.active[untyped] = answer("")
	noKeyID := mustWellFormedKey(t, "gk_")
	f.active[noKeyID] = answer("api_key")
	delete(f.active[noKeyID], "key_id")
	c := newClock(testNow)
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) {
		cfg.IntrospectionTTL, cfg.NegativeTTL = 10*time.Second, 2*time.Second
	})

	tests := []struct {
		name      string
		req       *http.Request
		wantOK    bool
		wantCalls int // introspection calls the first request costs
	}{
		{"API key", apiKeyRequest(good), true, 1},
		{"legacy key without the prefix", apiKeyRequest(legacy), true, 1},
		{"unknown legacy key", apiKeyRequest("legacy-unknown"), false, 1},
		{"refresh token the issuer calls active", apiKeyRequest(refresh), false, 1},
		{"access token the issuer calls active", apiKeyRequest(access), false, 1},
		{"answer without token_type", apiKeyRequest(untyped), false, 1},
		{"api_key answer without key_id", apiKeyRequest(noKeyID), false, 1},
		{"prefixed key with a wrong checksum", apiKeyRequest(mistypeKey(good)), false, 0},
		{"prefixed key with a wrong checksum as bearer", bearerRequest(mistypeKey(noKeyID)), false, 0},
		{"prefixed key one character short", apiKeyRequest(good[:len(good)-1]), false, 0},
		{"just the prefix", apiKeyRequest("gk_"), false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 { // the second request is answered from the cache
				_, before := f.counts()
				p, err := g.Authenticate(tc.req)
				_, after := f.counts()
				want := tc.wantCalls
				if i > 0 {
					want = 0
				}
				if after-before != want {
					t.Errorf("request %d: %d introspection calls, want %d", i, after-before, want)
				}
				if tc.wantOK {
					if err != nil || p.Method != guard.MethodAPIKey || p.KeyID != "key-7" {
						t.Fatalf("request %d: Authenticate() = %+v, %v; want the API key's principal", i, p, err)
					}
					continue
				}
				var ge *guard.Error
				if err == nil || !errors.As(err, &ge) || ge.Status != http.StatusUnauthorized ||
					ge.Description != guard.DescriptionInvalidAPIKey {
					t.Fatalf("request %d: Authenticate() = %+v, %v; want 401 %q", i, p, err, guard.DescriptionInvalidAPIKey)
				}
			}
		})
	}
	// A negative answer is cached for NegativeTTL only.
	c.Advance(3 * time.Second)
	_, before := f.counts()
	_, _ = g.Authenticate(apiKeyRequest("legacy-unknown"))
	if _, after := f.counts(); after != before+1 {
		t.Errorf("after NegativeTTL: %d introspection calls, want 1", after-before)
	}
}
