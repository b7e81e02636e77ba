package gatehouse_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestReviewAPIKeyScopesFollowOwner: a user's scopes are the most any key
// of theirs may carry (SPEC "Users"; README "never more than the owner's").
// When an admin takes a scope away from a user — here "admin" — a key that
// was created with it must lose it at once, the way the refresh grant
// already narrows to the user's current scopes. Before the fix the key kept
// the admin API for as long as it lived (forever without an expiry).
func TestReviewAPIKeyScopesFollowOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		m := f.s.Manager()
		// An admin makes alice a (scope-only) administrator; she mints a key with it.
		if _, err := m.SetScopes(t.Context(), manage.CLI(), f.user.ID, []string{"read", "write", "admin"}); err != nil {
			t.Fatal(err)
		}
		_, key, err := f.s.CreateAPIKey(t.Context(), f.user.Username, "kept", []string{"admin", "read", "write"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res, body := f.send(t, "GET", "/admin/users", "", apiKeyHeader(key)); res.StatusCode != 200 {
			t.Fatalf("admin key before demotion = %d %s", res.StatusCode, body)
		}
		// Demoted, over HTTP, by the real admin: admin and write are gone.
		if res, body := f.send(t, "PUT", "/admin/users/"+f.user.ID+"/scopes", `{"scopes":["read"]}`, apiKeyHeader(f.adminKey)); res.StatusCode != 200 {
			t.Fatalf("demote = %d %s", res.StatusCode, body)
		}
		if res, body := f.send(t, "GET", "/admin/users", "", apiKeyHeader(key)); res.StatusCode != http.StatusForbidden {
			t.Errorf("admin key after its owner lost admin = %d %s, want 403", res.StatusCode, body)
		}
		res, body := f.send(t, "GET", "/users/me", "", apiKeyHeader(key))
		if res.StatusCode != 200 {
			t.Fatalf("/users/me = %d %s", res.StatusCode, body)
		}
		if got := decode(t, body)["scopes"]; len(got.([]any)) != 1 || got.([]any)[0] != "read" {
			t.Errorf("/users/me scopes after demotion = %v, want [read]", got)
		}
		// Introspection (what remote guards ask) says the same.
		rs := mustClient(t, f.s, manage.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
		if got := introspect(t, f.s, rs, key)["scope"]; got != "read" {
			t.Errorf("introspect scope after demotion = %v, want read", got)
		}
		// Scopes given back are not restored to the key beyond what it was created with.
		if _, err := m.SetScopes(t.Context(), manage.CLI(), f.user.ID, []string{"read", "write", "admin", "extra"}); err != nil {
			t.Fatal(err)
		}
		_, body = f.send(t, "GET", "/users/me", "", apiKeyHeader(key))
		if got := decode(t, body)["scopes"]; len(got.([]any)) != 3 {
			t.Errorf("/users/me scopes after re-promotion = %v, want the key's own three", got)
		}
	})
}

