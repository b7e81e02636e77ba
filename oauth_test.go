package gatehouse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mustClient registers a client through the manager.
func mustClient(t testing.TB, s *testServer, in manage.NewClient) manage.CreatedClient {
	t.Helper()
	if in.Name == "" {
		in.Name = "test client"
	}
	cc, err := s.Manager().CreateClient(t.Context(), manage.CLI(), in)
	if err != nil {
		t.Fatalf("CreateClient(%+v): %v", in, err)
	}
	return cc
}

func basicHeader(cc manage.CreatedClient) http.Header {
	return http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}}
}

// introspect posts token to /oauth2/introspect as cc and returns the
// decoded answer (failing on a non-200).
func introspect(t testing.TB, s *testServer, cc manage.CreatedClient, tok string) map[string]any {
	t.Helper()
	res, body := doForm(t, s.URL+"/oauth2/introspect", url.Values{"token": {tok}}, basicHeader(cc))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("introspect = %d %s", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("introspect Cache-Control = %q, want no-store", cc)
	}
	return decode(t, body)
}

// wantInactive fails unless m is exactly {"active":false}.
func wantInactive(t testing.TB, what string, m map[string]any) {
	t.Helper()
	if len(m) != 1 || m["active"] != false {
		t.Errorf("introspect(%s) = %v, want exactly {\"active\":false}", what, m)
	}
}

// revoke posts token to /oauth2/revoke with the given client headers/form.
func revoke(t testing.TB, s *testServer, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return doForm(t, s.URL+"/oauth2/revoke", form, hdr)
}

// guardAccepts reports whether the embedded guard accepts an access token.
func guardAccepts(t testing.TB, s *testServer, tok string) bool {
	t.Helper()
	return meStatus(t, s, bearerCred(tok)) == http.StatusOK
}

func TestIntrospection(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "read", "write")
		rs := mustClient(t, s, manage.NewClient{GrantTypes: []string{"client_credentials"}})
		tok := mustToken(t, s, "alice", "correct horse battery", "read")

		t.Run("access token", func(t *testing.T) {
			m := introspect(t, s, rs, tok["access_token"].(string))
			want := map[string]any{"active": true, "scope": "read", "client_id": "gatehouse", "username": "alice",
				"sub": alice.ID, "iss": s.Config().Issuer, "token_type": "Bearer"}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("introspect[%q] = %v, want %v (all: %v)", k, m[k], v, m)
				}
			}
			for _, k := range []string{"exp", "iat", "jti", "aud"} {
				if m[k] == nil {
					t.Errorf("introspect has no %q: %v", k, m)
				}
			}
		})
		t.Run("client credentials token", func(t *testing.T) {
			m := introspect(t, s, rs, clientToken(t, s, rs))
			if m["active"] != true || m["sub"] != rs.ID || m["client_id"] != rs.ID || m["username"] != nil {
				t.Errorf("introspect(client token) = %v", m)
			}
		})
		t.Run("refresh token by its client only", func(t *testing.T) {
			rt := tok["refresh_token"].(string)
			wantInactive(t, "another client's refresh token", introspect(t, s, rs, rt))
			// The first-party client is public and cannot introspect; a
			// confidential client with the password grant can.
			app := mustClient(t, s, manage.NewClient{GrantTypes: []string{"password", "refresh_token"}})
			res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {"alice"}, "password": {"correct horse battery"}}, basicHeader(app))
			if res.StatusCode != 200 {
				t.Fatalf("password grant = %d %s", res.StatusCode, body)
			}
			m := introspect(t, s, app, decode(t, body)["refresh_token"].(string))
			if m["active"] != true || m["token_type"] != "refresh_token" || m["client_id"] != app.ID || m["sub"] != alice.ID {
				t.Errorf("introspect(own refresh token) = %v", m)
			}
		})
		t.Run("api key", func(t *testing.T) {
			id, key, err := s.CreateAPIKey(t.Context(), "alice", "ci", []string{"read"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			m := introspect(t, s, rs, key)
			if m["active"] != true || m["key_id"] != id || m["sub"] != alice.ID || m["username"] != "alice" ||
				m["scope"] != "read" || m["token_type"] != "api_key" {
				t.Errorf("introspect(api key) = %v", m)
			}
			if _, err := s.Manager().RevokeAPIKey(t.Context(), manage.CLI(), id, ""); err != nil {
				t.Fatal(err)
			}
			wantInactive(t, "revoked api key", introspect(t, s, rs, key))
		})
		t.Run("garbage", func(t *testing.T) {
			for _, v := range []string{"x", "gk_nothing", "grt_nothing", "a.b.c", strings.Repeat("A", 5000)} {
				wantInactive(t, v[:min(len(v), 12)], introspect(t, s, rs, v))
			}
		})
	})
}

