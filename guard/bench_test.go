package guard_test

import (
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// discard is a ResponseWriter that keeps nothing, so that benchmarks
// measure the guard rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchmarkRequire measures one request through g.Require("read") that
// reaches the handler.
func benchmarkRequire(b *testing.B, request func(fx *fixture) *http.Request) {
	fx := newFixture(b)
	benchServe(b, fx.guard(b, nil), request(fx))
}

// benchServe measures r through g.Require("read"), once the caches are
// warm, and checks that every request reached the handler.
func benchServe(b *testing.B, g *guard.Guard, r *http.Request) {
	ran := 0
	h := g.Require("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ }))
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, r)
	ran = 0
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if ran != b.N {
		b.Fatalf("the handler ran %d times in %d iterations", ran, b.N)
	}
}

func BenchmarkRequireBearerES256(b *testing.B) {
	benchmarkRequire(b, func(fx *fixture) *http.Request {
		return bearerRequest(mustSign(b, fx.ec, jose.ES256, headers("ec1"), claims()))
	})
}

func BenchmarkRequireBearerEdDSA(b *testing.B) {
	benchmarkRequire(b, func(fx *fixture) *http.Request {
		return bearerRequest(mustSign(b, fx.ed, jose.EdDSA, headers("ed1"), claims()))
	})
}

func BenchmarkRequireBearerHS256(b *testing.B) {
	benchmarkRequire(b, func(fx *fixture) *http.Request {
		return bearerRequest(mustSign(b, fx.hmac, jose.HS256, headers("hmac1"), claims()))
	})
}

func BenchmarkRequireAPIKey(b *testing.B) {
	benchmarkRequire(b, func(*fixture) *http.Request { return apiKeyRequest(validAPIKey) })
}

func BenchmarkRequireAPIKeyAsBearer(b *testing.B) {
	benchmarkRequire(b, func(*fixture) *http.Request { return bearerRequest(validAPIKey) })
}

// BenchmarkRequireBearerES256Uncached is BenchmarkRequireBearerES256 with
// the verified-token cache off: every request checks the signature.
func BenchmarkRequireBearerES256Uncached(b *testing.B) {
	fx := newFixture(b)
	g := fx.guard(b, func(c *guard.Config) { c.TokenCacheSize = -1 })
	r := bearerRequest(mustSign(b, fx.ec, jose.ES256, headers("ec1"), claims()))
	h := g.Require("read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
