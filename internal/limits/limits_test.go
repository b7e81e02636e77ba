package limits

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// own is a fake of the caches that know API keys' and clients' limits.
type own map[string]ratelimit.Limit

func (o own) RateLimit(_ context.Context, id string) (ratelimit.Limit, bool) {
	l, ok := o[id]
	return l, ok
}

// observer records the refusals the policy reports.
type observer struct {
	mu    sync.Mutex
	kinds []string
}

func (o *observer) RateLimited(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kinds = append(o.kinds, kind)
}
func (o *observer) Fallback(string, bool) {}

func newPolicy(t *testing.T, set Settings, keys, clients own) (*Policy, *observer) {
	t.Helper()
	obs := &observer{}
	return New(Config{Settings: set, Keys: keys, Clients: clients, Observer: obs}), obs
}

var (
	perMinute = func(n int) ratelimit.Limit { return ratelimit.Limit{Rate: float64(n) / 60, Burst: n} }
	unlimited = ratelimit.Limit{}
)

// serve sends one request from addr through the client-address middleware
// and h.
func serve(h http.Handler, method, path, addr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	httpmw.IPResolver{}.Middleware(h).ServeHTTP(w, r)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body, err)
	}
	return body.Error
}

// TestMiddlewareLimitsPerAddress: every request counts against its
// address (an IPv6 address by its /64); a refusal is a JSON 429 with
// Retry-After and the RateLimit headers, and an RFC 6749 error on the
// token endpoint.
func TestMiddlewareLimitsPerAddress(t *testing.T) {
	p, obs := newPolicy(t, Settings{IP: perMinute(2)}, nil, nil)
	h := p.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for i := range 2 {
		if w := serve(h, "GET", "/users/me", "192.0.2.1:1000"); w.Code != http.StatusOK || w.Header().Get("RateLimit-Limit") == "" {
			t.Fatalf("request %d = %d (RateLimit-Limit %q), want 200 with the headers", i, w.Code, w.Header().Get("RateLimit-Limit"))
		}
	}
	w := serve(h, "GET", "/users/me", "192.0.2.1:1001")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || errorCode(t, w) != "rate_limited" {
		t.Errorf("third request = %d %q (Retry-After %q), want 429 rate_limited", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	if w := serve(h, "POST", "/oauth2/token", "192.0.2.1:1002"); w.Code != http.StatusTooManyRequests || errorCode(t, w) != oauth.TemporarilyUnavailable {
		t.Errorf("token endpoint refusal = %d %q, want 429 temporarily_unavailable", w.Code, w.Body)
	}
	if w := serve(h, "GET", "/users/me", "192.0.2.2:1000"); w.Code != http.StatusOK {
		t.Errorf("another address = %d, want 200", w.Code)
	}
	for _, a := range []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2::2]:1"} {
		serve(h, "GET", "/", a)
	}
	if w := serve(h, "GET", "/", "[2001:db8:1:2:ffff::9]:1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("a third address of the same /64 = %d, want 429", w.Code)
	}
	if !slices.Contains(obs.kinds, "ip") {
		t.Errorf("refusals reported as %v, want ip", obs.kinds)
	}
}

