package oauth

// GrantType is an OAuth 2.0 grant_type value (RFC 6749 §4).
type GrantType string

// The grant types gatehouse implements.
const (
	GrantPassword          GrantType = "password"           // RFC 6749 §4.3
	GrantClientCredentials GrantType = "client_credentials" // RFC 6749 §4.4
	GrantAuthorizationCode GrantType = "authorization_code" // RFC 6749 §4.1
	GrantRefreshToken      GrantType = "refresh_token"      // RFC 6749 §6
)

// GrantTypes returns every grant type gatehouse implements, in a stable
// order suitable for discovery documents and CLI help.
func GrantTypes() []GrantType {
	return []GrantType{GrantAuthorizationCode, GrantClientCredentials, GrantPassword, GrantRefreshToken}
}

// Known reports whether g is one of the grant types in [GrantTypes].
func (g GrantType) Known() bool {
	switch g {
	case GrantPassword, GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken:
		return true
	}
	return false
}

// ResponseType is an authorization-endpoint response_type value
// (RFC 6749 §3.1.1).
type ResponseType string

// ResponseTypeCode asks for an authorization code, the only response type
// gatehouse supports (the implicit grant is deprecated by RFC 9700 §2.1.2).
const ResponseTypeCode ResponseType = "code"

// TokenType is the token_type of a token response (RFC 6749 §7.1).
type TokenType string

// TokenTypeBearer is the token_type of every access token gatehouse issues
// (RFC 6750). Clients compare it case-insensitively (RFC 6749 §5.1).
const TokenTypeBearer TokenType = "Bearer"

// TokenTypeHint is a token_type_hint value of the revocation and
// introspection endpoints (RFC 7009 §2.1, RFC 7662 §2.1).
type TokenTypeHint string

// The registered token type hints. A server that does not recognise the
// hint, or finds the token is of another kind, must search all kinds
// (RFC 7009 §2.1), so a hint is never a reason to refuse a request.
const (
	HintAccessToken  TokenTypeHint = "access_token"
	HintRefreshToken TokenTypeHint = "refresh_token"
)

// AuthMethod is a client authentication method at the token endpoint, named
// as in the token_endpoint_auth_method registry (RFC 7591 §2).
type AuthMethod string

// The client authentication methods gatehouse accepts.
const (
	// AuthSecretBasic is HTTP Basic with the URL-encoded client_id and
	// client_secret (RFC 6749 §2.3.1).
	AuthSecretBasic AuthMethod = "client_secret_basic"
	// AuthSecretPost is client_id and client_secret in the form body
	// (RFC 6749 §2.3.1).
	AuthSecretPost AuthMethod = "client_secret_post"
	// AuthNone is a public client that sends only its client_id
	// (RFC 6749 §2.1, RFC 7591 §2).
	AuthNone AuthMethod = "none"
)

// AuthMethods returns every client authentication method gatehouse accepts,
// for the token_endpoint_auth_methods_supported metadata (RFC 8414 §2).
func AuthMethods() []AuthMethod {
	return []AuthMethod{AuthSecretBasic, AuthSecretPost, AuthNone}
}

// PKCES256 is the only PKCE code_challenge_method gatehouse accepts
// (RFC 7636 §4.2). "plain" is refused, as RFC 9700 §2.1.1 recommends. It is
// an untyped string because challenge methods are stored as strings.
const PKCES256 = "S256"

// ScopeOpenID is the scope that turns an OAuth 2.0 request into an OpenID
// Connect one and asks for an ID token (OIDC Core §3.1.2.1).
const ScopeOpenID = "openid"

// Realm is the realm of the WWW-Authenticate challenges written by
// [WriteError].
const Realm = "gatehouse"
