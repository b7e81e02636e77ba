// Package oauthsrv serves the OAuth2 and OpenID Connect endpoints that sit
// beside the token endpoint: token revocation (POST /oauth2/revoke,
// RFC 7009), token introspection (POST /oauth2/introspect, RFC 7662) and
// the OIDC userinfo endpoint (GET/POST /oauth2/userinfo, OIDC Core §5.3).
//
// Access tokens are verified by the embedded guard (signature, claims and
// the in-memory revocation set), API keys by the API-key verifier, refresh
// tokens by their hash in the store; clients authenticate through
// [clientauth.Authenticator], as at the token endpoint. The package must
// not import another endpoint package (token, api, wellknown).
package oauthsrv
