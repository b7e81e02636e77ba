// Package introspect serves token introspection, POST /oauth2/introspect
// (RFC 7662): a resource server asks whether a token is active and what it
// carries.
//
// Access tokens are verified by the embedded guard (signature, claims and
// the revocation deny list), API keys by the API-key verifier, refresh
// tokens by their hash in the store; the asking client authenticates
// through clientauth, as at the token endpoint. The package must not
// import another endpoint package (token, revoke, userinfo, discovery).
package introspect
