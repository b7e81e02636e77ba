// Package discovery serves the discovery documents (RFC 8414, OpenID
// Connect Discovery 1.0) and the JSON Web Key Set (RFC 7517).
//
// The documents list only what the server actually supports, so a client
// library that reads them never tries a grant or method that would fail.
// It imports the signing and oauth building blocks only.
package discovery

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// Handler serves /.well-known/*. Its fields are set once, when the server
// is built.
type Handler struct {
	Issuer string
	Keys   *signing.Keys
	// Endpoints are the server's other routes: each one advertised under a
	// metadata field ([route.Route.Advertise]) is listed with its URL, and
	// what goes with an endpoint (PKCE with the authorization endpoint, the
	// auth methods of revocation and introspection) only when it is served.
	Endpoints route.List
	// GrantTypes are the grants the token endpoint serves;
	// authorization_code is listed only with an authorization endpoint.
	GrantTypes []string
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

// Routes returns the discovery documents and the JWKS.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/.well-known/jwks.json", h.handleJWKS).Advertised("jwks_uri"),
		route.Func("GET", "/.well-known/openid-configuration", h.handleMetadata),
		route.Func("GET", "/.well-known/oauth-authorization-server", h.handleMetadata),
	}
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
	routes := append(slices.Clip(h.Endpoints), h.Routes()...)
	url := func(field string) (string, bool) {
		r, ok := routes.Advertised(field)
		return h.Issuer + r.Path, ok
	}
	_, authorize := url("authorization_endpoint")
	var grants []string
	for _, g := range h.GrantTypes {
		if g != string(oauth.GrantAuthorizationCode) || authorize {
			grants = append(grants, g)
		}
	}
	scopes := h.Scopes
	if scopes == nil {
		scopes = DefaultScopes()
	}
	m := map[string]any{
		"issuer":                                h.Issuer,
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
	for _, r := range routes {
		if r.Advertise != "" {
			m[r.Advertise] = h.Issuer + r.Path
		}
	}
	if authorize {
		m["code_challenge_methods_supported"] = []string{oauth.PKCES256}
		m["response_modes_supported"] = []string{"query"}
		// RFC 9207: authorization responses carry iss (mix-up defence).
		m["authorization_response_iss_parameter_supported"] = true
	}
	if _, ok := url("revocation_endpoint"); ok {
		m["revocation_endpoint_auth_methods_supported"] = authMethods
	}
	if _, ok := url("introspection_endpoint"); ok {
		m["introspection_endpoint_auth_methods_supported"] = authMethods[:2]
	}
	return m
}

func (h *Handler) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(h.Metadata())
}
