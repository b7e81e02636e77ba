package revoke

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
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

func newHandler(e *endpointtest.Env) *Handler {
	return &Handler{
		Clients: e.Clients, AccessTokens: e.Guard, RefreshTokens: e.DB, Revoker: e.Revoker, Audit: e.Audit,
		RefreshPrefix: endpointtest.RefreshPrefix, AccessTTL: endpointtest.AccessTTL, ClockSkew: endpointtest.ClockSkew,
		MaxBody: endpointtest.MaxBody, Now: e.Clock.Now,
	}
}

// auth returns the request of c: HTTP Basic, or client_id alone for a
// public client (c.Secret "").
func auth(c service.CreatedClient, form url.Values) (url.Values, http.Header) {
	if c.Secret == "" {
		form.Set("client_id", c.ID)
		return form, nil
	}
	return form, http.Header{"Authorization": {endpointtest.Basic(c.ID, c.Secret)}}
}

// TestRevoke is RFC 7009 §2: a client revokes its own access and refresh
// tokens (a refresh token with its whole family), and every other token —
// another client's, unknown, expired, already revoked — gets the same 200
// and changes nothing.
func TestRevoke(t *testing.T) {
	e := endpointtest.New(t)
	h := newHandler(e)
	alice := e.MustUser(t, "alice", "openid", "read")
	rs := e.MustClient(t, service.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
	app := e.MustClient(t, service.NewClient{Name: "app", GrantTypes: []string{"password", "refresh_token"}})
	spa := e.MustClient(t, service.NewClient{Name: "spa", Public: true, GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://spa.example/cb"}})
	now := store.Normalize(e.Clock.Now())
	access := func(c service.CreatedClient, jti string) string {
		return e.MustAccessToken(t, endpointtest.AccessToken{Subject: alice.ID, ClientID: c.ID, ID: jti, Scopes: []string{"read"}})
	}
	refresh := func(c service.CreatedClient, family string, edit func(*store.RefreshToken)) string {
		rt := store.RefreshToken{FamilyID: family, ClientID: c.ID, UserID: alice.ID, Scopes: []string{"read"}}
		if edit != nil {
			edit(&rt)
		}
		return e.MustRefreshToken(t, rt)
	}
	alreadyRevoked := access(app, "already-revoked")
	if err := e.Revoker.Revoke(t.Context(), guard.RevokeToken, "already-revoked", now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client service.CreatedClient
		token  string
		hint   string
		// target is the audit target of a real token: its jti, or
		// "family=" and its family id; "" for junk.
		target string
		// wantRevoked: the token is refused afterwards; wantAudit: the
		// result of the token.revoked event ("" for none).
		wantRevoked bool
		wantAudit   string
		// familyToken, when set, is an access token of the refresh
		// token's family: refused with it.
		familyToken string
	}{
		{name: "own client token", client: rs, token: e.MustAccessToken(t, endpointtest.AccessToken{Subject: rs.ID, ClientID: rs.ID, ID: "rs-own"}),
			target: "rs-own", wantRevoked: true, wantAudit: audit.ResultSuccess},
		{name: "own user access token", client: app, token: access(app, "app-own"), target: "app-own", wantRevoked: true, wantAudit: audit.ResultSuccess},
		{name: "access token with a refresh hint", client: app, token: access(app, "app-hint"), hint: "refresh_token",
			target: "app-hint", wantRevoked: true, wantAudit: audit.ResultSuccess},
		{name: "another client's access token", client: rs, token: access(app, "not-rs"), target: "not-rs", wantAudit: audit.ResultFailure},
		{name: "already revoked access token", client: app, token: alreadyRevoked, target: "already-revoked", wantRevoked: true},
		{name: "own refresh token", client: app, token: refresh(app, "fam-own", nil), target: "family=fam-own",
			wantRevoked: true, wantAudit: audit.ResultSuccess, familyToken: access(app, "fam-own.a1")},
		{name: "refresh token with an access hint", client: app, token: refresh(app, "fam-hint", nil), hint: "access_token",
			target: "family=fam-hint", wantRevoked: true, wantAudit: audit.ResultSuccess},
		{name: "public client's refresh token", client: spa, token: refresh(spa, "fam-spa", nil), target: "family=fam-spa",
			wantRevoked: true, wantAudit: audit.ResultSuccess, familyToken: access(spa, "fam-spa.a1")},
		{name: "another client's refresh token", client: rs, token: refresh(app, "fam-other", nil), target: "family=fam-other",
			wantAudit: audit.ResultFailure, familyToken: access(app, "fam-other.a1")},
		{name: "expired refresh token", client: app, token: refresh(app, "fam-expired", func(rt *store.RefreshToken) {
			rt.CreatedAt, rt.ExpiresAt = now.Add(-time.Hour), now
		}), target: "family=fam-expired"},
		{name: "unknown refresh token", client: app, token: "grt_nothing"},
		{name: "unknown api key", client: app, token: "gk_nothing"},
		{name: "three dots", client: app, token: "a.b.c"},
		{name: "garbage", client: app, token: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form, hdr := auth(tc.client, url.Values{"token": {tc.token}})
			if tc.hint != "" {
				form.Set("token_type_hint", tc.hint)
			}
			res := endpointtest.Serve(t, h.Routes(), endpointtest.Request{Method: "POST", Path: "/oauth2/revoke", Form: form, Header: hdr})
			if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" || strings.TrimSpace(res.Raw) != "{}" {
				t.Fatalf("revoke(%s) = %d %s (Cache-Control %q), want 200 {} no-store", tc.name, res.Status, res.Raw, res.Header.Get("Cache-Control"))
			}
			if got := tc.target != "" && refused(t, e, tc.token); got != tc.wantRevoked {
				t.Errorf("revoke(%s): token refused afterwards = %v, want %v", tc.name, got, tc.wantRevoked)
			}
			if tc.familyToken != "" {
				if got := refused(t, e, tc.familyToken); got != tc.wantRevoked {
					t.Errorf("revoke(%s): the family's access token refused = %v, want %v", tc.name, got, tc.wantRevoked)
				}
			}
			var results []string
			for _, ev := range e.AuditEvents(t, audit.TokenRevoked) {
				if tc.target != "" && ev.Target == tc.target {
					results = append(results, ev.Result)
				}
			}
			var want []string
			if tc.wantAudit != "" {
				want = []string{tc.wantAudit}
			}
			if diff := cmp.Diff(want, results); diff != "" {
				t.Errorf("revoke(%s) audit results for %q mismatch (-want +got):\n%s", tc.name, tc.target, diff)
			}
		})
	}
}

// refused reports whether token, a real one, is no longer good: an
// access token the guard refuses, or a refresh token revoked in the store.
func refused(t *testing.T, e *endpointtest.Env, token string) bool {
	t.Helper()
	if strings.HasPrefix(token, endpointtest.RefreshPrefix) {
		rt, err := e.DB.GetRefreshToken(t.Context(), secret.Hash(token))
		if err != nil {
			t.Fatalf("GetRefreshToken() error = %v", err)
		}
		return rt.RevokedAt != nil
	}
	_, err := e.Guard.VerifyAccessToken(t.Context(), token)
	return err != nil
}

// TestRevokeRefusals: the client must authenticate (RFC 7009 §2.1; 401
// invalid_client, with the Basic challenge when it tried Basic) and name
// one token.
func TestRevokeRefusals(t *testing.T) {
	e := endpointtest.New(t)
	h := newHandler(e)
	rs := e.MustClient(t, service.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
	basic := http.Header{"Authorization": {endpointtest.Basic(rs.ID, rs.Secret)}}
	cases := append(endpointtest.ClientAuthCases(rs, url.Values{"token": {"x"}}), []endpointtest.Case{
		{Name: "no token", Form: url.Values{}, Header: basic, Status: 400, Error: "invalid_request"},
		{Name: "two hints", Form: url.Values{"token": {"x"}, "token_type_hint": {"access_token", "refresh_token"}}, Header: basic,
			Status: 400, Error: "invalid_request"},
		{Name: "unknown hint", Form: url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}, Header: basic, Status: 200},
		{Name: "not a form", Form: url.Values{"token": {"x"}}, Header: http.Header{"Authorization": basic["Authorization"],
			"Content-Type": {"application/json"}}, Status: 400, Error: "invalid_request"},
		{Name: "GET", Method: "GET", Header: basic, Status: 405},
	}...)
	endpointtest.Check(t, h.Routes(), "/oauth2/revoke", cases)
}

func TestRoutes(t *testing.T) {
	want := []string{"POST /oauth2/revoke revocation_endpoint"}
	if diff := cmp.Diff(want, endpointtest.Patterns((&Handler{}).Routes())); diff != "" {
		t.Errorf("Routes() mismatch (-want +got):\n%s", diff)
	}
}
