package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
)

// OAuth2 clients: an admin's change to a client (its grants, its secret,
// its scopes, its redirect URIs) holds at once, also for what was granted
// before it.

// patchClient changes a client as an admin does, with PATCH
// /admin/clients/{id}.
func patchClient(t *testing.T, s *testServer, adminKey, id, patch string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", s.URL+"/admin/clients/"+id, strings.NewReader(patch))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", adminKey)
	if res, body := do(t, req); res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /admin/clients/%s %s = %d %s", id, patch, res.StatusCode, body)
	}
}

// TestPasswordGrantPerClient: the first-party client is a client like any
// other; turning its password grant off refuses the grant.
func TestPasswordGrantPerClient(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "alice", "correct horse battery", "read")
	admin := mustAdminKey(t, s)
	res, body := get(t, s.URL+"/admin/clients?limit=500", apiKeyHeader(admin))
	type clientView struct {
		ID         string   `json:"client_id"`
		FirstParty bool     `json:"first_party"`
		GrantTypes []string `json:"grant_types"`
	}
	var list struct{ Items []clientView }
	if err := json.Unmarshal(body, &list); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/clients = %d %s", res.StatusCode, body)
	}
	i := slices.IndexFunc(list.Items, func(c clientView) bool { return c.ID == "gatehouse" && c.FirstParty })
	if i < 0 {
		t.Fatalf("GET /admin/clients = %s, want the first-party client", body)
	}
	mustToken(t, s, "alice", "correct horse battery")
	grants, _ := json.Marshal(slices.DeleteFunc(list.Items[i].GrantTypes, func(g string) bool { return g == "password" }))
	patchClient(t, s, admin, "gatehouse", `{"grant_types":`+string(grants)+`}`)
	// At once on this node, despite the client cache.
	res, body = doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"},
		"password": {"correct horse battery"}}, nil)
	if res.StatusCode != 400 || decode(t, body)["error"] != "unauthorized_client" {
		t.Errorf("password grant after turning it off = %d %s, want 400 unauthorized_client", res.StatusCode, body)
	}
}

// TestClientSecretRotationAtOnce: the client cache never lets an old
// secret work after a rotation on this node.
func TestClientSecretRotationAtOnce(t *testing.T) {
	s := newTestServer(t)
	cc := mustClient(t, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}})
	clientToken(t, s, cc) // cached now
	c, secret, err := s.Admin().RotateClientSecret(t.Context(), cc.ID)
	if err != nil {
		t.Fatal(err)
	}
	rotated := client{Client: c, Secret: secret}
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(cc))
	if res.StatusCode != 401 {
		t.Errorf("old secret after rotation = %d %s, want 401", res.StatusCode, body)
	}
	clientToken(t, s, rotated)
	if err := s.Admin().DeleteClient(t.Context(), cc.ID); err != nil {
		t.Fatal(err)
	}
	res, body = doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicHeader(rotated))
	if res.StatusCode != 401 {
		t.Errorf("deleted client = %d %s, want 401", res.StatusCode, body)
	}
}

