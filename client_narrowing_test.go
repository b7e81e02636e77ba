package gatehouse_test

import (
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestClientNarrowing: a grant made before an admin narrowed a client (a
// refresh token, an authorization code not yet redeemed) gives no more than
// the client's registration allows now — the client's scopes, grant types
// and redirect URIs are re-checked by every grant, as the user's scopes
// are (issue 13, item 3).
func TestClientNarrowing(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		ctx := t.Context()
		const pw = "correct horse battery"
		mustCreateUser(t, s, "carol", pw, "openid", "read", "write")
		narrow := func(t *testing.T, id string, in manage.ClientUpdate) {
			t.Helper()
			if _, err := s.Manager().UpdateClient(ctx, manage.CLI(), id, in); err != nil {
				t.Fatalf("UpdateClient: %v", err)
			}
		}
		login := func(t *testing.T, cc manage.CreatedClient) string {
			t.Helper()
			res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {"carol"}, "password": {pw}, "scope": {"read write"}}, basicHeader(cc))
			m := decode(t, body)
			if res.StatusCode != 200 || m["scope"] != "read write" {
				t.Fatalf("password grant = %d %s, want scope read write", res.StatusCode, body)
			}
			return m["refresh_token"].(string)
		}
		refresh := func(t *testing.T, cc manage.CreatedClient, rt string, scope string) (int, map[string]any) {
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
			cc := mustClient(t, s, manage.NewClient{Name: "narrowed", GrantTypes: grants, Scopes: []string{"read", "write"}})
			rt := login(t, cc)
			narrow(t, cc.ID, manage.ClientUpdate{Scopes: []string{"read"}})

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
			narrow(t, cc.ID, manage.ClientUpdate{Scopes: []string{"read", "write"}})
			if st, m := refresh(t, cc, tok.RefreshToken, ""); st != 200 || m["scope"] != "read write" {
				t.Errorf("refresh after widening the client again = %d %v, want scope read write", st, m)
			}
		})

		t.Run("refresh after the client lost the refresh_token grant", func(t *testing.T) {
			cc := mustClient(t, s, manage.NewClient{Name: "no more refresh", GrantTypes: grants})
			rt := login(t, cc)
			narrow(t, cc.ID, manage.ClientUpdate{GrantTypes: []string{"password"}})
			st, m := refresh(t, cc, rt, "")
			wantOAuthError(t, "refresh without the grant", st, m, 400, "unauthorized_client")
			// Introspection agrees: the token can no longer be used.
			wantInactive(t, "refresh token of a client without the grant", introspect(t, s, cc, rt))
		})

		t.Run("introspection reports what a refresh would grant now", func(t *testing.T) {
			cc := mustClient(t, s, manage.NewClient{Name: "introspected", GrantTypes: grants, Scopes: []string{"read", "write"}})
			rt := login(t, cc)
			narrow(t, cc.ID, manage.ClientUpdate{Scopes: []string{"write"}})
			if m := introspect(t, s, cc, rt); m["active"] != true || m["scope"] != "write" {
				t.Errorf("introspect(refresh token) after narrowing = %v, want active with scope write", m)
			}
		})

		t.Run("code issued before the client was narrowed", func(t *testing.T) {
			const redirect, other = "https://app.example/cb", "https://app.example/other"
			cc := mustClient(t, s, manage.NewClient{Name: "code app", GrantTypes: []string{"authorization_code"},
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
			narrow(t, cc.ID, manage.ClientUpdate{Scopes: []string{"openid", "read"}})
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
			narrow(t, cc.ID, manage.ClientUpdate{RedirectURIs: []string{redirect}})
			_, err = conf2.Exchange(ctx, c)
			wantRetrieveError(t, "Exchange for a redirect URI no longer registered", err, "invalid_grant")

			// The authorization_code grant removed: refused.
			c = code(t, conf, "s3")
			narrow(t, cc.ID, manage.ClientUpdate{GrantTypes: []string{"client_credentials"}})
			_, err = conf.Exchange(ctx, c)
			wantRetrieveError(t, "Exchange after the grant was removed", err, "unauthorized_client")
		})
	})
}
