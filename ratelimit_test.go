package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
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