// TestClientNarrowing: a grant made before an admin narrowed a client (a
// refresh token, an authorization code not yet redeemed) gives no more than
// the client's registration allows now — the client's scopes, grant types
// and redirect URIs are re-checked by every grant, as the user's scopes
// are.
func TestClientNarrowing(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		ctx := t.Context()
		const pw = "correct horse battery"
		mustCreateUser(t, s, "carol", pw, "openid", "read", "write")
		admin := mustAdminKey(t, s)
		narrow := func(t *testing.T, id string, patch string) {
			t.Helper()
			patchClient(t, s, admin, id, patch)
		}
		login := func(t *testing.T, cc client) string {
			t.Helper()
			res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {"carol"}, "password": {pw}, "scope": {"read write"}}, basicHeader(cc))
			m := decode(t, body)
			if res.StatusCode != 200 || m["scope"] != "read write" {
				t.Fatalf("password grant = %d %s, want scope read write", res.StatusCode, body)
			}
			return m["refresh_token"].(string)
		}
		refresh := func(t *testing.T, cc client, rt string, scope string) (int, map[string]any) {
			t.Helper()
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			if scope != "" {
				form.Set("scope", scope)
			}
			res, body := doForm(t, s.URL+"/oauth2/token", form, basicHeader(cc))
			if res.StatusCode >= 500 {
				t.Fatalf("refresh = %d %s", res.StatusCode, body)
			}
			return res.StatusCode, decode(t, body)
		}
		grants := []string{"password", "refresh_token"}

		t.Run("refresh after a scope was removed from the client", func(t *testing.T) {
			cc := mustClient(t, s, gatehouse.NewClient{Name: "narrowed", GrantTypes: grants, Scopes: []string{"read", "write"}})
			rt := login(t, cc)
			narrow(t, cc.ID, `{"scopes":["read"]}`)

			// Like a narrowed user: without a scope parameter the removed
			// scope is left out; asked for explicitly, it is invalid_scope.
			st, m := refresh(t, cc, rt, "")
			if st != 200 || m["scope"] != "read" {
				t.Fatalf("refresh after narrowing = %d %v, want 200 with scope read", st, m)
			}
			if got := jwtPayload(t, m["access_token"].(string))["scope"]; got != "read" {
				t.Errorf("refreshed access token scope claim = %v, want read", got)
			}
			rt = m["refresh_token"].(string)
			st, m = refresh(t, cc, rt, "write")
			wantOAuthError(t, "refresh asking for the removed scope", st, m, 400, "invalid_scope")

			// x/oauth2's TokenSource (no scope parameter) gets the narrowed
			// token too.
			conf := &oauth2.Config{ClientID: cc.ID, ClientSecret: cc.Secret,
				Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/oauth2/token"}}
			tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if got := tok.Extra("scope"); got != "read" {
				t.Errorf("TokenSource refresh scope = %v, want read", got)
			}

			// Widening the client again restores what the user granted
			// (the refresh token keeps its grant, RFC 6749 §6).
			narrow(t, cc.ID, `{"scopes":["read","write"]}`)
			if st, m := refresh(t, cc, tok.RefreshToken, ""); st != 200 || m["scope"] != "read write" {
				t.Errorf("refresh after widening the client again = %d %v, want scope read write", st, m)
			}
		})

		t.Run("refresh after the client lost the refresh_token grant", func(t *testing.T) {
			cc := mustClient(t, s, gatehouse.NewClient{Name: "no more refresh", GrantTypes: grants})
			rt := login(t, cc)
			narrow(t, cc.ID, `{"grant_types":["password"]}`)
			st, m := refresh(t, cc, rt, "")
			wantOAuthError(t, "refresh without the grant", st, m, 400, "unauthorized_client")
			// Introspection agrees: the token can no longer be used.
			wantInactive(t, "refresh token of a client without the grant", introspect(t, s, cc, rt))
		})

		t.Run("introspection reports what a refresh would grant now", func(t *testing.T) {
			cc := mustClient(t, s, gatehouse.NewClient{Name: "introspected", GrantTypes: grants, Scopes: []string{"read", "write"}})
			rt := login(t, cc)
			narrow(t, cc.ID, `{"scopes":["write"]}`)
			if m := introspect(t, s, cc, rt); m["active"] != true || m["scope"] != "write" {
				t.Errorf("introspect(refresh token) after narrowing = %v, want active with scope write", m)
			}
		})

		t.Run("code issued before the client was narrowed", func(t *testing.T) {
			const redirect, other = "https://app.example/cb", "https://app.example/other"
			cc := mustClient(t, s, gatehouse.NewClient{Name: "code app", GrantTypes: []string{"authorization_code"},
				RedirectURIs: []string{redirect, other}, Scopes: []string{"openid", "read", "write"}})
			conf := &oauth2.Config{ClientID: cc.ID, ClientSecret: cc.Secret, RedirectURL: redirect,
				Scopes:   []string{"openid", "read", "write"},
				Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/authorize", TokenURL: s.URL + "/oauth2/token"}}
			a := newAgent(t, s)
			code := func(t *testing.T, conf *oauth2.Config, state string) string {
				t.Helper()
				return callbackCode(t, s, a.authorize(conf.AuthCodeURL(state), "carol", pw), conf.RedirectURL, state)
			}

			// A scope removed between the code and its redemption.
			c := code(t, conf, "s1")
			narrow(t, cc.ID, `{"scopes":["openid","read"]}`)
			tok, err := conf.Exchange(ctx, c)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if got := tok.Extra("scope"); got != "openid read" {
				t.Errorf("scope of a code redeemed after narrowing = %v, want openid read", got)
			}

			// A redirect URI removed between the code and its redemption.
			conf.Scopes = []string{"openid", "read"}
			conf2 := *conf
			conf2.RedirectURL = other
			c = code(t, &conf2, "s2")
			narrow(t, cc.ID, `{"redirect_uris":["`+redirect+`"]}`)
			_, err = conf2.Exchange(ctx, c)
			wantRetrieveError(t, "Exchange for a redirect URI no longer registered", err, "invalid_grant")

			// The authorization_code grant removed: refused.
			c = code(t, conf, "s3")
			narrow(t, cc.ID, `{"grant_types":["client_credentials"]}`)
			_, err = conf.Exchange(ctx, c)
			wantRetrieveError(t, "Exchange after the grant was removed", err, "unauthorized_client")
		})
	})
}
