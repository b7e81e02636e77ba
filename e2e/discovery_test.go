package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// What the server says about itself: the discovery documents, the OpenAPI
// document and the /docs page, and that what they list is what is served.
// The root package's TestOpenAPIMatchesRoutes checks the route list
// against the hand-written internal/openapi/openapi.json.

func TestDiscovery(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		res, body := get(t, s.URL+path, nil)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
		m := decode(t, body)
		iss := s.Config().Issuer
		for k, v := range map[string]string{
			"issuer": iss, "token_endpoint": iss + "/oauth2/token", "jwks_uri": iss + "/.well-known/jwks.json",
			"revocation_endpoint": iss + "/oauth2/revoke", "introspection_endpoint": iss + "/oauth2/introspect",
			"userinfo_endpoint": iss + "/oauth2/userinfo",
		} {
			if m[k] != v {
				t.Errorf("%s[%q] = %v, want %v", path, k, m[k], v)
			}
		}
		list := func(k string) []string {
			var out []string
			for _, v := range m[k].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		if got := list("token_endpoint_auth_methods_supported"); !slices.Equal(got, []string{"client_secret_basic", "client_secret_post", "none"}) {
			t.Errorf("auth methods = %v", got)
		}
		if got := list("id_token_signing_alg_values_supported"); !slices.Contains(got, "RS256") {
			t.Errorf("id token algs = %v, want RS256", got)
		}
		if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
			t.Errorf("response types = %v", got)
		}
		for _, sc := range []string{"openid", "profile", "offline_access"} {
			if !slices.Contains(list("scopes_supported"), sc) {
				t.Errorf("scopes_supported lacks %s", sc)
			}
		}
		grants := list("grant_types_supported")
		for _, g := range []string{"client_credentials", "refresh_token", "password"} {
			if !slices.Contains(grants, g) {
				t.Errorf("grant_types_supported = %v lacks %s", grants, g)
			}
		}
		// The authorization endpoint and its grant are listed exactly when
		// they are served.
		res, _ = get(t, s.URL+"/oauth2/authorize", nil)
		served := res.StatusCode != http.StatusNotFound
		if _, listed := m["authorization_endpoint"]; listed != served || slices.Contains(grants, "authorization_code") != served {
			t.Errorf("authorize served=%v but authorization_endpoint listed=%v, grants %v", served, listed, grants)
		}
		if served && !slices.Equal(list("code_challenge_methods_supported"), []string{"S256"}) {
			t.Errorf("code_challenge_methods_supported = %v", m["code_challenge_methods_supported"])
		}
	}
	// The password grant is not listed when it is off.
	off := newTestServer(t, func(c *gatehouse.Config) { c.DisablePasswordGrant = true })
	_, body := get(t, off.URL+"/.well-known/openid-configuration", nil)
	if strings.Contains(string(body), `"password"`) {
		t.Errorf("discovery lists the password grant while it is off: %s", body)
	}
	res, body := doForm(t, off.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}, nil)
	if res.StatusCode != 400 || decode(t, body)["error"] != "unsupported_grant_type" {
		t.Errorf("password grant while off = %d %s", res.StatusCode, body)
	}
}

