package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPasswordGrantWithOAuth2Client drives the token endpoint with
// golang.org/x/oauth2 and verifies the token with go-jose against the
// published JWKS: two clients we did not write.
func TestPasswordGrantWithOAuth2Client(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			s := newTestServer(t, func(c *gatehouse.Config) {
				c.SigningAlg = alg
				if alg == "HS256" {
					c.JWTSecret = []byte(strings.Repeat("k", 32))
				}
			})
			u := mustCreateUser(t, s, "alice", "correct horse", "read", "write")
			conf := &oauth2.Config{Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
			tok, err := conf.PasswordCredentialsToken(t.Context(), "alice", "correct horse")
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v, want Bearer with refresh token and expiry", tok)
			}
			if got := tok.Extra("scope"); got != "read write" {
				t.Errorf("scope = %v, want %q", got, "read write")
			}
			claims := verifyWithJWKS(t, s, tok.AccessToken, alg)
			if claims.Subject != u.ID || claims.Issuer != s.URL || !claims.Audience.Contains(s.URL) || claims.ID == "" {
				t.Errorf("claims = %+v", claims)
			}
			// The token works at /users/me.
			res, body := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok.AccessToken})
			if res.StatusCode != 200 {
				t.Fatalf("GET /users/me = %d %s", res.StatusCode, body)
			}
			me := decode(t, body)
			if me["username"] != "alice" || me["auth_method"] != "bearer" || me["id"] != u.ID {
				t.Errorf("/users/me = %v", me)
			}
		})
	}
}

type atClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// verifyWithJWKS checks an access token as an independent resource server
// would: header typ, alg and kid, then the signature with the JWKS key.
func verifyWithJWKS(t *testing.T, s *testServer, token, alg string) atClaims {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "at+jwt" || h.KeyID == "" || h.Algorithm != alg {
		t.Fatalf("header = %+v, want typ at+jwt, a kid and alg %s", h, alg)
	}
	var c atClaims
	if alg == "HS256" {
		if err := tok.Claims([]byte(strings.Repeat("k", 32)), &c); err != nil {
			t.Fatalf("verify HS256: %v", err)
		}
		return c
	}
	_, body := get(t, s.URL+"/.well-known/jwks.json", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("jwks has %d keys for kid %s", len(keys), h.KeyID)
	}
	if keys[0].IsPublic() == false {
		t.Fatalf("jwks publishes a private key")
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		t.Fatalf("verify with jwks: %v", err)
	}
	if c.ClientID != "gatehouse" {
		t.Errorf("client_id = %q, want the first-party client", c.ClientID)
	}
	return c
}

func TestTokenEndpointErrors(t *testing.T) {
	eachBackend(t, testTokenEndpointErrors)
}

