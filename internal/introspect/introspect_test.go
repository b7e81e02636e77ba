package introspect

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/endpointtest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

func newHandler(e *endpointtest.Env) *Handler {
	return &Handler{
		Clients: e.Clients, AccessTokens: e.Guard, APIKeys: e.APIKeys, Users: e.Users, RefreshTokens: e.DB,
		Issuer: endpointtest.Issuer, Audience: endpointtest.Audience,
		APIKeyPrefix: endpointtest.APIKeyPrefix, RefreshPrefix: endpointtest.RefreshPrefix,
		MaxBody: endpointtest.MaxBody, Now: e.Clock.Now,
	}
}

// TestIntrospect is RFC 7662 §2.2 per credential kind: what is active and
// what each answer says; everything else is {"active":false} alone.
func TestIntrospect(t *testing.T) {
	e := endpointtest.New(t)
	h := newHandler(e)
	alice := e.MustUser(t, "alice", "openid", "read", "write")
	bob := e.MustUser(t, "bob", "read")
	rs := e.MustClient(t, service.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
	app := e.MustClient(t, service.NewClient{Name: "app", GrantTypes: []string{"password", "refresh_token"}, Scopes: []string{"openid", "read"}})
	noRefresh := e.MustClient(t, service.NewClient{Name: "no-refresh", GrantTypes: []string{"password"}})
	now := store.Normalize(e.Clock.Now())
	past := now.Add(-time.Second)
	aliceKey := e.MustAPIKey(t, "alice", "read")
	revokedKey := e.MustAPIKey(t, "alice", "read")
	if _, err := e.Manager.RevokeAPIKey(t.Context(), audit.CLI(), revokedKey.ID, ""); err != nil {
		t.Fatal(err)
	}
	userToken := e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID, Scopes: []string{"openid", "read"}})
	revokedToken := e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID, ID: "revoked-jti"})
	if err := e.Revoker.Revoke(t.Context(), guard.RevokeToken, "revoked-jti", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	bobToken := e.MustAccessToken(t, endpointtest.AccessToken{Subject: bob.ID, ClientID: app.ID, Scopes: []string{"read"}})
	bobRefresh := e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: bob.ID, Scopes: []string{"read"}})
	if _, err := e.Manager.SetDisabled(t.Context(), audit.CLI(), "bob", true); err != nil {
		t.Fatal(err)
	}
	ownRefresh := e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: alice.ID, Scopes: []string{"openid", "read", "write"}})

	type want = map[string]any
	inactive := want{"active": false}
	tests := []struct {
		name   string
		token  string
		client *service.CreatedClient // rs when nil
		want   want
	}{
		{name: "user access token", token: userToken, want: want{
			"active": true, "scope": "openid read", "client_id": app.ID, "username": "alice", "token_type": "Bearer",
			"sub": alice.ID, "iss": endpointtest.Issuer, "aud": []any{endpointtest.Audience},
			"iat": float64(now.Unix()), "exp": float64(now.Add(endpointtest.AccessTTL).Unix()), "jti": "*",
		}},
		{name: "client access token", token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: rs.ID, ClientID: rs.ID, Scopes: []string{"read"}}),
			want: want{
				"active": true, "scope": "read", "client_id": rs.ID, "token_type": "Bearer", "sub": rs.ID,
				"iss": endpointtest.Issuer, "aud": []any{endpointtest.Audience}, "iat": "*", "exp": "*", "jti": "*",
			}},
		{name: "access token of a disabled user", token: bobToken, want: inactive},
		{name: "access token of an unknown user", token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: "nobody", ClientID: app.ID}), want: inactive},
		{name: "revoked access token", token: revokedToken, want: inactive},
		{name: "expired access token", token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID,
			IssuedAt: now.Add(-2 * endpointtest.AccessTTL)}), want: inactive},
		{name: "foreign issuer", token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID,
			Issuer: "https://other.example"}), want: inactive},
		{name: "foreign audience", token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID,
			Audience: "https://api.other.example"}), want: inactive},
		{name: "tampered access token", token: userToken[:len(userToken)-4] + "AAAA", want: inactive},
		{name: "api key", token: aliceKey.Secret, want: want{
			"active": true, "scope": "read", "username": "alice", "token_type": "api_key", "sub": alice.ID,
			"iss": endpointtest.Issuer, "jti": aliceKey.ID, "key_id": aliceKey.ID, "iat": float64(aliceKey.CreatedAt.Unix()),
		}},
		{name: "revoked api key", token: revokedKey.Secret, want: inactive},
		{name: "unknown api key", token: "gk_nothing", want: inactive},
		{name: "own refresh token", token: ownRefresh, client: &app, want: want{
			// write is beyond the client's registration: left out.
			"active": true, "scope": "openid read", "client_id": app.ID, "username": "alice", "token_type": "refresh_token",
			"sub": alice.ID, "iss": endpointtest.Issuer, "aud": []any{app.ID},
			"iat": float64(now.Unix()), "exp": float64(now.Add(24 * time.Hour).Unix()),
		}},
		{name: "another client's refresh token", token: ownRefresh, want: inactive},
		{name: "refresh token of a disabled user", token: bobRefresh, client: &app, want: inactive},
		{name: "expired refresh token", token: e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: alice.ID,
			CreatedAt: now.Add(-time.Hour), ExpiresAt: now}), client: &app, want: inactive},
		{name: "idle refresh token", token: e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: alice.ID,
			IdleExpires: now}), client: &app, want: inactive},
		{name: "used refresh token", token: e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: alice.ID,
			UsedAt: &past}), client: &app, want: inactive},
		{name: "revoked refresh token", token: e.MustRefreshToken(t, store.RefreshToken{ClientID: app.ID, UserID: alice.ID,
			RevokedAt: &past}), client: &app, want: inactive},
		{name: "refresh token of a client without the refresh grant", token: e.MustRefreshToken(t, store.RefreshToken{
			ClientID: noRefresh.ID, UserID: alice.ID}), client: &noRefresh, want: inactive},
		{name: "unknown refresh token", token: "grt_nothing", client: &app, want: inactive},
		{name: "garbage", token: "x", want: inactive},
		{name: "three dots", token: "a.b.c", want: inactive},
		{name: "long garbage", token: strings.Repeat("A", 5000), want: inactive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client
			if c == nil {
				c = &rs
			}
			res := endpointtest.Serve(t, h.Routes(), endpointtest.Request{
				Method: "POST", Path: "/oauth2/introspect", Form: url.Values{"token": {tc.token}},
				Header: http.Header{"Authorization": {endpointtest.Basic(c.ID, c.Secret)}},
			})
			if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("introspect(%s) = %d %s (Cache-Control %q), want 200 no-store", tc.name, res.Status, res.Raw, res.Header.Get("Cache-Control"))
			}
			got := res.Body
			for k, v := range tc.want {
				if v == "*" && got[k] != nil {
					got[k] = "*" // present; its value is not this test's subject
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("introspect(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

// TestIntrospectRefusals: only authenticated confidential clients may ask
// (RFC 7662 §2.1), and the request must name one token.
func TestIntrospectRefusals(t *testing.T) {
	e := endpointtest.New(t)
	h := newHandler(e)
	rs := e.MustClient(t, service.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
	spa := e.MustClient(t, service.NewClient{Name: "spa", Public: true, GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://spa.example/cb"}})
	basic := http.Header{"Authorization": {endpointtest.Basic(rs.ID, rs.Secret)}}
	cases := append(endpointtest.ClientAuthCases(rs, url.Values{"token": {"x"}}), []endpointtest.Case{
		{Name: "public client", Form: url.Values{"token": {"x"}, "client_id": {spa.ID}}, Status: 401, Error: "invalid_client"},
		{Name: "client_secret_post", Form: url.Values{"token": {"x"}, "client_id": {rs.ID}, "client_secret": {rs.Secret}}, Status: 200},
		{Name: "no token", Form: url.Values{}, Header: basic, Status: 400, Error: "invalid_request"},
		{Name: "two tokens", Form: url.Values{"token": {"a", "b"}}, Header: basic, Status: 400, Error: "invalid_request"},
		{Name: "two hints", Form: url.Values{"token": {"a"}, "token_type_hint": {"access_token", "refresh_token"}}, Header: basic,
			Status: 400, Error: "invalid_request"},
		{Name: "unknown hint", Form: url.Values{"token": {"a"}, "token_type_hint": {"id_token"}}, Header: basic, Status: 200},
		{Name: "GET", Method: "GET", Header: basic, Status: 405},
	}...)
	endpointtest.Check(t, h.Routes(), "/oauth2/introspect", cases)
}

func TestRoutes(t *testing.T) {
	want := []string{"POST /oauth2/introspect introspection_endpoint"}
	if diff := cmp.Diff(want, endpointtest.Patterns((&Handler{}).Routes())); diff != "" {
		t.Errorf("Routes() mismatch (-want +got):\n%s", diff)
	}
}