// TestReviewHTTPSurface locks in behaviour checked during the security
// review that no other test covers: every registered route answers odd
// methods without a 5xx (405s are JSON with Allow), the issuer never comes
// from Host or forwarding headers, /docs assets cannot be walked out of,
// and request data cannot forge a log record.
func TestReviewHTTPSurface(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "mallory", "correct horse battery", "read")
	routes, _ := sourceRoutes(t)
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in the source", len(routes))
	}

	t.Run("odd methods on every route", func(t *testing.T) {
		for _, rt := range routes {
			_, path, _ := strings.Cut(rt.key, " ")
			path = strings.ReplaceAll(path, "{}", "x")
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
	})

	t.Run("issuer never from Host or forwarding headers", func(t *testing.T) {
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
	})

	t.Run("docs assets do not traverse", func(t *testing.T) {
		for _, p := range []string{"/docs/..%2f..%2fgo.mod", "/docs/%2e%2e%2f%2e%2e%2fgo.mod", "/docs/..%5c..%5cgo.mod",
			"/docs/assets/../../go.mod", "/docs/%2fetc%2fpasswd", "/docs/server.go", "/docs/.git%2fconfig"} {
			res, body := get(t, s.URL+p, nil)
			if res.StatusCode == 200 || res.StatusCode >= 500 || strings.Contains(string(body), "module github.com") ||
				strings.Contains(string(body), "package gatehouse") || strings.Contains(string(body), "root:") {
				t.Errorf("GET %s = %d %.80q", p, res.StatusCode, body)
			}
		}
	})

	t.Run("request data cannot forge a log record", func(t *testing.T) {
		const forged = "level=ERROR msg=forged"
		form := url.Values{"grant_type": {"password"}, "username": {"x\n" + forged + "\r\n" + forged}, "password": {"y\n" + forged}}
		doForm(t, s.URL+"/token", form, nil)
		get(t, s.URL+"/users/me%0A"+url.PathEscape(forged)+"?q=%0A"+url.QueryEscape(forged), map[string]string{"X-API-Key": "gk_\u2028x"})
		get(t, s.URL+"/docs/%0D%0A"+url.PathEscape(forged), nil)
		if !strings.Contains(s.Logs.String(), `msg="http request"`) {
			t.Fatalf("the requests were not logged; the check below would be vacuous:\n%s", s.Logs.String())
		}
		// The log holds no request text at all (the access log names the
		// route, not the path), so the forged text cannot be found even
		// escaped.
		if strings.Contains(s.Logs.String(), "forged") {
			t.Errorf("request text reached the log:\n%s", s.Logs.String())
		}
		for _, line := range strings.Split(strings.ReplaceAll(s.Logs.String(), "\r", "\n"), "\n") {
			if strings.HasPrefix(line, forged) {
				t.Errorf("a request forged a log record: %q", line)
			}
		}
	})
}

// TestReviewForeignTokensAsBearer: the other things gatehouse hands out —
// an ID token (typ JWT, aud = the client), a refresh token, a client's
// access token on a user-only endpoint — never pass as a user's access
// token on any endpoint that takes one, and introspection calls them what
// they are.
func TestReviewForeignTokensAsBearer(t *testing.T) {
	f := newOAuthFixture(t, newTestServer)
	tok := f.login(t, f.a, "openid profile read")
	idt, _ := tok["id_token"].(string)
	if idt == "" {
		t.Fatalf("no ID token with openid: %v", tok)
	}
	rt := tok["refresh_token"].(string)
	ct := clientToken(t, f.s, f.rs)
	for name, cred := range map[string]string{"id token": idt, "refresh token": rt} {
		for _, p := range []string{"/users/me", "/oauth2/userinfo", "/api-keys", "/admin/users"} {
			res, body := get(t, f.s.URL+p, map[string]string{"Authorization": "Bearer " + cred})
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s as a bearer on %s = %d %s, want 401", name, p, res.StatusCode, body)
			}
		}
		res, body := doForm(t, f.s.URL+"/oauth2/userinfo", url.Values{"access_token": {cred}}, nil)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s as a form access_token on userinfo = %d %s, want 401", name, res.StatusCode, body)
		}
	}
	wantInactive(t, "A's ID token, asked by B", introspect(t, f.s, f.b, idt))
	wantInactive(t, "A's refresh token, asked by B", introspect(t, f.s, f.b, rt))
	for _, p := range []string{"/oauth2/userinfo", "/api-keys"} {
		if res, body := get(t, f.s.URL+p, map[string]string{"Authorization": "Bearer " + ct}); res.StatusCode < 400 {
			t.Errorf("client credentials token on %s = %d %s", p, res.StatusCode, body)
		}
	}
	// A token (any credential) in the query string or in a POST form on
	// the API is never read.
	at := tok["access_token"].(string)
	if res, _ := get(t, f.s.URL+"/users/me?access_token="+at, nil); res.StatusCode == 200 {
		t.Error("access_token in the query string accepted")
	}
	if res, _ := get(t, f.s.URL+"/oauth2/userinfo?access_token="+at, nil); res.StatusCode == 200 {
		t.Error("access_token in the userinfo query string accepted")
	}
}

// jwtPayload decodes a compact JWT's payload without verifying it.
func jwtPayload(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, raw)
}

