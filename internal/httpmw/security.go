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
//
// The names are written in their canonical form straight into the header
// map (as Header.Set would store them, without canonicalising them again on
// every request), and the values are shared, capacity-limited slices: a
// later Set replaces a slice and an Add copies it, so no response can
// change another's.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["X-Frame-Options"] = deny
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = defaultCSP
		if r.TLS != nil {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// The values SecurityHeaders sets, each a slice whose capacity is its
// length, so that appending to one (Header.Add) copies it.
var (
	nosniff    = []string{"nosniff"}[:1:1]
	deny       = []string{"DENY"}[:1:1]
	noReferrer = []string{"no-referrer"}[:1:1]
	defaultCSP = []string{DefaultContentSecurityPolicy}[:1:1]
	hsts       = []string{hstsValue}[:1:1]
)
