package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse"
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
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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
			// are tested in refresh_test.go.)
		}
	})
}

func TestInteropClientCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		ctx := t.Context()
		cc := mustClient(t, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}})
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
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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

// idClaims are the ID token claims the tests check.
type idClaims struct {
	AuthTime          int64  `json:"auth_time"`
	AZP               string `json:"azp"`
	AtHash            string `json:"at_hash"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
}

const codeUserPW = "correct-horse-battery-staple"

// TestCodeFlow drives the authorization-code flow with PKCE through the
// login and consent pages with golang.org/x/oauth2, verifies the ID token
// with go-oidc (discovery, signature, nonce, at_hash, auth_time) and
// refreshes with offline_access, for a public and a confidential client,
// on SQLite and PostgreSQL.
func TestCodeFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		srv := newServer(t)
		alice := mustCreateUser(t, srv, "alice", codeUserPW, "openid", "profile", "offline_access", "read", "write")
		ctx := t.Context()
		provider, err := oidc.NewProvider(ctx, srv.URL)
		if err != nil {
			t.Fatalf("oidc.NewProvider: %v", err)
		}
		var meta struct {
			AuthorizationEndpoint string   `json:"authorization_endpoint"`
			Methods               []string `json:"code_challenge_methods_supported"`
			Grants                []string `json:"grant_types_supported"`
			ISS                   bool     `json:"authorization_response_iss_parameter_supported"`
		}
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if meta.AuthorizationEndpoint != srv.URL+"/oauth2/authorize" || strings.Join(meta.Methods, ",") != "S256" ||
			!strings.Contains(strings.Join(meta.Grants, ","), "authorization_code") || !meta.ISS {
			t.Errorf("discovery = %+v, want the authorization endpoint, S256, authorization_code and the RFC 9207 iss", meta)
		}

		t.Run("public client with PKCE, openid and offline_access", func(t *testing.T) {
			const redirect = "http://127.0.0.1:9/callback"
			cl := mustClient(t, srv, gatehouse.NewClient{Name: "Public SPA", Public: true,
				GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{redirect}})
			conf := &oauth2.Config{ClientID: cl.ID, Endpoint: provider.Endpoint(), RedirectURL: redirect,
				Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess, "read"}}
			a := newAgent(t, srv)
			verifier := oauth2.GenerateVerifier()
			const state, nonce = "st-123", "n-0S6_WzA2Mj"
			before := time.Now().Add(-time.Second).Unix()

			// The first time: login page, then consent page.
			p := a.get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
			if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) || !strings.Contains(p.Body, "Public SPA") {
				t.Fatalf("first authorize = %d, want the login page naming the client:\n%s", p.Status, p.Body)
			}
			p = a.login(p, "alice", codeUserPW)
			if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
				t.Fatalf("after login = %d, want the consent page:\n%s", p.Status, p.Body)
			}
			for _, s := range []string{"openid", "profile", "offline_access", "read"} {
				if !strings.Contains(p.Body, `data-scope="`+s+`"`) {
					t.Errorf("consent page does not list scope %s", s)
				}
			}
			if strings.Contains(p.Body, `data-scope="write"`) {
				t.Errorf("consent page lists write, which was not requested")
			}
			p = a.consent(p, "allow")
			if p.Status != 303 {
				t.Fatalf("consent allow = %d, want 303 to the client", p.Status)
			}
			code := callbackCode(t, srv, p.Location, redirect, state)

			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Errorf("no refresh token with offline_access")
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("Verify(id_token): %v", err)
			}
			if idt.Subject != alice.ID || idt.Nonce != nonce {
				t.Errorf("id token sub, nonce = %q, %q; want %q, %q", idt.Subject, idt.Nonce, alice.ID, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("VerifyAccessToken (at_hash): %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
				t.Errorf("VerifyAccessToken accepted another access token")
			}
			var c idClaims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if c.AuthTime < before || c.AuthTime > time.Now().Unix()+1 {
				t.Errorf("auth_time = %d, want the login time (after %d)", c.AuthTime, before)
			}
			if c.AZP != cl.ID || c.PreferredUsername != "alice" || c.Name != "alice" {
				t.Errorf("id token claims = %+v, want azp %s and the profile claims", c, cl.ID)
			}
			if _, err := provider.Verifier(&oidc.Config{ClientID: "someone-else"}).Verify(ctx, raw); err == nil {
				t.Errorf("the ID token verified for another audience")
			}
			wantMe(t, srv, tok.AccessToken, "alice")

			// Refresh through the TokenSource: rotated, still working.
			old := *tok
			old.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, &old).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh did not rotate: %+v", fresh)
			}
			wantMe(t, srv, fresh.AccessToken, "alice")

			// Logged in: no login page the second time, but the consent
			// page again, since any local program could have asked with
			// this public client's id on a loopback port (RFC 8252 §8.6).
			verifier2 := oauth2.GenerateVerifier()
			p = a.get(conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier2)))
			if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
				t.Fatalf("second authorize = %d, want the consent page and no login page:\n%s", p.Status, p.Body)
			}
			code2 := callbackCode(t, srv, a.consent(p, "allow").Location, redirect, "st-2")
			tok2, err := conf.Exchange(ctx, code2, oauth2.VerifierOption(verifier2))
			if err != nil {
				t.Fatalf("second Exchange: %v", err)
			}
			idt2, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c2 idClaims
			_ = idt2.Claims(&c2)
			if c2.AuthTime != c.AuthTime {
				t.Errorf("auth_time of the second code = %d, want the session's login time %d", c2.AuthTime, c.AuthTime)
			}
			if idt2.Nonce != "" {
				t.Errorf("nonce = %q, want none (none was sent)", idt2.Nonce)
			}
		})

		t.Run("confidential client", func(t *testing.T) {
			const redirect = "https://app.example/cb"
			cl := mustClient(t, srv, gatehouse.NewClient{Name: "Web app",
				GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{redirect}})
			conf := &oauth2.Config{ClientID: cl.ID, ClientSecret: cl.Secret, Endpoint: provider.Endpoint(),
				RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "read"}}
			a := newAgent(t, srv)

			// With PKCE.
			verifier := oauth2.GenerateVerifier()
			loc := a.authorize(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), "alice", codeUserPW)
			tok, err := conf.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s1"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.RefreshToken != "" {
				t.Errorf("refresh token issued to a client without the refresh_token grant")
			}
			if got, _ := tok.Extra("scope").(string); got != "openid read" {
				t.Errorf("scope = %q, want %q", got, "openid read")
			}
			idt, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var c idClaims
			_ = idt.Claims(&c)
			if c.PreferredUsername != "" {
				t.Errorf("preferred_username = %q without the profile scope", c.PreferredUsername)
			}
			wantMe(t, srv, tok.AccessToken, "alice")

			// Without PKCE: accepted for a confidential client.
			loc = a.authorize(conf.AuthCodeURL("s2"), "alice", codeUserPW)
			if _, err := conf.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s2")); err != nil {
				t.Fatalf("Exchange without PKCE (confidential): %v", err)
			}

			// Without the secret: invalid_client.
			noSecret := *conf
			noSecret.ClientSecret = "gcs_wrong"
			loc = a.authorize(conf.AuthCodeURL("s3"), "alice", codeUserPW)
			_, err = noSecret.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s3"))
			wantRetrieveError(t, "Exchange with a wrong secret", err, "invalid_client")
		})
	})
}
