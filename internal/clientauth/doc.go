// Package clientauth is gatehouse's one client-authentication path
// (RFC 6749 §2.3): it reads a client's credentials from a request
// ([ParseCredentials]: HTTP Basic, client_secret_post, or client_id alone
// for a public client), checks them against the client's record, and
// applies what an endpoint accepts ([Policy]: public clients or not, HTTP
// Basic only, a default client for requests that name none). The token,
// revocation and introspection endpoints and the revocation feed's
// followers all authenticate through [Authenticator.Authenticate], so a new
// method (private_key_jwt) is one more case here, not a change in every
// endpoint. Client records are read through a short cache so that a busy
// machine client costs no database read per request, and an unknown client_id
// sent again and again costs one read per [DefaultNegativeTTL].
//
// It stands alone so that every endpoint package authenticates clients the
// same way without importing one another. It imports store, oauth,
// secret, cache and ratelimit (to parse a client's own limit once) only.
package clientauth
