package discovery

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/endpointtest"
	"github.com/gatehouse/gatehouse/internal/route"
)

const issuer = endpointtest.Issuer

// Stand-ins for the other packages' routes: discovery reads only their
// paths and metadata names.
var (
	tokenRoute      = route.Func("POST", "/oauth2/token", nil).Advertised("token_endpoint")
	tokenAlias      = route.Func("POST", "/token", nil)
	authorizeRoute  = route.Func("GET", "/oauth2/authorize", nil).Advertised("authorization_endpoint")
	revokeRoute     = route.Func("POST", "/oauth2/revoke", nil).Advertised("revocation_endpoint")
	introspectRoute = route.Func("POST", "/oauth2/introspect", nil).Advertised("introspection_endpoint")
	userinfoRoute   = route.Func("GET", "/oauth2/userinfo", nil).Advertised("userinfo_endpoint")
	userinfoPost    = route.Func("POST", "/oauth2/userinfo", nil)
	healthz         = route.Func("GET", "/healthz", nil)
)

var allGrants = []string{"authorization_code", "client_credentials", "refresh_token", "password"}

// TestMetadata: the document names exactly the advertised routes (and the
// JWKS), the grants the token endpoint serves, and what goes with an
// endpoint only when it is served.
func TestMetadata(t *testing.T) {
	e := endpointtest.New(t)
	everything := route.List{tokenRoute, tokenAlias, authorizeRoute, revokeRoute, introspectRoute, userinfoRoute, userinfoPost, healthz}
	tests := []struct {
		name      string
		endpoints route.List
		grants    []string
		scopes    []string
		// wantURLs are the metadata fields that hold URLs of this server.
		wantURLs   map[string]string
		wantGrants []string
		wantScopes []string
		// wantWith are the fields that go with an endpoint; wantWithout
		// must be absent.
		wantWith, wantWithout []string
	}{
		{
			name: "every endpoint", endpoints: everything, grants: allGrants,
			wantURLs: map[string]string{
				"token_endpoint": issuer + "/oauth2/token", "authorization_endpoint": issuer + "/oauth2/authorize",
				"revocation_endpoint": issuer + "/oauth2/revoke", "introspection_endpoint": issuer + "/oauth2/introspect",
				"userinfo_endpoint": issuer + "/oauth2/userinfo", "jwks_uri": issuer + "/.well-known/jwks.json",
			},
			wantGrants: allGrants, wantScopes: DefaultScopes(),
			wantWith: []string{"code_challenge_methods_supported", "response_modes_supported",
				"authorization_response_iss_parameter_supported", "revocation_endpoint_auth_methods_supported",
				"introspection_endpoint_auth_methods_supported"},
		},
		{
			name: "no authorization endpoint", endpoints: route.List{tokenRoute, revokeRoute, introspectRoute}, grants: allGrants,
			wantURLs: map[string]string{
				"token_endpoint": issuer + "/oauth2/token", "revocation_endpoint": issuer + "/oauth2/revoke",
				"introspection_endpoint": issuer + "/oauth2/introspect", "jwks_uri": issuer + "/.well-known/jwks.json",
			},
			wantGrants: []string{"client_credentials", "refresh_token", "password"}, wantScopes: DefaultScopes(),
			wantWith: []string{"revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"},
			wantWithout: []string{"authorization_endpoint", "code_challenge_methods_supported", "response_modes_supported",
				"authorization_response_iss_parameter_supported"},
		},
		{
			name: "no revocation or introspection", endpoints: route.List{tokenRoute, authorizeRoute}, grants: allGrants[:3],
			scopes: []string{"openid", "read"},
			wantURLs: map[string]string{
				"token_endpoint": issuer + "/oauth2/token", "authorization_endpoint": issuer + "/oauth2/authorize",
				"jwks_uri": issuer + "/.well-known/jwks.json",
			},
			wantGrants: allGrants[:3], wantScopes: []string{"openid", "read"},
			wantWith: []string{"code_challenge_methods_supported"},
			wantWithout: []string{"revocation_endpoint", "introspection_endpoint", "userinfo_endpoint",
				"revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Issuer: issuer, Keys: e.Keys, Endpoints: tc.endpoints, GrantTypes: tc.grants, Scopes: tc.scopes}
			m := mustMetadata(t, h, "/.well-known/openid-configuration")
			urls := map[string]string{}
			for k, v := range m {
				if s, ok := v.(string); ok && k != "issuer" && strings.HasPrefix(s, issuer+"/") {
					urls[k] = s
				}
			}
			if diff := cmp.Diff(tc.wantURLs, urls); diff != "" {
				t.Errorf("Metadata() URLs mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantGrants, stringList(m["grant_types_supported"])); diff != "" {
				t.Errorf("Metadata() grant_types_supported mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantScopes, stringList(m["scopes_supported"])); diff != "" {
				t.Errorf("Metadata() scopes_supported mismatch (-want +got):\n%s", diff)
			}
			for _, k := range tc.wantWith {
				if _, ok := m[k]; !ok {
					t.Errorf("Metadata() lacks %s", k)
				}
			}
			for _, k := range tc.wantWithout {
				if v, ok := m[k]; ok {
					t.Errorf("Metadata()[%q] = %v, want absent", k, v)
				}
			}
			fixed := map[string]any{
				"issuer":                                issuer,
				"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post", "none"},
				"response_types_supported":              []any{"code"},
				"subject_types_supported":               []any{"public"},
				"id_token_signing_alg_values_supported": []any{e.Keys.IDTokenAlgorithm()},
			}
			if _, ok := tc.wantURLs["revocation_endpoint"]; ok {
				fixed["revocation_endpoint_auth_methods_supported"] = []any{"client_secret_basic", "client_secret_post", "none"}
			}
			if _, ok := tc.wantURLs["introspection_endpoint"]; ok {
				// RFC 7662 §2.1: public clients cannot introspect.
				fixed["introspection_endpoint_auth_methods_supported"] = []any{"client_secret_basic", "client_secret_post"}
			}
			if _, ok := tc.wantURLs["authorization_endpoint"]; ok {
				fixed["code_challenge_methods_supported"] = []any{"S256"}
				fixed["response_modes_supported"] = []any{"query"}
				fixed["authorization_response_iss_parameter_supported"] = true
			}
			for k, want := range fixed {
				if diff := cmp.Diff(want, m[k]); diff != "" {
					t.Errorf("Metadata()[%q] mismatch (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

// TestDocuments: both discovery paths serve the same document, and the
// JWKS publishes the signing key.
func TestDocuments(t *testing.T) {
	e := endpointtest.New(t)
	h := &Handler{Issuer: issuer, Keys: e.Keys, Endpoints: route.List{tokenRoute}, GrantTypes: allGrants}
	oidc := mustMetadata(t, h, "/.well-known/openid-configuration")
	oauth := mustMetadata(t, h, "/.well-known/oauth-authorization-server")
	if diff := cmp.Diff(oidc, oauth); diff != "" {
		t.Errorf("the two discovery documents differ (-openid-configuration +oauth-authorization-server):\n%s", diff)
	}
	res := endpointtest.Serve(t, h.Routes(), endpointtest.Request{Method: "GET", Path: "/.well-known/jwks.json"})
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("GET /.well-known/jwks.json = %d %q, want 200 application/jwk-set+json", res.Status, res.Header.Get("Content-Type"))
	}
	var kids []string
	for _, k := range res.Body["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	if !slices.Contains(kids, e.Keys.ActiveKeyID()) {
		t.Errorf("JWKS kids = %v, want the active key %q", kids, e.Keys.ActiveKeyID())
	}
}

func TestRoutes(t *testing.T) {
	want := []string{"GET /.well-known/jwks.json jwks_uri", "GET /.well-known/openid-configuration",
		"GET /.well-known/oauth-authorization-server"}
	if diff := cmp.Diff(want, endpointtest.Patterns((&Handler{}).Routes())); diff != "" {
		t.Errorf("Routes() mismatch (-want +got):\n%s", diff)
	}
}

// mustMetadata fetches the discovery document at path.
func mustMetadata(t *testing.T, h *Handler, path string) map[string]any {
	t.Helper()
	res := endpointtest.Serve(t, h.Routes(), endpointtest.Request{Method: "GET", Path: path})
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d %q %s, want 200 application/json", path, res.Status, res.Header.Get("Content-Type"), res.Raw)
	}
	return res.Body
}

// stringList converts a decoded JSON array of strings.
func stringList(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