// TestOpenAPIRoutesAreServed sends one request for every operation the
// running server documents and fails when the router matched none of its
// routes.
func TestOpenAPIRoutesAreServed(t *testing.T) {
	srv := newTestServer(t)
	res, raw := get(t, srv.URL+"/openapi.json", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Servers []struct{ URL string }     `json:"servers"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != srv.Config().Issuer {
		t.Errorf("servers = %+v, want the issuer %s", doc.Servers, srv.Config().Issuer)
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ops := documentedOperations(t, srv)
	if len(ops) < 10 {
		t.Fatalf("the served document has only %d operations", len(ops))
	}
	for _, op := range ops {
		spelled, method := op.String(), op.method
		// Any value will do for a path parameter: the router only has to
		// pick the route.
		url := srv.URL + op.pathWith("x")
		req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", spelled, err)
			continue
		}
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			_ = json.NewDecoder(res.Body).Decode(&body)
		}
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusNotFound && body.Error == "not_found" && body.ErrorDescription == "no such endpoint":
			t.Errorf("%s is documented but the server has no such route (404 no such endpoint)", spelled)
		case res.StatusCode == http.StatusMethodNotAllowed && body.Error == "method_not_allowed":
			t.Errorf("%s is documented but the server does not allow %s there (405)", spelled, method)
		case res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable:
			t.Errorf("%s with no credentials and no body = %d; want a 4xx", spelled, res.StatusCode)
		}
	}
}

// TestOddMethodsOnEveryRoute: every route the server documents answers
// odd methods without a 5xx, and a 405 is JSON with Allow.
func TestOddMethodsOnEveryRoute(t *testing.T) {
	s := newTestServer(t)
	ops := documentedOperations(t, s)
	if len(ops) < 20 {
		t.Fatalf("the served OpenAPI document lists only %d operations", len(ops))
	}
	for _, op := range ops {
		path := op.pathWith("x")
		for _, m := range []string{"HEAD", "OPTIONS", "TRACE", "PATCH", "PROPFIND", "CONNECT"} {
			req, _ := http.NewRequest(m, s.URL+path, nil)
			res, body := do(t, req)
			if res.StatusCode >= 500 {
				t.Errorf("%s %s = %d %s", m, path, res.StatusCode, body)
			}
			if res.StatusCode == http.StatusMethodNotAllowed {
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || res.Header.Get("Allow") == "" {
					t.Errorf("%s %s = 405 with Content-Type %q, Allow %q", m, path, ct, res.Header.Get("Allow"))
				}
			}
		}
	}
}

// TestIssuerNeverFromRequest: the issuer in the discovery documents, the
// JWKS, the OpenAPI document, the /docs page and the tokens is the
// configured one, never one taken from Host or forwarding headers.
func TestIssuerNeverFromRequest(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "mallory", "correct horse battery", "read")
	const evil = "evil.example"
	spoof := func(req *http.Request) {
		req.Host = evil
		req.Header.Set("X-Forwarded-Host", evil)
		req.Header.Set("X-Forwarded-Proto", "gopher")
		req.Header.Set("Forwarded", "host="+evil+";proto=gopher")
	}
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/.well-known/jwks.json", "/openapi.json", "/docs"} {
		req, _ := http.NewRequest("GET", s.URL+p, nil)
		spoof(req)
		res, body := do(t, req)
		if res.StatusCode != 200 || strings.Contains(string(body), evil) || strings.Contains(string(body), "gopher") {
			t.Errorf("GET %s with a spoofed host = %d, echoes it: %v", p, res.StatusCode, strings.Contains(string(body), evil))
		}
	}
	form := url.Values{"grant_type": {"password"}, "username": {"mallory"}, "password": {"correct horse battery"}}
	req, _ := http.NewRequest("POST", s.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	spoof(req)
	res, body := do(t, req)
	if res.StatusCode != 200 {
		t.Fatalf("token = %d %s", res.StatusCode, body)
	}
	claims := jwtPayload(t, decode(t, body)["access_token"].(string))
	if claims["iss"] != s.Config().Issuer || claims["aud"] == evil {
		t.Errorf("token minted behind a spoofed host: iss %v aud %v, want the configured issuer", claims["iss"], claims["aud"])
	}
}

// TestDocsAssetsDoNotTraverse: no path under /docs reaches a file outside
// its embedded assets.
func TestDocsAssetsDoNotTraverse(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/docs/..%2f..%2fgo.mod", "/docs/%2e%2e%2f%2e%2e%2fgo.mod", "/docs/..%5c..%5cgo.mod",
		"/docs/assets/../../go.mod", "/docs/%2fetc%2fpasswd", "/docs/server.go", "/docs/.git%2fconfig"} {
		res, body := get(t, s.URL+p, nil)
		if res.StatusCode == 200 || res.StatusCode >= 500 || strings.Contains(string(body), "module github.com") ||
			strings.Contains(string(body), "package gatehouse") || strings.Contains(string(body), "root:") {
			t.Errorf("GET %s = %d %.80q", p, res.StatusCode, body)
		}
	}
}
