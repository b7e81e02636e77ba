// Package guard is gatehouse's resource-server middleware: it authenticates
// an HTTP request by API key or bearer JWT access token, checks the scopes a
// handler needs, and stores the caller (the [Principal]) in the request
// context, where [PrincipalFrom] reads it.
//
//	g, err := guard.New(guard.Config{Issuer: iss, Audience: aud, Keys: keys, APIKeys: verifier})
//	mux.Handle("GET /reports", g.Require("reports:read")(reportsHandler))
//
// Credentials are read from the X-API-Key header or from
// "Authorization: Bearer" (RFC 6750 §2.1). A bearer value that starts with
// [Config.APIKeyPrefix] is an API key; anything else is a JWT access token
// (RFC 9068). Credentials in the query string are refused outright (RFC 6750
// §2.3 is not supported), and so are requests that carry two credentials.
//
// Access tokens are checked strictly, following RFC 8725: the algorithm is
// pinned per key by the [KeySet] (never "none", never a public key used as an
// HMAC secret), the "typ" header must be "at+jwt", "iss" must match and "aud"
// must contain the configured audience, "exp", "nbf" and "iat" are checked
// with a small leeway, and the "jku", "x5u" and "jwk" headers are ignored:
// keys come only from the [KeySet], never from the token.
//
// Failures are reported as [*Error] values carrying the RFC 6750 §3.1 error
// code, and [WriteError] turns them into a 400, 401 or 403 response with a
// WWW-Authenticate challenge and a JSON body. The cause is available through
// [errors.As] as one of the typed errors in this package, for example
// [*TokenExpiredError].
//
// A verified access token is remembered (keyed by its SHA-256, until it
// expires, [Config.TokenCacheSize]), so a token seen again skips the
// signature check; its key, expiry and revocation are still checked on
// every request.
//
// # Remote mode
//
// [NewRemote] builds a guard for a service that only knows gatehouse's
// issuer URL: it reads discovery, verifies tokens with the published JWKS
// ([RemoteKeySet]: cached, refetched on an unknown kid with one fetch in
// flight and a minimum interval), checks API keys by RFC 7662
// introspection ([Introspector]: only an answer that names an API key
// counts, a malformed key with the prefix is refused without a call; short
// positive and negative caches keyed by issuer and key hash), learns the
// username of a user's access token by introspecting it once (cached by
// jti until it expires; [RemoteConfig.SkipUsernames]), so that handlers
// get the principal the embedded guard gives, and follows the server's
// revocation feed (GET
// /oauth2/revocations, server-sent events resumed with Last-Event-ID) into
// a [DenyList]. When the feed has been silent for longer than
// [RemoteConfig.MaxStale] every credential is refused with 503
// temporarily_unavailable until it is back; [Remote.Status] and
// [RemoteConfig.OnStatus] report it.
//
// The guard is a leaf package so that any Go service can import it: it
// depends only on the standard library and go-jose, and imports no gatehouse
// internal package, no database driver and no metrics library (a test
// enforces this). The gatehouse server supplies in-process implementations
// of [KeySet] and [APIKeyVerifier] and checks revocations with a [DenyList]
// of its own, the same rules a remote guard applies; other services plug
// in remote ones.
package guard
