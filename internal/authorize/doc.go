// Package authorize serves the OAuth 2.0 authorization endpoint
// (RFC 6749 §3.1, §4.1) with PKCE (RFC 7636) and OpenID Connect
// authentication requests (OIDC Core §3.1.2): GET and POST
// /oauth2/authorize, and the server-rendered login and consent pages that
// the browser posts back to POST /oauth2/authorize.
//
// The flow, for a request that passed validation:
//
//   - no valid login session (or prompt=login, or max_age exceeded): the
//     login page; its form posts username and password, which are checked
//     by service.Manager.Login (the same path, throttle and answers as the
//     password grant); success creates a login session (only the SHA-256 of
//     its cookie is stored);
//   - consent not yet given for these scopes (and the client is not the
//     first-party client): the consent page; "allow" remembers the consent
//     per user, client and scope set, "deny" answers access_denied. A
//     public client with a loopback or private-use-scheme redirect URI gets
//     the page every time: any local program can claim those (RFC 8252
//     §8.6);
//   - otherwise an authorization code (gac_…, stored as a hash, single use,
//     cfg.AuthCodeTTL) bound to the client, redirect URI, PKCE challenge,
//     scopes, nonce, user and auth_time is sent to the redirect URI. The
//     token package redeems it.
//
// Errors before the client and its redirect URI are known (unknown client,
// unregistered redirect URI, duplicated client_id, redirect_uri or state)
// are an HTML error page with status 400 and never a redirect, so the
// endpoint cannot be used as an open redirector. Later errors are sent to
// the validated redirect URI as RFC 6749 §4.1.2.1 parameters with the
// state and the issuer (RFC 9207).
//
// The pages carry a CSRF token bound to a pre-session cookie, and the
// pending authorization request as a value MAC-ed with a key derived from
// the master secret and bound to the same cookie, so the form cannot be
// used to widen the scopes the user saw. Responses are never cached, never
// framed (X-Frame-Options DENY, CSP frame-ancestors 'none') and load
// nothing but their inline style, allowed by its hash.
//
// The package imports store, service, oauth, audit, secret and token (for
// the code prefix); nothing imports it but the root package's wiring.
package authorize
