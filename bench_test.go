package gatehouse_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Benchmarks of the hot paths through the real server's handler, in
// process (no network): the cost gatehouse adds to a request.

func benchServer(b *testing.B) (*testServer, string, string) {
	b.Helper()
	s := newTestServer(b, noLimits)
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
