package gatehouse_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// attackClock is a settable clock for the server under attack.
type attackClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *attackClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *attackClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oauthFixture is a server with a fake clock, a user and two confidential
// clients that may use the password and refresh grants.
type oauthFixture struct {
	s      *testServer
	clock  *attackClock
	a, b   manage.CreatedClient
	rs     manage.CreatedClient // a resource server (client credentials)
	userID string
	user   string // the user's name: unique per fixture (fixtures may share a database)
}

func newOAuthFixture(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer, opts ...func(*gatehouse.Config)) *oauthFixture {
	t.Helper()
	clock := &attackClock{t: time.Now()}
	s := newServer(t, append([]func(*gatehouse.Config){func(c *gatehouse.Config) {
		c.Now = clock.Now
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
		a:  mustClient(t, s, manage.NewClient{Name: "app a", GrantTypes: grants}),
		b:  mustClient(t, s, manage.NewClient{Name: "app b", GrantTypes: grants}),
		rs: mustClient(t, s, manage.NewClient{Name: "resource server", GrantTypes: []string{"client_credentials"}}),
	}
}

// token posts form to /oauth2/token as cc (nil: no client auth).
func (f *oauthFixture) token(t testing.TB, cc *manage.CreatedClient, form url.Values) (int, map[string]any, http.Header) {
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

func (f *oauthFixture) login(t testing.TB, cc manage.CreatedClient, scope string) map[string]any {
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

func (f *oauthFixture) refresh(t testing.TB, cc manage.CreatedClient, rt string, extra url.Values) (int, map[string]any) {
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

func TestAttackRefreshTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newOAuthFixture(t, newServer)

		t.Run("grace returns the same successor, replay after it revokes the family", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			rt := tok["refresh_token"].(string)
			st1, r1 := f.refresh(t, f.a, rt, nil)
			f.clock.Advance(2 * time.Second)
			st2, r2 := f.refresh(t, f.a, rt, nil) // the second tab
			if st1 != 200 || st2 != 200 {
				t.Fatalf("concurrent refreshes = %d %v / %d %v", st1, r1, st2, r2)
			}
			if r1["refresh_token"] != r2["refresh_token"] || r1["refresh_token"] == rt {
				t.Fatalf("refreshes within the grace window got different successors")
			}
			for _, at := range []any{r1["access_token"], r2["access_token"]} {
				if !guardAccepts(t, f.s, at.(string)) {
					t.Error("access token from a grace refresh refused")
				}
			}
			// After the window, the used token is a replay: the whole
			// family dies, access tokens included.
			f.clock.Advance(10 * time.Second)
			st, m := f.refresh(t, f.a, rt, nil)
			wantOAuthError(t, "replayed refresh token", st, m, 400, "invalid_grant")
			for i, at := range []any{tok["access_token"], r1["access_token"], r2["access_token"]} {
				if guardAccepts(t, f.s, at.(string)) {
					t.Errorf("access token %d of a replayed family still accepted", i)
				}
			}
			st, m = f.refresh(t, f.a, r1["refresh_token"].(string), nil)
			wantOAuthError(t, "successor of a replayed token", st, m, 400, "invalid_grant")
		})
		t.Run("grace is per client", func(t *testing.T) {
			rt := f.login(t, f.a, "")["refresh_token"].(string)
			if st, m := f.refresh(t, f.a, rt, nil); st != 200 {
				t.Fatalf("refresh = %d %v", st, m)
			}
			st, m := f.refresh(t, f.b, rt, nil)
			wantOAuthError(t, "client B replaying A's used token in the grace window", st, m, 400, "invalid_grant")
		})
		t.Run("refresh by another client", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			st, m := f.refresh(t, f.b, tok["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh with another client's token", st, m, 400, "invalid_grant")
			// The first-party client's token is not A's either.
			fp := mustToken(t, f.s, "alice", "correct horse battery")
			st, m = f.refresh(t, f.a, fp["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh of a first-party token by client A", st, m, 400, "invalid_grant")
			// The rightful client still can.
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("rightful refresh after a foreign attempt = %d %v", st, m)
			}
		})
		t.Run("scope narrowing and widening", func(t *testing.T) {
			rt := f.login(t, f.a, "read")["refresh_token"].(string)
			st, m := f.refresh(t, f.a, rt, url.Values{"scope": {"read write"}})
			wantOAuthError(t, "refresh widening scope", st, m, 400, "invalid_scope")
			st, m = f.refresh(t, f.a, rt, url.Values{"scope": {"read"}})
			if st != 200 || m["scope"] != "read" {
				t.Fatalf("refresh keeping scope = %d %v", st, m)
			}
			full := f.login(t, f.a, "read write")["refresh_token"].(string)
			st, m = f.refresh(t, f.a, full, url.Values{"scope": {"write"}})
			if st != 200 || m["scope"] != "write" {
				t.Errorf("refresh narrowing scope = %d %v, want scope write", st, m)
			}
		})
		t.Run("idle and absolute lifetimes", func(t *testing.T) {
			g := newOAuthFixture(t, newServer, func(c *gatehouse.Config) {
				c.RefreshIdleTTL = time.Hour
				c.RefreshTokenTTL = 3 * time.Hour
			})
			rt := g.login(t, g.a, "")["refresh_token"].(string)
			g.clock.Advance(61 * time.Minute)
			st, m := g.refresh(t, g.a, rt, nil)
			wantOAuthError(t, "refresh after the idle lifetime", st, m, 400, "invalid_grant")

			rt = g.login(t, g.a, "")["refresh_token"].(string)
			for range 3 { // used every 50 minutes: never idle, but the family ends after 3h
				g.clock.Advance(50 * time.Minute)
				st, m := g.refresh(t, g.a, rt, nil)
				if st != 200 {
					t.Fatalf("refresh within the lifetimes = %d %v", st, m)
				}
				rt = m["refresh_token"].(string)
			}
			g.clock.Advance(50 * time.Minute)
			st, m = g.refresh(t, g.a, rt, nil)
			wantOAuthError(t, "refresh after the absolute lifetime", st, m, 400, "invalid_grant")
		})
		t.Run("malformed and unknown refresh tokens", func(t *testing.T) {
			for _, v := range []string{"grt_x", "nope", strings.Repeat("a", 2000), "grt_" + strings.Repeat("A", 60)} {
				st, m := f.refresh(t, f.a, v, nil)
				wantOAuthError(t, "refresh "+v[:min(len(v), 10)], st, m, 400, "invalid_grant")
			}
		})
		t.Run("deleted client", func(t *testing.T) {
			c := mustClient(t, f.s, manage.NewClient{GrantTypes: []string{"password", "refresh_token"}})
			tok := f.login(t, c, "")
			if err := f.s.Manager().DeleteClient(t.Context(), manage.CLI(), c.ID); err != nil {
				t.Fatal(err)
			}
			st, m := f.refresh(t, c, tok["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh by a deleted client", st, m, 401, "invalid_client")
			if guardAccepts(t, f.s, tok["access_token"].(string)) {
				t.Error("a deleted client's access token is still accepted")
			}
		})
	})
}

func TestAttackRevokeAndIntrospect(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newOAuthFixture(t, newServer)
		s := f.s

		t.Run("revoked access token refused by the guard at once", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			at := tok["access_token"].(string)
			res, body := revoke(t, s, url.Values{"token": {at}}, basicHeader(f.a))
			if res.StatusCode != 200 {
				t.Fatalf("revoke = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("revoked access token accepted")
			}
			// The refresh token of the same login is untouched (RFC 7009
			// leaves it to the server; gatehouse revokes only the token).
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("refresh after revoking only the access token = %d %v", st, m)
			}
		})
		t.Run("revoking someone else's token does nothing", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			for _, v := range []string{tok["access_token"].(string), tok["refresh_token"].(string)} {
				res, body := revoke(t, s, url.Values{"token": {v}}, basicHeader(f.b))
				if res.StatusCode != 200 {
					t.Errorf("revoke of another client's token = %d %s, want 200", res.StatusCode, body)
				}
				res, body = revoke(t, s, url.Values{"token": {v}, "client_id": {"gatehouse"}}, nil)
				if res.StatusCode != 200 {
					t.Errorf("revoke by the public first-party client = %d %s, want 200", res.StatusCode, body)
				}
			}
			if !guardAccepts(t, s, tok["access_token"].(string)) {
				t.Error("client B revoked client A's access token")
			}
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("client B revoked client A's refresh token: %d %v", st, m)
			}
		})
		t.Run("introspection needs an authenticated confidential client", func(t *testing.T) {
			at := f.login(t, f.a, "")["access_token"].(string)
			for _, tc := range []struct {
				name string
				form url.Values
				hdr  http.Header
			}{
				{"no client", url.Values{"token": {at}}, nil},
				{"public client by id", url.Values{"token": {at}, "client_id": {"gatehouse"}}, nil},
				{"public client with a secret", url.Values{"token": {at}, "client_id": {"gatehouse"}, "client_secret": {"x"}}, nil},
				{"wrong secret, post", url.Values{"token": {at}, "client_id": {f.rs.ID}, "client_secret": {"gcs_wrong"}}, nil},
				{"wrong secret, basic", url.Values{"token": {at}}, http.Header{"Authorization": {"Basic " + basic(f.rs.ID, "gcs_wrong")}}},
				{"unknown client", url.Values{"token": {at}}, http.Header{"Authorization": {"Basic " + basic("nobody", "x")}}},
				{"bearer token instead", url.Values{"token": {at}}, http.Header{"Authorization": {"Bearer " + at}}},
			} {
				res, body := doForm(t, s.URL+"/oauth2/introspect", tc.form, tc.hdr)
				m := decode(t, body)
				if res.StatusCode != 401 || m["error"] != "invalid_client" || m["active"] != nil {
					t.Errorf("%s: introspect = %d %s, want 401 invalid_client", tc.name, res.StatusCode, body)
				}
				basicUsed := tc.hdr != nil && strings.HasPrefix(tc.hdr.Get("Authorization"), "Basic")
				if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic"); got != basicUsed {
					t.Errorf("%s: WWW-Authenticate = %q", tc.name, res.Header.Get("WWW-Authenticate"))
				}
			}
		})
		t.Run("tampered, alg none and expired tokens are inactive", func(t *testing.T) {
			at := f.login(t, f.a, "")["access_token"].(string)
			parts := strings.Split(at, ".")
			none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			forged := strings.Replace(string(payload), `"scope":"read write"`, `"scope":"admin"`, 1)
			tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
			for name, v := range map[string]string{"alg none": none, "tampered payload": tampered,
				"bad signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))} {
				wantInactive(t, name, introspect(t, s, f.rs, v))
			}
			if m := introspect(t, s, f.rs, at); m["active"] != true {
				t.Fatalf("introspect(valid) = %v", m)
			}
			f.clock.Advance(16 * time.Minute)
			wantInactive(t, "expired", introspect(t, s, f.rs, at))
		})
		t.Run("introspection of a replayed family", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			rt := tok["refresh_token"].(string)
			f.refresh(t, f.a, rt, nil)
			f.clock.Advance(time.Minute)
			f.refresh(t, f.a, rt, nil) // replay: family revoked
			wantInactive(t, "access token of a revoked family", introspect(t, s, f.rs, tok["access_token"].(string)))
			wantInactive(t, "used refresh token", introspect(t, s, f.a, rt))
		})
	})
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
