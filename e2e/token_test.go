package e2e_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The token endpoint (POST /oauth2/token and its /token alias): its
// errors, what it narrows, its answers to malformed and hostile input.
// The grants themselves are driven with golang.org/x/oauth2 in
// interop_test.go; refresh tokens have refresh_test.go.

// oauthFixture is a server with a fake clock, a user and two confidential
// clients that may use the password and refresh grants.
type oauthFixture struct {
	s      *testServer
	clock  *clock
	a, b   client
	rs     client // a resource server (client credentials)
	userID string
	user   string // the user's name: unique per fixture (fixtures may share a database)
}

func newOAuthFixture(t *testing.T, newServer newServerFunc, opts ...func(*gatehouse.Config)) *oauthFixture {
	t.Helper()
	clock := newClock()
	s := newServer(t, append([]func(*gatehouse.Config){withClock(clock), func(c *gatehouse.Config) {
		c.RefreshReuseGrace = 5 * time.Second
	}}, opts...)...)
	name := "alice"
	if _, err := s.LookupUser(t.Context(), name); err == nil {
		name = "alice" + strings.ToLower(store.NewID()[:8])
	}
	u := mustCreateUser(t, s, name, "correct horse battery", "read", "write")
	grants := []string{"password", "refresh_token"}
	return &oauthFixture{
		s: s, clock: clock, userID: u.ID, user: name,
		a:  mustClient(t, s, gatehouse.NewClient{Name: "app a", GrantTypes: grants}),
		b:  mustClient(t, s, gatehouse.NewClient{Name: "app b", GrantTypes: grants}),
		rs: mustClient(t, s, gatehouse.NewClient{Name: "resource server", GrantTypes: []string{"client_credentials"}}),
	}
}

// token posts form to /oauth2/token as cc (nil: no client auth).
func (f *oauthFixture) token(t testing.TB, cc *client, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	var hdr http.Header
	if cc != nil {
		hdr = basicHeader(*cc)
	}
	res, body := doForm(t, f.s.URL+"/oauth2/token", form, hdr)
	if res.StatusCode >= 500 {
		t.Fatalf("POST /oauth2/token = %d %s", res.StatusCode, body)
	}
	return res.StatusCode, decode(t, body), res.Header
}

func (f *oauthFixture) login(t testing.TB, cc client, scope string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {f.user}, "password": {"correct horse battery"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	st, m, _ := f.token(t, &cc, form)
	if st != 200 {
		t.Fatalf("password grant = %d %v", st, m)
	}
	return m
}

func (f *oauthFixture) refresh(t testing.TB, cc client, rt string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	st, m, _ := f.token(t, &cc, form)
	return st, m
}

func wantOAuthError(t testing.TB, what string, status int, m map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || m["error"] != wantCode {
		t.Errorf("%s = %d %v, want %d %s", what, status, m, wantStatus, wantCode)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	eachBackend(t, testTokenEndpointErrors)
}

func testTokenEndpointErrors(t *testing.T, newServer newServerFunc) {
	s := newServer(t)
	mustCreateUser(t, s, "bob", "password-1", "read")
	cases := []struct {
		name       string
		body       string
		ctype      string
		wantStatus int
		wantCode   string
	}{
		{"wrong password", "grant_type=password&username=bob&password=nope-nope", "", 400, "invalid_grant"},
		{"unknown user", "grant_type=password&username=nobody&password=nope-nope", "", 400, "invalid_grant"},
		{"missing password", "grant_type=password&username=bob", "", 400, "invalid_request"},
		{"missing grant type", "username=bob&password=password-1", "", 400, "invalid_request"},
		{"duplicated username", "grant_type=password&username=bob&username=eve&password=password-1", "", 400, "invalid_request"},
		{"duplicated grant type", "grant_type=password&grant_type=password&username=bob&password=password-1", "", 400, "invalid_request"},
		{"unsupported grant", "grant_type=urn:ietf:params:oauth:grant-type:device_code", "", 400, "unsupported_grant_type"},
		{"scope beyond user", "grant_type=password&username=bob&password=password-1&scope=read+admin", "", 400, "invalid_scope"},
		{"malformed scope", "grant_type=password&username=bob&password=password-1&scope=%22bad", "", 400, "invalid_scope"},
		{"json body", `{"grant_type":"password"}`, "application/json", 400, "invalid_request"},
		{"sql-looking username", "grant_type=password&username=bob'+OR+'1'='1&password=x'--", "", 400, "invalid_grant"},
		{"invalid utf-8", "grant_type=password&username=%ff%fe&password=x", "", 400, "invalid_request"},
		{"unknown client", "grant_type=password&client_id=nope&username=bob&password=password-1", "", 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(tc.body))
			ct := tc.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			res, body := do(t, req)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", res.StatusCode, tc.wantStatus, body)
			}
			m := decode(t, body)
			if m["error"] != tc.wantCode {
				t.Errorf("error = %v, want %s", m["error"], tc.wantCode)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", res.Header.Get("Cache-Control"))
			}
		})
	}
	// No account enumeration: unknown user and wrong password look the same.
	_, b1 := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"wrong-pass"}}, nil)
	_, b2 := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"ghost"}, "password": {"wrong-pass"}}, nil)
	if string(b1) != string(b2) {
		t.Errorf("wrong password answered %s but unknown user %s", b1, b2)
	}
}