func TestRevocation(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		rs := mustClient(t, s, manage.NewClient{GrantTypes: []string{"client_credentials"}})

		t.Run("access token refused by the guard at once", func(t *testing.T) {
			at := clientToken(t, s, rs)
			if !guardAccepts(t, s, at) {
				t.Fatal("fresh token refused")
			}
			res, body := revoke(t, s, url.Values{"token": {at}, "token_type_hint": {"access_token"}}, basicHeader(rs))
			if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("revoke = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("revoked access token still accepted by the guard")
			}
			wantInactive(t, "revoked access token", introspect(t, s, rs, at))
		})
		t.Run("refresh token revokes its family and its access tokens", func(t *testing.T) {
			tok := mustToken(t, s, "alice", "correct horse battery")
			at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
			// A misleading hint is not trusted.
			res, body := revoke(t, s, url.Values{"token": {rt}, "token_type_hint": {"access_token"},
				"client_id": {"gatehouse"}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("revoke refresh token = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("access token of a revoked refresh family still accepted")
			}
			res, body = doForm(t, s.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nil)
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_grant" {
				t.Errorf("refresh with a revoked token = %d %s, want 400 invalid_grant", res.StatusCode, body)
			}
		})
		t.Run("unknown tokens get 200", func(t *testing.T) {
			for _, v := range []string{"nope", "grt_nothing", "a.b.c", "gk_x"} {
				res, body := revoke(t, s, url.Values{"token": {v}}, basicHeader(rs))
				if res.StatusCode != 200 {
					t.Errorf("revoke(%q) = %d %s, want 200", v, res.StatusCode, body)
				}
			}
		})
		t.Run("errors", func(t *testing.T) {
			res, body := revoke(t, s, url.Values{}, basicHeader(rs))
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_request" {
				t.Errorf("revoke without token = %d %s", res.StatusCode, body)
			}
			res, body = revoke(t, s, url.Values{"token": {"x"}}, nil)
			if res.StatusCode != 401 || decode(t, body)["error"] != "invalid_client" {
				t.Errorf("revoke without client = %d %s", res.StatusCode, body)
			}
			bad := rs
			bad.Secret = "gcs_wrong"
			res, body = revoke(t, s, url.Values{"token": {"x"}}, basicHeader(bad))
			if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("revoke with a wrong secret = %d %s %v", res.StatusCode, body, res.Header)
			}
		})
	})
}

