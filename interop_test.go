package gatehouse_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// These tests drive gatehouse with the client libraries applications use,
// golang.org/x/oauth2 and github.com/coreos/go-oidc/v3, changing nothing
// but the issuer URL.

func wantRetrieveError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("%s: error = %v, want *oauth2.RetrieveError %s", what, err, code)
	}
	if re.ErrorCode != code {
		t.Errorf("%s: ErrorCode = %q (%s), want %q", what, re.ErrorCode, re.ErrorDescription, code)
	}
}

func TestInteropPasswordAndRefresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		ctx := t.Context()
		mustCreateUser(t, s, "alice", "correct horse battery", "read", "write")
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
			// The built-in first-party client, as a FastAPI-style login form
			// uses it: public, no secret.
			conf := &oauth2.Config{ClientID: "gatehouse", Scopes: []string{"read"},
				Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/oauth2/token", AuthStyle: style}}
			tok, err := conf.PasswordCredentialsToken(ctx, "alice", "correct horse battery")
			if err != nil {
				t.Fatalf("PasswordCredentialsToken (style %d): %v", style, err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() || !guardAccepts(t, s, tok.AccessToken) {
				t.Fatalf("password token = %+v", tok)
			}
			if got := tok.Extra("scope"); got != "read" {
				t.Errorf("scope = %v, want read", got)
			}
			_, err = conf.PasswordCredentialsToken(ctx, "alice", "wrong password")
			wantRetrieveError(t, "wrong password", err, "invalid_grant")

			// An expired token is refreshed by the TokenSource; the
			// refresh token rotates.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Hour)
			fresh, err := conf.TokenSource(ctx, &expired).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
				t.Errorf("refreshed token = %+v, want a new access token and a rotated refresh token", fresh)
			}
			if !guardAccepts(t, s, fresh.AccessToken) {
				t.Error("refreshed access token refused")
			}
			// (x/oauth2 sends no scope on refresh: narrowing and widening
			// are tested in oauthattack_test.go.)
		}
	})
}

func TestInteropClientCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		ctx := t.Context()
		cc := mustClient(t, s, manage.NewClient{GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}})
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			conf := &clientcredentials.Config{ClientID: cc.ID, ClientSecret: cc.Secret, TokenURL: s.URL + "/oauth2/token",
				Scopes: []string{"read"}, AuthStyle: style}
			tok, err := conf.Token(ctx)
			if err != nil {
				t.Fatalf("clientcredentials (style %d): %v", style, err)
			}
			if tok.RefreshToken != "" {
				t.Errorf("client credentials gave a refresh token")
			}
			p, err := s.Guard().VerifyAccessToken(ctx, tok.AccessToken)
			if err != nil || p.Subject != cc.ID || p.ClientID != cc.ID || !slices.Equal(p.Scopes, []string{"read"}) {
				t.Errorf("client token principal = %+v, %v", p, err)
			}
			// The token works through an HTTP client too.
			res, err := conf.Client(ctx).Get(s.URL + "/oauth2/userinfo")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 { // a client's token has no user
				t.Errorf("userinfo with a client token = %d, want 401", res.StatusCode)
			}
			bad := *conf
			bad.ClientSecret = "gcs_wrong"
			_, err = bad.Token(ctx)
			wantRetrieveError(t, "wrong secret", err, "invalid_client")
			wider := *conf
			wider.Scopes = []string{"admin"}
			_, err = wider.Token(ctx)
			wantRetrieveError(t, "scope beyond the client's", err, "invalid_scope")
		}
	})
}

func TestInteropOIDC(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "openid", "profile", "read")
		provider, err := oidc.NewProvider(ctx, s.URL)
		if err != nil {
			t.Fatalf("oidc.NewProvider: %v", err)
		}
		if ep := provider.Endpoint(); ep.TokenURL != s.URL+"/oauth2/token" {
			t.Errorf("provider token endpoint = %q", ep.TokenURL)
		}
		if provider.UserInfoEndpoint() != s.URL+"/oauth2/userinfo" {
			t.Errorf("provider userinfo endpoint = %q", provider.UserInfoEndpoint())
		}
		var meta struct {
			Revocation    string `json:"revocation_endpoint"`
			Introspection string `json:"introspection_endpoint"`
		}
		if err := provider.Claims(&meta); err != nil || meta.Revocation == "" || meta.Introspection == "" {
			t.Errorf("provider metadata = %+v, %v", meta, err)
		}

		conf := &oauth2.Config{ClientID: "gatehouse", Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}
		tok, err := conf.PasswordCredentialsToken(ctx, "alice", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			t.Fatal("no id_token with the openid scope")
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: "gatehouse"}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		if idt.Subject != alice.ID {
			t.Errorf("ID token sub = %q, want %q", idt.Subject, alice.ID)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
		// An ID token for another audience is refused.
		if _, err := provider.Verifier(&oidc.Config{ClientID: "someone-else"}).Verify(ctx, raw); err == nil {
			t.Error("ID token accepted for another client")
		}

		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("UserInfo: %v", err)
		}
		var claims struct {
			PreferredUsername string `json:"preferred_username"`
		}
		if err := ui.Claims(&claims); err != nil || ui.Subject != alice.ID || claims.PreferredUsername != "alice" {
			t.Errorf("userinfo = %+v %+v, %v", ui, claims, err)
		}
		// The discovery issuer must be exactly what was asked for.
		if _, err := oidc.NewProvider(context.Background(), strings.Replace(s.URL, "127.0.0.1", "localhost", 1)); err == nil {
			t.Error("NewProvider accepted a mismatching issuer")
		}
	})
}