// TestReviewUnstorableText: PostgreSQL text cannot hold a NUL byte or
// invalid UTF-8, so such a value reaching a query failed it and the caller
// got a 500 (logged as an error) — from anyone, unauthenticated too (GET
// /oauth2/authorize?client_id=%00), and for every admin path parameter,
// cursor and filter. SQLite stored the same junk. Such input is now a 400
// on both backends, and a label (API key or client name) may not carry
// control characters, which also keeps terminal escapes out of the CLI's
// listings.
func TestReviewUnstorableText(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		cc := mustClient(t, f.s, manage.NewClient{Name: "web", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}})
		for _, junk := range []string{"%00", "a%00b", "%c0%80", "%ff%fe"} {
			admin := []route{
				{"GET", "/admin/users?after=" + junk, ""}, {"GET", "/admin/api-keys?after=" + junk, ""},
				{"GET", "/admin/clients?after=" + junk, ""}, {"GET", "/admin/audit?actor=" + junk, ""},
				{"GET", "/admin/audit?action=" + junk + "&result=" + junk, ""},
				{"GET", "/admin/users/" + junk, ""}, {"GET", "/admin/users/x/api-keys?after=" + junk, ""},
				{"GET", "/admin/api-keys/" + junk, ""}, {"DELETE", "/admin/api-keys/" + junk, ""},
				{"GET", "/admin/clients/" + junk, ""}, {"DELETE", "/admin/clients/" + junk, ""},
				{"POST", "/admin/users/" + junk + "/disable", ""}, {"PUT", "/admin/users/" + junk + "/scopes", `{"scopes":[]}`},
			}
			for _, rt := range admin {
				res, body := f.send(t, rt.method, rt.path, rt.body, bearer(f.adminToken))
				if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusNotFound {
					t.Errorf("admin %s %s = %d %s, want 400 or 404", rt.method, rt.path, res.StatusCode, body)
				}
			}
			for _, rt := range []route{{"GET", "/api-keys?after=" + junk, ""}, {"DELETE", "/api-keys/" + junk, ""}} {
				res, body := f.send(t, rt.method, rt.path, rt.body, bearer(f.userToken))
				if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusNotFound {
					t.Errorf("user %s %s = %d %s, want 400 or 404", rt.method, rt.path, res.StatusCode, body)
				}
			}
			for _, q := range []string{"client_id=" + junk + "&response_type=code", "client_id=" + cc.ID + "&response_type=code&redirect_uri=" + junk} {
				res, body := get(t, f.s.URL+"/oauth2/authorize?"+q, nil)
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("GET /oauth2/authorize?%s = %d %.200s, want 400", q, res.StatusCode, body)
				}
				req, _ := http.NewRequest("POST", f.s.URL+"/oauth2/authorize", strings.NewReader(q))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if res, body := do(t, req); res.StatusCode != http.StatusBadRequest {
					t.Errorf("POST /oauth2/authorize %s = %d %.200s, want 400", q, res.StatusCode, body)
				}
			}
		}
		// Labels: NUL (unstorable) and control characters (terminal escapes).
		for _, name := range []string{`a\u0000b`, `\u001b]0;pwned\u0007`, `line\nbreak`, `del\u007f`, `c1\u009b31m`} {
			res, body := f.send(t, "POST", "/api-keys", `{"name":"`+name+`"}`, bearer(f.userToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST /api-keys name %s = %d %s, want 400", name, res.StatusCode, body)
			}
			res, body = f.send(t, "POST", "/admin/clients", `{"name":"`+name+`","grant_types":["client_credentials"]}`, bearer(f.adminToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST /admin/clients name %s = %d %s, want 400", name, res.StatusCode, body)
			}
			res, body = f.send(t, "PATCH", "/admin/clients/"+cc.ID, `{"name":"`+name+`"}`, bearer(f.adminToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("PATCH /admin/clients name %s = %d %s, want 400", name, res.StatusCode, body)
			}
		}
		// Ordinary labels still work.
		if res, body := f.send(t, "POST", "/api-keys", `{"name":"laptop – café ☕"}`, bearer(f.userToken)); res.StatusCode != http.StatusCreated {
			t.Errorf("POST /api-keys with a Unicode name = %d %s", res.StatusCode, body)
		}
	})
}
