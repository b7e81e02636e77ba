// Package wellknown serves the discovery documents (RFC 8414, OpenID
// Connect Discovery 1.0) and the JSON Web Key Set (RFC 7517).
//
// The documents list only what the server actually supports, so a client
// library that reads them never tries a grant or method that would fail.
// It imports the signing and oauth building blocks only.
package wellknown

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// Handler serves /.well-known/*.
type Handler struct {
	Issuer        string
	Keys          *signing.Keys
	PasswordGrant bool
	// Authorize is true when /oauth2/authorize is served: only then are the
	// authorization endpoint, the authorization_code grant and PKCE listed.
	Authorize bool
	// Extra endpoints served (revocation, introspection, userinfo).
	Revocation, Introspection, UserInfo bool
	// Scopes are listed in scopes_supported; nil means [DefaultScopes]().
	Scopes []string
}

// DefaultScopes are the scopes with a meaning of their own (OIDC Core
// §5.4, §11); any other scope token a user or client holds is accepted
// too.
func DefaultScopes() []string { return []string{"openid", "profile", "offline_access"} }

// Claims are the claims gatehouse puts in ID tokens, userinfo responses
// and access tokens.
func Claims() []string {
	return []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash",
		"preferred_username", "name", "client_id", "scope", "jti"}
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/jwks.json", h.handleJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", h.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", h.handleMetadata)
}

func (h *Handler) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Short caching: verifiers refetch on an unknown kid anyway.
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(h.Keys.JWKSJSON())
}

// Metadata returns the authorization server metadata (RFC 8414 §2,
// OpenID Connect Discovery 1.0 §3). It lists only what the server does.
func (h *Handler) Metadata() map[string]any {
	authMethods := []string{string(oauth.AuthSecretBasic), string(oauth.AuthSecretPost), string(oauth.AuthNone)}
	var grants []string
	if h.Authorize {
		grants = append(grants, string(oauth.GrantAuthorizationCode))
	}
	grants = append(grants, string(oauth.GrantClientCredentials), string(oauth.GrantRefreshToken))
	if h.PasswordGrant {
		grants = append(grants, string(oauth.GrantPassword))
	}
	scopes := h.Scopes
	if scopes == nil {
		scopes = DefaultScopes()
	}
	m := map[string]any{
		"issuer":                                h.Issuer,
		"token_endpoint":                        h.Issuer + "/oauth2/token",
		"jwks_uri":                              h.Issuer + "/.well-known/jwks.json",
		"grant_types_supported":                 grants,
		"token_endpoint_auth_methods_supported": authMethods,
		// RFC 8414 §2 requires response_types_supported, OIDC Discovery
		// also subject_types_supported and
		// id_token_signing_alg_values_supported.
		"response_types_supported":              []string{string(oauth.ResponseTypeCode)},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{h.Keys.IDTokenAlgorithm()},
		"scopes_supported":                      scopes,
		"claims_supported":                      Claims(),
		"claims_parameter_supported":            false,
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false,
	}
	if h.Authorize {
		m["authorization_endpoint"] = h.Issuer + "/oauth2/authorize"
		m["code_challenge_methods_supported"] = []string{oauth.PKCES256}
		m["response_modes_supported"] = []string{"query"}
		// RFC 9207: authorization responses carry iss (mix-up defence).
		m["authorization_response_iss_parameter_supported"] = true
	}
	if h.Revocation {
		m["revocation_endpoint"] = h.Issuer + "/oauth2/revoke"
		m["revocation_endpoint_auth_methods_supported"] = authMethods
	}
	if h.Introspection {
		m["introspection_endpoint"] = h.Issuer + "/oauth2/introspect"
		m["introspection_endpoint_auth_methods_supported"] = authMethods[:2]
	}
	if h.UserInfo {
		m["userinfo_endpoint"] = h.Issuer + "/oauth2/userinfo"
	}
	return m
}

func (h *Handler) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(h.Metadata())
}
