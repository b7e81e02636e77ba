package authorize

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testHandler(now *time.Time) *Handler {
	return &Handler{Issuer: "http://127.0.0.1:1", Key: []byte("0123456789abcdef0123456789abcdef"),
		Now: func() time.Time { return *now }}
}

func TestSealUnseal(t *testing.T) {
	now := time.Now()
	h := testHandler(&now)
	pre, other := randomValue(), randomValue()
	p := pending{Step: stepConsent, Query: "client_id=a&scope=read", User: "u1", Scopes: "read"}
	sealed := h.seal(pre, p)
	got, err := h.unseal(pre, stepConsent, sealed)
	if err != nil || got.Query != p.Query || got.User != "u1" || got.Scopes != "read" {
		t.Fatalf("unseal(seal(p)) = %+v, %v; want %+v", got, err, p)
	}
	payload, sig, _ := strings.Cut(sealed, ".")
	forged := h.seal(pre, pending{Step: stepConsent, Query: "client_id=a&scope=admin", User: "u1", Scopes: "admin"})
	forgedPayload, _, _ := strings.Cut(forged, ".")
	otherKey := &Handler{Key: []byte("another key, another server......"), Now: h.Now}
	for _, tc := range []struct {
		name, pre, step, sealed string
	}{
		{"other pre-session cookie", other, stepConsent, sealed},
		{"other step", pre, stepLogin, sealed},
		{"payload swapped", pre, stepConsent, forgedPayload + "." + sig},
		{"no signature", pre, stepConsent, payload},
		{"empty", pre, stepConsent, ""},
		{"bad base64", pre, stepConsent, "!!!." + sig},
		{"other key", pre, stepConsent, otherKey.seal(pre, p)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.unseal(tc.pre, tc.step, tc.sealed); err == nil {
				t.Errorf("unseal(%q) accepted", tc.name)
			}
		})
	}
	now = now.Add(pendingTTL + time.Second)
	if _, err := h.unseal(pre, stepConsent, sealed); err == nil {
		t.Errorf("unseal accepted an expired form")
	}
}

func TestCSRF(t *testing.T) {
	now := time.Now()
	h := testHandler(&now)
	pre := randomValue()
	tok := h.csrfToken(pre)
	req := func(cookie, token string) bool {
		r := httptest.NewRequest("POST", "/oauth2/authorize", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: h.cookieName(csrfCookie), Value: cookie})
		}
		_, ok := h.checkCSRF(r, token)
		return ok
	}
	if !req(pre, tok) {
		t.Fatal("checkCSRF refused the right token")
	}
	for _, tc := range []struct{ name, cookie, token string }{
		{"no cookie", "", tok},
		{"no token", pre, ""},
		{"other cookie", randomValue(), tok},
		{"token is the cookie", pre, pre},
		{"malformed cookie", "short", tok},
		{"truncated token", pre, tok[:20]},
	} {
		if req(tc.cookie, tc.token) {
			t.Errorf("checkCSRF(%s) accepted", tc.name)
		}
	}
}

func TestCookieNames(t *testing.T) {
	now := time.Now()
	h := testHandler(&now)
	if got := h.cookieName(sessionCookie); got != "gatehouse_session" {
		t.Errorf("http cookie name = %q", got)
	}
	h.Issuer = "https://auth.example"
	if got := h.cookieName(sessionCookie); got != "__Host-gatehouse-session" {
		t.Errorf("https cookie name = %q", got)
	}
}

func TestFormAction(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"https://app.example/cb?x=1", "'self' https://app.example"},
		{"http://127.0.0.1:8080/cb", "'self' http://127.0.0.1:8080"},
		{"com.example.app:/cb", "'self' com.example.app:"},
		{"", "'self'"},
	} {
		if got := formAction(tc.uri); got != tc.want {
			t.Errorf("formAction(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}
