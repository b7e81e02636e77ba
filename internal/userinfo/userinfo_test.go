package userinfo

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/endpointtest"
	"github.com/gatehouse/gatehouse/internal/service"
)

// TestUserInfo is OIDC Core §5.3 with RFC 6750 errors: sub always, the
// profile claims with the profile scope, openid required, and only an
// active user's access token.
func TestUserInfo(t *testing.T) {
	e := endpointtest.New(t)
	h := &Handler{Tokens: e.Guard, Users: e.Users, MaxBody: endpointtest.MaxBody}
	alice := e.MustUser(t, "alice", "openid", "profile", "read")
	bob := e.MustUser(t, "bob", "openid")
	app := e.MustClient(t, service.NewClient{Name: "app", GrantTypes: []string{"password", "refresh_token"}})
	rs := e.MustClient(t, service.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
	tok := func(sub string, scopes ...string) string {
		return e.MustAccessToken(t, endpointtest.AccessToken{Subject: sub, ClientID: app.ID, Scopes: scopes})
	}
	full := tok(alice.ID, "openid", "profile")
	bobToken := tok(bob.ID, "openid")
	if _, err := e.Manager.SetDisabled(t.Context(), audit.CLI(), "bob", true); err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	revoked := e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: app.ID, ID: "revoked", Scopes: []string{"openid"}})
	if err := e.Revoker.Revoke(t.Context(), guard.RevokeToken, "revoked", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	key := e.MustAPIKey(t, "alice")
	bearer := func(v string) http.Header { return http.Header{"Authorization": {"Bearer " + v}} }

	tests := []struct {
		name   string
		method string
		header http.Header
		form   url.Values
		// want is the body of a 200; otherwise wantStatus and the
		// WWW-Authenticate challenge.
		want          map[string]any
		wantStatus    int
		wantChallenge string
	}{
		{name: "GET with profile", method: "GET", header: bearer(full),
			want: map[string]any{"sub": alice.ID, "preferred_username": "alice", "name": "alice"}},
		{name: "POST with profile", method: "POST", header: bearer(full),
			want: map[string]any{"sub": alice.ID, "preferred_username": "alice", "name": "alice"}},
		{name: "openid only", method: "GET", header: bearer(tok(alice.ID, "openid", "read")), want: map[string]any{"sub": alice.ID}},
		{name: "form access_token", method: "POST", form: url.Values{"access_token": {full}},
			want: map[string]any{"sub": alice.ID, "preferred_username": "alice", "name": "alice"}},
		{name: "two form access_tokens", method: "POST", form: url.Values{"access_token": {full, full + "x"}},
			wantStatus: 400, wantChallenge: `Bearer realm="gatehouse", error="invalid_request"`},
		{name: "no openid", method: "GET", header: bearer(tok(alice.ID, "read")),
			wantStatus: 403, wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="openid"`},
		{name: "no token", method: "GET", wantStatus: 401, wantChallenge: `Bearer realm="gatehouse"`},
		{name: "tampered token", method: "GET", header: bearer(full[:len(full)-4] + "AAAA"),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "revoked token", method: "GET", header: bearer(revoked),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "expired token", method: "GET", header: bearer(e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID,
			ClientID: app.ID, Scopes: []string{"openid"}, IssuedAt: now.Add(-2 * endpointtest.AccessTTL)})),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "disabled user", method: "GET", header: bearer(bobToken),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "unknown user", method: "GET", header: bearer(tok("nobody", "openid")),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "client's own token", method: "GET", header: bearer(e.MustAccessToken(t, endpointtest.AccessToken{Subject: rs.ID,
			ClientID: rs.ID, Scopes: []string{"openid"}})), wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "api key header", method: "GET", header: http.Header{"X-Api-Key": {key.Secret}},
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "api key as bearer", method: "GET", header: bearer(key.Secret),
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
		{name: "api key in the form", method: "POST", form: url.Values{"access_token": {key.Secret}},
			wantStatus: 401, wantChallenge: `Bearer realm="gatehouse", error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := endpointtest.Serve(t, h.Routes(), endpointtest.Request{Method: tc.method, Path: "/oauth2/userinfo", Header: tc.header, Form: tc.form})
			if tc.want != nil {
				if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("userinfo(%s) = %d %s (Cache-Control %q), want 200 no-store", tc.name, res.Status, res.Raw, res.Header.Get("Cache-Control"))
				}
				if diff := cmp.Diff(tc.want, res.Body); diff != "" {
					t.Errorf("userinfo(%s) mismatch (-want +got):\n%s", tc.name, diff)
				}
				return
			}
			if res.Status != tc.wantStatus || res.Header.Get("WWW-Authenticate") != tc.wantChallenge {
				t.Errorf("userinfo(%s) = %d %q %s, want %d %q", tc.name, res.Status, res.Header.Get("WWW-Authenticate"), res.Raw,
					tc.wantStatus, tc.wantChallenge)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	want := []string{"GET /oauth2/userinfo userinfo_endpoint", "POST /oauth2/userinfo"}
	if diff := cmp.Diff(want, endpointtest.Patterns((&Handler{}).Routes())); diff != "" {
		t.Errorf("Routes() mismatch (-want +got):\n%s", diff)
	}
}
