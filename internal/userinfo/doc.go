// Package userinfo serves the OpenID Connect userinfo endpoint, GET and
// POST /oauth2/userinfo (OIDC Core §5.3): the claims about the user an
// access token was issued to.
//
// The bearer token is checked by the embedded guard and errors follow
// RFC 6750 §3, as at every other bearer-protected resource. The package
// must not import another endpoint package (token, introspect, revoke,
// discovery).
package userinfo
