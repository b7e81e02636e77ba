package e2e_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
)

// Benchmarks of the hot paths through the real server's handler, in
// process (no network): the cost gatehouse adds to a request.

func benchServer(b *testing.B) (*testServer, string, string) {
	b.Helper()
	// The log at serve's default level (info), thrown away: the tests'
	// debug log would measure formatting lines a server does not write.
	s := newTestServer(b, noLimits, func(c *gatehouse.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	mustCreateUser(b, s, "bench", "password-1", "read", "write")
	tok := mustToken(b, s, "bench", "password-1")["access_token"].(string)
	return s, tok, mustAPIKey(b, s, "bench", "read")
}

func benchGET(b *testing.B, h http.Handler, path string, hdr map[string]string) {
	b.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkHealthz is the baseline: the middleware chain and nothing else.
func BenchmarkHealthz(b *testing.B) {
	s, _, _ := benchServer(b)
	benchGET(b, s.Server, "/healthz", nil)
}

// BenchmarkGuardBearer is GET /users/me with a bearer JWT.
func BenchmarkGuardBearer(b *testing.B) {
	s, tok, _ := benchServer(b)
	benchGET(b, s.Server, "/users/me", map[string]string{"Authorization": "Bearer " + tok})
}

// BenchmarkGuardAPIKey is GET /users/me with X-API-Key.
func BenchmarkGuardAPIKey(b *testing.B) {
	s, _, key := benchServer(b)
	benchGET(b, s.Server, "/users/me", map[string]string{"X-API-Key": key})
}

// BenchmarkTokenIssuePassword is POST /token with the password grant
// (with the insecure fast hash parameters, so that it measures issuance:
// real argon2id costs ~20 ms by design).
func BenchmarkTokenIssuePassword(b *testing.B) {
	s, _, _ := benchServer(b)
	body := url.Values{"grant_type": {"password"}, "username": {"bench"}, "password": {"password-1"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.Server.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("POST /token = %d %s", w.Code, w.Body)
		}
	}
}

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
	// The log at serve's default level (info), thrown away: the tests'
	// debug log would measure formatting lines a server does not write.
	s := newTestServer(b, noLimits, func(c *gatehouse.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	mustCreateUser(b, s, "bench", "password-1", "read")
	h := map[string]string{"Authorization": "Bearer " + mustToken(b, s, "bench", "password-1")["access_token"].(string)}
	withHeaders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ratelimit.SetHeaders(w.Header(), ratelimit.Result{Allowed: true, Limit: 1e9, Remaining: 1e9 - 1, Reset: time.Nanosecond})
		s.Server.ServeHTTP(w, r)
	})
	benchGET(b, withHeaders, "/users/me", h)
}

// benchPOST posts form to path through the whole handler chain.
func benchPOST(b *testing.B, h http.Handler, path string, form url.Values, hdr http.Header) {
	b.Helper()
	body := form.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("POST %s = %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkTokenClientCredentials is POST /oauth2/token with the
// client_credentials grant and HTTP Basic: no database access on the hot
// path (cached client, aggregated audit).
func BenchmarkTokenClientCredentials(b *testing.B) {
	// The log at serve's default level (info), thrown away: the tests'
	// debug log would measure formatting lines a server does not write.
	s := newTestServer(b, noLimits, func(c *gatehouse.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	cc := mustClient(b, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}})
	benchPOST(b, s.Server, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(cc))
}

// BenchmarkIntrospectAccessToken is POST /oauth2/introspect of a valid
// access token by a resource server.
func BenchmarkIntrospectAccessToken(b *testing.B) {
	// The log at serve's default level (info), thrown away: the tests'
	// debug log would measure formatting lines a server does not write.
	s := newTestServer(b, noLimits, func(c *gatehouse.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	cc := mustClient(b, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}})
	tok := clientToken(b, s, cc)
	benchPOST(b, s.Server, "/oauth2/introspect", url.Values{"token": {tok}}, basicHeader(cc))
}
