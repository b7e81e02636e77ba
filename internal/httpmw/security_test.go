package httpmw

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name     string
		tls      bool
		handler  http.Handler
		wantCSP  string
		wantHSTS string
	}{
		{name: "plain http", handler: okHandler, wantCSP: DefaultContentSecurityPolicy},
		{name: "tls", tls: true, handler: okHandler, wantCSP: DefaultContentSecurityPolicy, wantHSTS: hstsValue},
		{
			name: "handler overrides csp",
			handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Security-Policy", "default-src 'self'")
				_, _ = w.Write([]byte("<html>"))
			}),
			wantCSP: "default-src 'self'",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			SecurityHeaders(tc.handler).ServeHTTP(rec, req)
			h := rec.Header()
			want := map[string]string{
				"X-Content-Type-Options":    "nosniff",
				"X-Frame-Options":           "DENY",
				"Referrer-Policy":           "no-referrer",
				"Content-Security-Policy":   tc.wantCSP,
				"Strict-Transport-Security": tc.wantHSTS,
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if n := len(h.Values("Content-Security-Policy")); n != 1 {
				t.Errorf("got %d Content-Security-Policy headers, want 1", n)
			}
		})
	}
}

// TestSecurityHeadersNotShared: the values are shared between responses,
// so a handler that adds to one (Header.Add) or edits it in place must not
// change what the next response gets.
func TestSecurityHeadersNotShared(t *testing.T) {
	h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/meddle" {
			w.Header().Add("X-Frame-Options", "SAMEORIGIN")
			w.Header().Add("Referrer-Policy", "origin")
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/meddle", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Content-Security-Policy": DefaultContentSecurityPolicy,
	} {
		if got := rec.Header().Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q after another response added to it, want [%q]", k, got, want)
		}
	}
}
