package guard_test

import (
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// benchmarkRemote measures one request through a remote guard's
// Require("read") that reaches the handler, once every cache is warm (the
// JWKS, the verified-token cache, the introspection cache).
func benchmarkRemote(b *testing.B, request func(f *fakeIssuer, key any) *http.Request) {
	f := newFakeIssuer(b)
	key := mustECKey(b)
	f.publish("k1", &key.PublicKey)
	g := mustRemote(b, f, newClock(testNow), nil)
	benchServe(b, g.Guard, request(f, key))
}

// BenchmarkRemoteRequireBearer is a user's access token through a remote
// guard: the hot path of a resource server that knows only the issuer URL.
func BenchmarkRemoteRequireBearer(b *testing.B) {
	benchmarkRemote(b, func(f *fakeIssuer, key any) *http.Request {
		tok := mustSign(b, key, jose.ES256, headers("k1"), remoteClaims(f, nil))
		f.active[tok] = map[string]any{"active": true, "token_type": "Bearer", "sub": "user-1", "username": "alice",
			"jti": "tok-1", "client_id": "client-1", "scope": "read write", "iss": f.srv.URL}
		return bearerRequest(tok)
	})
}

// BenchmarkRemoteRequireAPIKey is an API key through a remote guard,
// answered from the introspection cache.
func BenchmarkRemoteRequireAPIKey(b *testing.B) {
	benchmarkRemote(b, func(f *fakeIssuer, _ any) *http.Request {
		k := mustWellFormedKey(b, "gk_")
		f.active[k] = map[string]any{"active": true, "token_type": "api_key", "sub": "user-1", "username": "alice",
			"key_id": "key-1", "scope": "read", "iss": f.srv.URL}
		return apiKeyRequest(k)
	})
}
