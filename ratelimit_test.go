package gatehouse_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// noLimits turns the request rate limits off, for benchmarks that send
// millions of requests from one address.
func noLimits(c *gatehouse.Config) {
	c.RateLimitIP, c.RateLimitUser, c.RateLimitAPIKey, c.RateLimitClient, c.RateLimitToken =
		"unlimited", "unlimited", "unlimited", "unlimited", "unlimited"
}

// hugeLimits turns every request limit on, too high to refuse anything,
// so that a benchmark measures what checking them costs.
func hugeLimits(c *gatehouse.Config) {
	const l = "1000000000/s"
	c.RateLimitIP, c.RateLimitUser, c.RateLimitAPIKey, c.RateLimitClient, c.RateLimitToken = l, l, l, l, l
}

// The pair BenchmarkGuardLimits{Off,On} compares a guarded request (API
// key and bearer, /users/me) without and with the in-memory limits: per
// address in the middleware, then per key or user after the guard.
func benchGuardLimits(b *testing.B, opt func(*gatehouse.Config), header string) {
	s := newTestServer(b, opt)
	mustCreateUser(b, s, "bench", "password-1", "read")
	h := map[string]string{"X-API-Key": mustAPIKey(b, s, "bench", "read")}
	if header == "bearer" {
		h = map[string]string{"Authorization": "Bearer " + mustToken(b, s, "bench", "password-1")["access_token"].(string)}
	}
	benchGET(b, s.Server, "/users/me", h)
}

func BenchmarkGuardLimitsOffAPIKey(b *testing.B) { benchGuardLimits(b, noLimits, "apikey") }
func BenchmarkGuardLimitsOnAPIKey(b *testing.B)  { benchGuardLimits(b, hugeLimits, "apikey") }
func BenchmarkGuardLimitsOffBearer(b *testing.B) { benchGuardLimits(b, noLimits, "bearer") }
func BenchmarkGuardLimitsOnBearer(b *testing.B)  { benchGuardLimits(b, hugeLimits, "bearer") }

// BenchmarkGuardLimitsOffBearerHeaders is a control for the pair above:
// limits off, but the same three RateLimit-* headers written in front of
// the server, so that the response carries as many header fields as with
// limits on. Go keeps a map of up to 8 entries inline; the three headers
// take an answer from 7 fields to 10, and growing the header map (and
// cloning the larger one at WriteHeader) is a fixed cost of answering with
// them, apart from the limiter's own work. On/this ratio is what the
// limit checks cost beyond the headers.
func BenchmarkGuardLimitsOffBearerHeaders(b *testing.B) {
	s := newTestServer(b, noLimits)
	mustCreateUser(b, s, "bench", "password-1", "read")
	h := map[string]string{"Authorization": "Bearer " + mustToken(b, s, "bench", "password-1")["access_token"].(string)}
	withHeaders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ratelimit.SetHeaders(w.Header(), ratelimit.Result{Allowed: true, Limit: 1e9, Remaining: 1e9 - 1, Reset: time.Nanosecond})
		s.Server.ServeHTTP(w, r)
	})
	benchGET(b, withHeaders, "/users/me", h)
}