func TestScopeNarrowing(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "carol", "password-1", "read", "write")
	tok := mustToken(t, s, "carol", "password-1", "read")
	if tok["scope"] != "read" {
		t.Fatalf("scope = %v, want read", tok["scope"])
	}
	_, body := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)})
	if got := decode(t, body)["scopes"]; len(got.([]any)) != 1 {
		t.Errorf("scopes = %v, want [read]", got)
	}
}

// TestAttackTokenEndpointInput: the RFC 6749 error for each bad request at
// the token, revocation and introspection endpoints; never a 5xx.
func TestAttackTokenEndpointInput(t *testing.T) {
	f := newOAuthFixture(t, newTestServer)
	s := f.s
	rsAuth := basicHeader(f.rs)
	big := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("x", 2<<20)}}
	for _, tc := range []struct {
		name       string
		path       string
		form       url.Values
		hdr        http.Header
		wantStatus int
		wantCode   string // "" = any error code (the server's body limit answers before the endpoint)
	}{
		{"unknown grant type", "/oauth2/token", url.Values{"grant_type": {"urn:evil"}}, rsAuth, 400, "unsupported_grant_type"},
		{"implicit is not a grant", "/oauth2/token", url.Values{"grant_type": {"implicit"}}, rsAuth, 400, "unsupported_grant_type"},
		{"missing grant type", "/oauth2/token", url.Values{}, rsAuth, 400, "invalid_request"},
		{"duplicated grant type", "/oauth2/token", url.Values{"grant_type": {"client_credentials", "password"}}, rsAuth, 400, "invalid_request"},
		{"duplicated scope", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"a", "b"}}, rsAuth, 400, "invalid_request"},
		{"duplicated client_id", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.rs.ID, "x"}, "client_secret": {f.rs.Secret}}, nil, 400, "invalid_request"},
		{"basic and post together", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_secret": {f.rs.Secret}}, rsAuth, 400, "invalid_request"},
		{"wrong secret, basic", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, http.Header{"Authorization": {"Basic " + basic(f.rs.ID, "gcs_wrong")}}, 401, "invalid_client"},
		{"wrong secret, post", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.rs.ID}, "client_secret": {"gcs_wrong"}}, nil, 401, "invalid_client"},
		{"no client for client_credentials", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil, 401, "invalid_client"},
		{"public client presenting a secret", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"}, "client_id": {"gatehouse"}, "client_secret": {"guess"}}, nil, 401, "invalid_client"},
		{"client may not use the grant", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"}}, rsAuth, 400, "unauthorized_client"},
		{"client_credentials for a user app", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(f.a), 400, "unauthorized_client"},
		{"scope beyond the user's", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"}, "scope": {"admin"}}, nil, 400, "invalid_scope"},
		{"malformed scope", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"a\"b"}}, rsAuth, 400, "invalid_scope"},
		{"missing refresh token", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}}, basicHeader(f.a), 400, "invalid_request"},
		{"oversized token form", "/oauth2/token", big, rsAuth, 413, ""},
		{"oversized revoke form", "/oauth2/revoke", big, rsAuth, 413, ""},
		{"oversized introspect form", "/oauth2/introspect", big, rsAuth, 413, ""},
		{"duplicated token to revoke", "/oauth2/revoke", url.Values{"token": {"a", "b"}}, rsAuth, 400, "invalid_request"},
		{"duplicated token to introspect", "/oauth2/introspect", url.Values{"token": {"a", "b"}}, rsAuth, 400, "invalid_request"},
		{"duplicated hint", "/oauth2/introspect", url.Values{"token": {"a"}, "token_type_hint": {"access_token", "refresh_token"}}, rsAuth, 400, "invalid_request"},
		{"missing token to introspect", "/oauth2/introspect", url.Values{}, rsAuth, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := doForm(t, s.URL+tc.path, tc.form, tc.hdr)
			m := decode(t, body)
			code, _ := m["error"].(string)
			if res.StatusCode != tc.wantStatus || code == "" || (tc.wantCode != "" && code != tc.wantCode) {
				t.Errorf("POST %s = %d %s, want %d %s", tc.path, res.StatusCode, body, tc.wantStatus, tc.wantCode)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", res.Header.Get("Cache-Control"))
			}
			basicSent := tc.hdr != nil && strings.HasPrefix(tc.hdr.Get("Authorization"), "Basic")
			if res.StatusCode == 401 && strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") != basicSent {
				t.Errorf("WWW-Authenticate = %q with Basic sent = %v", res.Header.Get("WWW-Authenticate"), basicSent)
			}
		})
	}
	// Wrong content types and methods.
	req, _ := http.NewRequest("POST", s.URL+"/oauth2/introspect", strings.NewReader(`{"token":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header["Authorization"] = rsAuth["Authorization"]
	if res, body := do(t, req); res.StatusCode != 400 || decode(t, body)["error"] != "invalid_request" {
		t.Errorf("JSON introspection = %d %s", res.StatusCode, body)
	}
	for _, path := range []string{"/oauth2/revoke", "/oauth2/introspect"} {
		if res, body := get(t, s.URL+path+"?token=x", nil); res.StatusCode != 405 {
			t.Errorf("GET %s = %d %s, want 405", path, res.StatusCode, body)
		}
	}
}

// TestTokenEndpointMalformedRequests throws oversized, malformed and
// hostile requests at the token endpoint: each gets a 4xx with a JSON
// error body, never a 500 or a panic, and the server stays healthy.
func TestTokenEndpointMalformedRequests(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "victim", "password-1", "read")
	good := mustToken(t, s, "victim", "password-1")["access_token"].(string)
	big := strings.Repeat("A", 10<<10)
	wantRefusedCleanly(t, s, good, []badRequest{
		{name: "5 MB token body", method: "POST", path: "/oauth2/token", body: bytes.Repeat([]byte("a"), 5<<20), ctype: "application/x-www-form-urlencoded"},
		{name: "10 KB user agent on token", method: "POST", path: "/token", body: []byte("grant_type=password&username=victim&password=x"), ctype: "application/x-www-form-urlencoded", hdr: map[string]string{"User-Agent": big}},
		{name: "malformed form", method: "POST", path: "/token", body: []byte("%zz=%%%&grant_type"), ctype: "application/x-www-form-urlencoded"},
		{name: "no content type", method: "POST", path: "/token", body: []byte("grant_type=password")},
		{name: "empty body", method: "POST", path: "/token", ctype: "application/x-www-form-urlencoded"},
		{name: "invalid utf-8 username", method: "POST", path: "/token", body: []byte("grant_type=password&username=\xff\xfe&password=\xc3\x28"), ctype: "application/x-www-form-urlencoded"},
		{name: "sql in username", method: "POST", path: "/token", body: []byte("grant_type=password&username=victim'%3B+DROP+TABLE+users%3B--&password=x"), ctype: "application/x-www-form-urlencoded"},
		{name: "wrong method", method: "PUT", path: "/oauth2/token"},
	})
}

// TestTokenAliasFastAPIForm: FastAPI's OAuth2PasswordRequestForm makes
// grant_type optional, so on the /token alias a request with username and
// password and no grant_type is the password grant; /oauth2/token stays
// strict, as RFC 6749 is.
func TestTokenAliasFastAPIForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		const pw = "correct horse battery"
		mustCreateUser(t, s, "erin", pw, "read")
		conf := mustClient(t, s, gatehouse.NewClient{Name: "web", GrantTypes: []string{"password"}})
		post := func(t *testing.T, path string, form url.Values) (int, map[string]any) {
			t.Helper()
			res, body := doForm(t, s.URL+path, form, nil)
			if res.StatusCode >= 500 {
				t.Fatalf("POST %s = %d %s", path, res.StatusCode, body)
			}
			return res.StatusCode, decode(t, body)
		}
		creds := url.Values{"username": {"erin"}, "password": {pw}}

		// As the tutorial's form sends it: no grant_type (or an empty one).
		for _, form := range []url.Values{creds, withForm(creds, "grant_type", ""), withForm(creds, "scope", "read")} {
			st, m := post(t, "/token", form)
			if st != 200 || m["token_type"] != "Bearer" || m["scope"] != "read" {
				t.Errorf("POST /token %v = %d %v, want a password-grant token", form, st, m)
			}
		}
		// With client authentication too.
		st, m := post(t, "/token", withForm(creds, "client_id", conf.ID, "client_secret", conf.Secret))
		if st != 200 {
			t.Errorf("POST /token without grant_type, as a confidential client = %d %v", st, m)
		}
		// The password is still checked.
		st, m = post(t, "/token", url.Values{"username": {"erin"}, "password": {"wrong password"}})
		wantOAuthError(t, "POST /token without grant_type, wrong password", st, m, 400, "invalid_grant")

		// Neither a grant_type nor both credentials: still invalid_request.
		for _, form := range []url.Values{{}, {"username": {"erin"}}, {"password": {pw}}, {"scope": {"read"}}} {
			st, m := post(t, "/token", form)
			wantOAuthError(t, "POST /token "+form.Encode(), st, m, 400, "invalid_request")
		}
		// The standard endpoint stays strict.
		st, m = post(t, "/oauth2/token", creds)
		wantOAuthError(t, "POST /oauth2/token without grant_type", st, m, 400, "invalid_request")
		// An explicit grant_type is never second-guessed.
		st, m = post(t, "/token", withForm(creds, "grant_type", "client_credentials"))
		wantOAuthError(t, "POST /token grant_type=client_credentials by the first-party client", st, m, 401, "invalid_client")

		// With the password grant off, the alias has nothing to default to.
		off := newServer(t, func(c *gatehouse.Config) { c.DisablePasswordGrant = true })
		res, body := doForm(t, off.URL+"/token", creds, nil)
		if m := decode(t, body); res.StatusCode != 400 || m["error"] != "unsupported_grant_type" {
			t.Errorf("POST /token without grant_type, password grant off = %d %s, want unsupported_grant_type", res.StatusCode, body)
		}
	})
}

// withForm returns a copy of v with the key-value pairs added.
func withForm(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}

// FuzzTokenEndpoint posts arbitrary form bodies to the token endpoint and
// its /token alias: every answer is a JSON error or a token, never a 5xx or
// a panic.
func FuzzTokenEndpoint(f *testing.F) {
	s := newTestServer(f)
	mustCreateUser(f, s, "fuzz", "password-1", "read")
	for _, seed := range []string{
		"grant_type=password&username=fuzz&password=password-1",
		"grant_type=password&username=fuzz&password=password-1&scope=read",
		"grant_type=refresh_token&refresh_token=grt_aaaaaaaaaaaa_x",
		"grant_type=authorization_code&code=gac_x&redirect_uri=http://x&code_verifier=abc",
		"grant_type=client_credentials&client_id=gatehouse&client_secret=x",
		"grant_type=password&grant_type=password",
		"%zz&&==",
		"grant_type=password&username=%ff&password=%00",
		"username=fuzz&password=password-1",
		"grant_type=&username=fuzz&password=password-1&scope=read",
	} {
		f.Add(seed, "application/x-www-form-urlencoded", false)
		f.Add(seed, "application/x-www-form-urlencoded", true)
	}
	f.Add("{}", "application/json", false)
	f.Fuzz(func(t *testing.T, body, ctype string, alias bool) {
		path := "/oauth2/token"
		if alias {
			path = "/token"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.Server.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("POST %s %q (%s) = %d %s", path, body, ctype, w.Code, w.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("POST %q = %d, body %q is not JSON", body, w.Code, w.Body)
		}
		if w.Code == 200 && m["access_token"] == nil || w.Code != 200 && m["error"] == nil {
			t.Fatalf("POST %q = %d %v", body, w.Code, m)
		}
	})
}