func TestUserInfo(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "openid", "profile", "read")
		call := func(method, tok string) (*http.Response, map[string]any) {
			req, _ := http.NewRequest(method, s.URL+"/oauth2/userinfo", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			res, body := do(t, req)
			return res, decode(t, body)
		}
		full := mustToken(t, s, "alice", "correct horse battery", "openid", "profile")["access_token"].(string)
		for _, method := range []string{"GET", "POST"} {
			res, m := call(method, full)
			if res.StatusCode != 200 || m["sub"] != alice.ID || m["preferred_username"] != "alice" || m["name"] != "alice" {
				t.Errorf("%s userinfo = %d %v", method, res.StatusCode, m)
			}
		}
		// Without profile, only sub.
		res, m := call("GET", mustToken(t, s, "alice", "correct horse battery", "openid")["access_token"].(string))
		if res.StatusCode != 200 || m["sub"] != alice.ID || len(m) != 1 {
			t.Errorf("userinfo (openid only) = %d %v, want only sub", res.StatusCode, m)
		}
		// Form-encoded access_token (RFC 6750 §2.2).
		res2, body := doForm(t, s.URL+"/oauth2/userinfo", url.Values{"access_token": {full}}, nil)
		if res2.StatusCode != 200 || decode(t, body)["sub"] != alice.ID {
			t.Errorf("POST userinfo with form token = %d %s", res2.StatusCode, body)
		}
		// Without openid: 403 insufficient_scope.
		res, m = call("GET", mustToken(t, s, "alice", "correct horse battery", "read")["access_token"].(string))
		if res.StatusCode != 403 || m["error"] != "insufficient_scope" ||
			!strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("userinfo without openid = %d %v %q", res.StatusCode, m, res.Header.Get("WWW-Authenticate"))
		}
		// No token: 401 with a bare Bearer challenge.
		res, _ = call("GET", "")
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Bearer realm="gatehouse"` {
			t.Errorf("userinfo without token = %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		// A bad token: 401 invalid_token.
		res, _ = call("GET", full[:len(full)-4]+"AAAA")
		if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("userinfo with a tampered token = %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		// An API key is not an access token.
		key := mustAPIKey(t, s, "alice")
		req, _ := http.NewRequest("GET", s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("X-API-Key", key)
		if res, body := do(t, req); res.StatusCode != 401 {
			t.Errorf("userinfo with an API key = %d %s", res.StatusCode, body)
		}
	})
}

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

// TestPasswordGrantPerClient: the first-party client is a client like any
// other; turning its password grant off refuses the grant.
func TestPasswordGrantPerClient(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "alice", "correct horse battery", "read")
	cs, err := s.Manager().ListClients(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cs, func(c store.Client) bool { return c.ID == "gatehouse" && c.FirstParty }) {
		t.Fatalf("ListClients = %+v, want the first-party client", cs)
	}
	mustToken(t, s, "alice", "correct horse battery")
	if _, err := s.Manager().SetClientGrant(t.Context(), manage.CLI(), "gatehouse", "password", false); err != nil {
		t.Fatal(err)
	}
	// At once on this node, despite the client cache.
	res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"},
		"password": {"correct horse battery"}}, nil)
	if res.StatusCode != 400 || decode(t, body)["error"] != "unauthorized_client" {
		t.Errorf("password grant after turning it off = %d %s, want 400 unauthorized_client", res.StatusCode, body)
	}
}

// TestClientSecretRotationAtOnce: the client cache never lets an old
// secret work after a rotation on this node.
func TestClientSecretRotationAtOnce(t *testing.T) {
	s := newTestServer(t)
	cc := mustClient(t, s, manage.NewClient{GrantTypes: []string{"client_credentials"}})
	clientToken(t, s, cc) // cached now
	rotated, err := s.Manager().RotateClientSecret(t.Context(), manage.CLI(), cc.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(cc))
	if res.StatusCode != 401 {
		t.Errorf("old secret after rotation = %d %s, want 401", res.StatusCode, body)
	}
	clientToken(t, s, rotated)
	if err := s.Manager().DeleteClient(t.Context(), manage.CLI(), cc.ID); err != nil {
		t.Fatal(err)
	}
	res, body = doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(rotated))
	if res.StatusCode != 401 {
		t.Errorf("deleted client = %d %s, want 401", res.StatusCode, body)
	}
}

// TestRemoteGuardIntrospectsAPIKeys: a remote guard that knows only the
// issuer URL accepts a valid API key through /oauth2/introspect and
// refuses a revoked one.
func TestRemoteGuardIntrospectsAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "read")
		follower := mustFollower(t, s)
		remote := mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.IntrospectionTTL = time.Hour // revocation must not wait for the cache
		})
		id, key, err := s.CreateAPIKey(t.Context(), "alice", "svc", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := remote.Authenticate(apiKeyCred(key).request("http://resource.example/"))
		if err != nil {
			t.Fatalf("remote guard refused a valid API key: %v", err)
		}
		if p.Subject != alice.ID || p.Username != "alice" || p.KeyID != id || p.Method != guard.MethodAPIKey ||
			!slices.Equal(p.Scopes, []string{"read"}) {
			t.Errorf("remote principal = %+v", p)
		}
		if _, err := remote.Authenticate(apiKeyCred(mistype(key)).request("http://resource.example/")); err == nil {
			t.Error("remote guard accepted a mistyped API key")
		}
		if _, err := s.Manager().RevokeAPIKey(context.Background(), manage.CLI(), id, ""); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := remote.Authenticate(apiKeyCred(key).request("http://resource.example/")); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("remote guard still accepts a revoked API key")
			}
			time.Sleep(10 * time.Millisecond)
		}
		// A fresh remote guard (empty cache) asks introspection, which
		// says inactive.
		fresh := mustRemoteGuard(t, s.URL, follower, nil)
		if _, err := fresh.Authenticate(apiKeyCred(key).request("http://resource.example/")); err == nil {
			t.Error("a new remote guard accepted a revoked API key")
		}
	})
}

// benchPOST posts form to path through the whole handler chain.
func benchPOST(b *testing.B, h http.Handler, path string, form url.Values, hdr http.Header) {
	b.Helper()
	body := form.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("POST %s = %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkTokenClientCredentials is POST /oauth2/token with the
// client_credentials grant and HTTP Basic: no database access on the hot
// path (cached client, aggregated audit).
func BenchmarkTokenClientCredentials(b *testing.B) {
	s := newTestServer(b, noLimits)
	cc := mustClient(b, s, manage.NewClient{GrantTypes: []string{"client_credentials"}})
	benchPOST(b, s.Server, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(cc))
}

// BenchmarkIntrospectAccessToken is POST /oauth2/introspect of a valid
// access token by a resource server.
func BenchmarkIntrospectAccessToken(b *testing.B) {
	s := newTestServer(b, noLimits)
	cc := mustClient(b, s, manage.NewClient{GrantTypes: []string{"client_credentials"}})
	tok := clientToken(b, s, cc)
	benchPOST(b, s.Server, "/oauth2/introspect", url.Values{"token": {tok}}, basicHeader(cc))
}
