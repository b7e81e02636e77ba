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
	// Authorize is true when /oauth2/authorize is served.
	Authorize bool
	// Extra endpoints served (revocation, introspection, userinfo).
	Revocation, Introspection, UserInfo bool
	Scopes                              []string
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

// Metadata returns the authorization server metadata (RFC 8414 §2).
func (h *Handler) Metadata() map[string]any {
	grants := []string{string(oauth.GrantClientCredentials), string(oauth.GrantRefreshToken)}
	if h.PasswordGrant {
		grants = append(grants, string(oauth.GrantPassword))
	}
	m := map[string]any{
		"issuer":                                           h.Issuer,
		"token_endpoint":                                   h.Issuer + "/oauth2/token",
		"jwks_uri":                                         h.Issuer + "/.well-known/jwks.json",
		"grant_types_supported":                            grants,
		"token_endpoint_auth_methods_supported":            []string{"client_secret_basic", "client_secret_post", "none"},
		"response_types_supported":                         []string{"code"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"token_endpoint_auth_signing_alg_values_supported": h.Keys.Algorithms(),
	}
	if h.Authorize {
		m["authorization_endpoint"] = h.Issuer + "/oauth2/authorize"
		m["code_challenge_methods_supported"] = []string{"S256"}
		m["response_modes_supported"] = []string{"query"}
		grants = append(grants, string(oauth.GrantAuthorizationCode))
		m["grant_types_supported"] = grants
	}
	if h.Revocation {
		m["revocation_endpoint"] = h.Issuer + "/oauth2/revoke"
		m["revocation_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
	}
	if h.Introspection {
		m["introspection_endpoint"] = h.Issuer + "/oauth2/introspect"
		m["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post"}
	}
	if h.UserInfo {
		m["userinfo_endpoint"] = h.Issuer + "/oauth2/userinfo"
	}
	if len(h.Scopes) > 0 {
		m["scopes_supported"] = h.Scopes
	}
	m["claims_supported"] = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "preferred_username"}
	return m
}

func (h *Handler) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(h.Metadata())
}
