// Package oauth holds gatehouse's OAuth 2.0 protocol vocabulary: the
// grant, token-type, response-type and client-authentication constants, the
// protocol [Error] and its RFC 6749 §5.2 writer, form and parameter parsing
// for the token-style endpoints, the PKCE check (RFC 7636), scope strings
// (RFC 6749 §3.3) and redirect-URI rules (RFC 6749 §3.1.2, RFC 8252).
// Client authentication (RFC 6749 §2.3) lives in clientauth, which builds
// on this package.
//
// It stands alone so that the endpoint packages (token, authorize,
// introspect, revoke, userinfo, discovery) and clientauth share one reading
// of the RFCs without importing each other. It imports the standard library
// only and must not import any other gatehouse package: everything here is
// pure protocol, with no storage, keys or configuration.
//
// Functions that can fail on client input return *[Error], never a plain
// error. Beware the typed-nil trap when passing one on: assign it to an
// error variable only after checking it against nil.
package oauth
