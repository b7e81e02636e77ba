package httpmw

import "net/http"

// DefaultContentSecurityPolicy is the policy [SecurityHeaders] sets: a JSON
// API loads nothing and may not be framed.
const DefaultContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// hstsValue asks browsers to use HTTPS for two years (RFC 6797).
const hstsValue = "max-age=63072000; includeSubDomains"

// SecurityHeaders sets defensive response headers on every response:
// X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
// Referrer-Policy: no-referrer and Content-Security-Policy:
// [DefaultContentSecurityPolicy]; and Strict-Transport-Security only when the
// request came over TLS (an HSTS header over plain HTTP is ignored by
// browsers and would be wrong for a deployment that terminates TLS
// elsewhere).
//
// The headers are set before the handler runs, so a handler that renders HTML
// overrides the policy simply by setting its own Content-Security-Policy (or
// any of the others) with w.Header().Set before it writes.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", DefaultContentSecurityPolicy)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}
