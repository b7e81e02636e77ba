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