// TestAdmit: after the guard, an API key counts against its own limit (or
// the default) and its user's, a client-credentials token against its
// client's, a user's token against the user's.
func TestAdmit(t *testing.T) {
	p, obs := newPolicy(t, Settings{User: perMinute(3), APIKey: perMinute(10), Client: perMinute(1)},
		own{"k1": perMinute(1)}, nil)
	admit := func(pr *guard.Principal) int {
		w := httptest.NewRecorder()
		if !p.Admit(w, httptest.NewRequest("GET", "/users/me", nil), pr) {
			return w.Code
		}
		return http.StatusOK
	}
	key := &guard.Principal{Method: guard.MethodAPIKey, KeyID: "k1", Subject: "u1"}
	if got := admit(key); got != http.StatusOK {
		t.Fatalf("first use of k1 = %d", got)
	}
	if got := admit(key); got != http.StatusTooManyRequests {
		t.Errorf("second use of k1 (own limit 1/m) = %d, want 429", got)
	}
	other := &guard.Principal{Method: guard.MethodAPIKey, KeyID: "k2", Subject: "u1"}
	if got := admit(other); got != http.StatusOK {
		t.Errorf("k2 on the default limit = %d, want 200", got)
	}
	// u1 has made two requests that counted (k1's refused one stopped at
	// the key's limit): a third is allowed, a fourth is not.
	bearer := &guard.Principal{Method: guard.MethodBearer, Subject: "u1"}
	if got := admit(bearer); got != http.StatusOK {
		t.Errorf("u1's third counted request = %d, want 200", got)
	}
	if got := admit(bearer); got != http.StatusTooManyRequests {
		t.Errorf("u1's fourth counted request (user limit 3/m) = %d, want 429", got)
	}
	client := &guard.Principal{Method: guard.MethodBearer, Subject: "c1", ClientID: "c1"}
	if admit(client) != http.StatusOK || admit(client) != http.StatusTooManyRequests {
		t.Error("client-credentials token: want its client's limit (1/m)")
	}
	for _, k := range []string{"apikey", "user", "client"} {
		if !slices.Contains(obs.kinds, k) {
			t.Errorf("refusals reported as %v, want %s among them", obs.kinds, k)
		}
	}
}

// TestLimitClient: the token endpoint charges a client its own limit (or
// the default); the built-in first-party client has none.
func TestLimitClient(t *testing.T) {
	p, _ := newPolicy(t, Settings{Client: perMinute(5)}, nil, own{"tight": perMinute(1)})
	r := httptest.NewRequest("POST", "/oauth2/token", nil)
	try := func(c store.Client) error { return p.LimitClient(httptest.NewRecorder(), r, c) }
	tight := store.Client{ID: "tight"}
	if err := try(tight); err != nil {
		t.Fatalf("first request of tight = %v", err)
	}
	var oe *oauth.Error
	if err := try(tight); !errors.As(err, &oe) || oe.Status != http.StatusTooManyRequests || oe.RetryAfter <= 0 {
		t.Errorf("second request of tight = %v, want a 429 oauth error with Retry-After", err)
	}
	first := store.Client{ID: "gatehouse", FirstParty: true}
	for range 10 {
		if err := try(first); err != nil {
			t.Fatalf("first-party client limited: %v", err)
		}
	}
}

// TestTokenFailureBudget: failures that proved nothing spend the caller's
// address's budget; once it is spent, Check refuses that address only.
func TestTokenFailureBudget(t *testing.T) {
	p, obs := newPolicy(t, Settings{Token: perMinute(2)}, nil, nil)
	call := func(f func(http.ResponseWriter, *http.Request) error, addr string) error {
		var err error
		serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { err = f(w, r) }), "POST", "/oauth2/token", addr)
		return err
	}
	const attacker, other = "198.51.100.7:1", "198.51.100.8:1"
	for i := range 2 {
		if err := call(p.Spend, attacker); err != nil {
			t.Fatalf("failure %d = %v, want it counted without a refusal", i, err)
		}
	}
	if err := call(p.Check, attacker); err == nil {
		t.Error("Check after the budget was spent = nil, want a 429")
	}
	if err := call(p.Check, other); err != nil {
		t.Errorf("Check from another address = %v, want nil", err)
	}
	if !slices.Contains(obs.kinds, "token_failures") {
		t.Errorf("refusals reported as %v, want token_failures", obs.kinds)
	}
	q, _ := newPolicy(t, Settings{Token: unlimited}, nil, nil)
	for range 5 {
		if err := call(q.Spend, attacker); err != nil {
			t.Fatalf("unlimited budget refused: %v", err)
		}
	}
}
