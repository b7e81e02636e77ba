package guard

import (
	"context"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Method says how a caller authenticated.
type Method string

// Authentication methods.
const (
	MethodBearer Method = "bearer"  // a JWT access token
	MethodAPIKey Method = "api_key" // an API key, in X-API-Key or as a bearer
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Subject   string   // the user id, or the client id for client credentials
	Username  string   // "" for clients
	Scopes    []string // the credential's own scopes
	ClientID  string   // the OAuth2 client the token was issued to ("" for API keys)
	Method    Method
	KeyID     string    // the API key id (MethodAPIKey)
	TokenID   string    // the JWT jti (MethodBearer)
	IssuedAt  time.Time // iat, or the API key's creation time
	ExpiresAt time.Time // zero when the credential does not expire
	// SigningKeyID is the kid of the key that signed the token (MethodBearer).
	SigningKeyID string
}

// IsClient reports whether p is a client acting for itself: a
// client-credentials token, whose subject is its client id. Such a
// principal has no user and no username.
func (p *Principal) IsClient() bool { return p.ClientID != "" && p.Subject == p.ClientID }

// HasScope reports whether the principal carries scope s.
func (p *Principal) HasScope(s string) bool {
	for _, have := range p.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal stored by [Guard.Require].
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// KeySet supplies the public keys (or the HMAC secret) that verify access
// tokens. Implementations must pin the algorithm per key: the returned
// algorithm is the only one the guard accepts for that kid.
type KeySet interface {
	// VerificationKey returns the key for kid and the one algorithm it
	// verifies. An unknown kid returns an error; remote key sets refetch
	// the JWKS (rate-limited) before giving up.
	VerificationKey(ctx context.Context, kid string) (key any, alg jose.SignatureAlgorithm, err error)
}

// APIKeyVerifier checks an API key and returns its principal. A key that is
// unknown, wrong, revoked, expired or whose owner is disabled gives an error
// (any error: the guard answers "Invalid or inactive API Key"). The guard
// may log the error's text, so it must never contain the key itself.
type APIKeyVerifier interface {
	VerifyAPIKey(ctx context.Context, key string) (*Principal, error)
}

// RevocationChecker reports whether a verified access token has been revoked
// (its jti, its signing key, its client or its user since it was issued). It
// is called on every bearer request and must not touch a database.
type RevocationChecker interface {
	Revoked(p *Principal) bool
}