func testTokenEndpointErrors(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
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

func TestAPIKeys(t *testing.T) {
	eachBackend(t, testAPIKeys)
}

func testAPIKeys(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
	s := newServer(t)
	mustCreateUser(t, s, "dave", "password-1", "read", "write")
	key := mustAPIKey(t, s, "dave", "read")
	if !strings.HasPrefix(key, "gk_") {
		t.Fatalf("key %q lacks the gk_ prefix", key)
	}
	for _, hdr := range []map[string]string{{"X-API-Key": key}, {"Authorization": "Bearer " + key}} {
		res, body := get(t, s.URL+"/users/me", hdr)
		if res.StatusCode != 200 {
			t.Fatalf("GET /users/me with %v = %d %s", hdr, res.StatusCode, body)
		}
		me := decode(t, body)
		if me["username"] != "dave" || me["auth_method"] != "api_key" {
			t.Errorf("/users/me = %v", me)
		}
		if sc := me["scopes"].([]any); len(sc) != 1 || sc[0] != "read" {
			t.Errorf("scopes = %v, want the key's own [read]", sc)
		}
	}

	// Missing and wrong keys.
	res, body := get(t, s.URL+"/users/me", nil)
	if res.StatusCode != 401 || !strings.Contains(string(body), "Missing API Key") {
		t.Errorf("no key: %d %s", res.StatusCode, body)
	}
	if h := res.Header.Get("WWW-Authenticate"); h != `Bearer realm="gatehouse"` {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	for name, k := range map[string]string{"mistyped": mistype(key), "garbage": "gk_nope", "other prefix": "sk_live_123"} {
		res, body := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": k})
		if res.StatusCode != 401 || !strings.Contains(string(body), "Invalid or inactive API Key") {
			t.Errorf("%s key: %d %s", name, res.StatusCode, body)
		}
		if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s key: WWW-Authenticate = %q", name, res.Header.Get("WWW-Authenticate"))
		}
	}
	// In a query string: refused with a clear error.
	res, body = get(t, s.URL+"/users/me?api_key="+url.QueryEscape(key), nil)
	if res.StatusCode != 400 || !strings.Contains(string(body), "query string") {
		t.Errorf("query-string key: %d %s", res.StatusCode, body)
	}

	// Last-used is recorded through the coalesced flush.
	if err := gatehouse.FlushUsage(t.Context(), s.Server); err != nil {
		t.Fatalf("FlushUsage: %v", err)
	}
	ks, err := s.Store().ListAPIKeys(t.Context(), "", "", 0)
	if err != nil || len(ks) != 1 || ks[0].LastUsedAt == nil {
		t.Fatalf("keys = %+v, %v; want last-used set", ks, err)
	}
	if strings.Contains(string(ks[0].Hash), key) {
		t.Fatal("store holds the key in plain text")
	}
}

func TestAPIKeyRefusedWhenRevokedExpiredOrOwnerDisabled(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	mustCreateUser(t, s, "erin", "password-1", "read")
	mustCreateUser(t, s, "frank", "password-1", "read")
	revoked := mustAPIKey(t, s, "erin")
	id, _, _ := strings.Cut(strings.TrimPrefix(revoked, "gk_"), "_")
	expiredID, expired, err := s.CreateAPIKey(ctx, "erin", "short", nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	owner := mustAPIKey(t, s, "frank")
	check := func(key string, want int) {
		t.Helper()
		res, body := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": key})
		if res.StatusCode != want {
			t.Errorf("status = %d, want %d (%s)", res.StatusCode, want, body)
		}
	}
	check(revoked, 200)
	check(owner, 200)
	if _, err := s.Manager().RevokeAPIKey(ctx, manage.CLI(), id, ""); err != nil {
		t.Fatal(err)
	}
	check(revoked, 401)
	// Expire a key by moving its expiry into the past.
	past := time.Now().Add(-time.Minute)
	if _, err := s.Store().UpdateAPIKey(ctx, expiredID, func(k store.APIKey) (store.APIKey, error) { k.ExpiresAt = &past; return k, nil }); err != nil {
		t.Fatal(err)
	}
	gatehouse.ForgetCaches(s.Server)
	check(expired, 401)
	if _, err := s.Manager().SetDisabled(ctx, manage.CLI(), "frank", true); err != nil {
		t.Fatal(err)
	}
	check(owner, 401)
}

func TestDisabledUserTokensStopWorking(t *testing.T) {
	eachBackend(t, testDisabledUserTokensStopWorking)
}

func testDisabledUserTokensStopWorking(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
	s := newServer(t)
	mustCreateUser(t, s, "gina", "password-1", "read")
	tok := mustToken(t, s, "gina", "password-1")["access_token"].(string)
	auth := map[string]string{"Authorization": "Bearer " + tok}
	if res, body := get(t, s.URL+"/users/me", auth); res.StatusCode != 200 {
		t.Fatalf("before: %d %s", res.StatusCode, body)
	}
	if _, err := s.Manager().SetDisabled(t.Context(), manage.CLI(), "gina", true); err != nil {
		t.Fatal(err)
	}
	res, body := get(t, s.URL+"/users/me", auth)
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("after disable: %d %s", res.StatusCode, body)
	}
	res, _ = doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"gina"}, "password": {"password-1"}}, nil)
	if res.StatusCode != 400 {
		t.Errorf("login of a disabled user = %d, want 400", res.StatusCode)
	}
}

func TestRestartKeepsTokensValid(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		dir := t.TempDir()
		cfg := func(c *gatehouse.Config) {
			if !strings.HasPrefix(c.DatabaseURL, "postgres") {
				c.DatabaseURL = "sqlite:" + dir + "/g.db"
			}
			c.Issuer = "http://gatehouse.test"
		}
		s1 := newServer(t, cfg)
		mustCreateUser(t, s1, "hank", "password-1")
		tok := mustToken(t, s1, "hank", "password-1")["access_token"].(string)
		s1.HTTP.Close()
		s1.Close()
		s2 := newServer(t, cfg)
		res, body := get(t, s2.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok})
		if res.StatusCode != 200 {
			t.Fatalf("after restart: %d %s", res.StatusCode, body)
		}
	})
}

func TestBcryptHashIsUpgraded(t *testing.T) {
	s := newTestServer(t)
	u := mustCreateUser(t, s, "ivan", "password-1")
	legacy, _ := bcrypt.GenerateFromPassword([]byte("tutorial-pass"), 4)
	if _, err := s.Store().UpdateUser(t.Context(), u.ID, func(x store.User) (store.User, error) {
		x.PasswordHash = string(legacy)
		return x, nil
	}); err != nil {
		t.Fatal(err)
	}
	mustToken(t, s, "ivan", "tutorial-pass")
	got, err := s.Store().GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Errorf("hash after login = %.12s…, want argon2id", got.PasswordHash)
	}
	mustToken(t, s, "ivan", "tutorial-pass") // still works after the upgrade
}

func TestHealthAndReadiness(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if res, body := get(t, s.URL+p, nil); res.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, res.StatusCode, body)
		}
	}
	res, body := get(t, s.URL+"/no/such/thing", nil)
	if res.StatusCode != 404 || decode(t, body)["error"] != "not_found" {
		t.Errorf("unknown path: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on responses")
	}
}
