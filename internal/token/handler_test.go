package token

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/endpointtest"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

const testIssuer = "https://auth.example"

// fixture is a token Handler on a real SQLite store with a user "alice"
// (scopes openid read write), a confidential client "conf" (every grant but
// client_credentials), a machine client "machine" (client_credentials) and
// a public client "spa" (authorization_code, refresh_token).
type fixture struct {
	h       *Handler
	mux     *http.ServeMux
	db      *sqlstore.DB
	clock   *endpointtest.Clock
	revoked *guard.DenyList
	user    store.User
	conf    service.CreatedClient
	machine service.CreatedClient
	spa     service.CreatedClient
}

func newFixture(t *testing.T, edit func(*Handler)) *fixture {
	t.Helper()
	ctx := context.Background()
	db := sqlstoretest.NewSQLite(t)
	clock := endpointtest.NewClock()
	keys, err := signing.New(signing.Config{Store: db, Secret: bytes.Repeat([]byte{7}, 32), Algorithm: "ES256",
		MaxTokenTTL: 20 * time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rec := &audit.Recorder{Store: db, Now: clock.Now}
	deny := guard.NewDenyList(clock.Now)
	mgr := &service.Manager{Store: db, Hasher: password.New(password.Config{Params: password.TestParams()}), Keys: keys,
		Audit: rec, Revoker: &revocation.Revoker{Store: db, DenyList: deny, Now: clock.Now}, Now: clock.Now}
	f := &fixture{db: db, clock: clock, revoked: deny}
	f.user, err = mgr.CreateUser(ctx, audit.CLI(), service.NewUser{Username: "alice", Password: "correct horse battery",
		Scopes: []string{"openid", "read", "write"}})
	if err != nil {
		t.Fatal(err)
	}
	now := store.Normalize(clock.Now())
	if err := db.CreateClient(ctx, store.Client{ID: FirstPartyClientID, Name: "first party", Public: true, FirstParty: true,
		GrantTypes: []string{"password", "refresh_token"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	mk := func(in service.NewClient) service.CreatedClient {
		c, err := mgr.CreateClient(ctx, audit.CLI(), in)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.conf = mk(service.NewClient{Name: "conf", GrantTypes: []string{"password", "refresh_token", "authorization_code"},
		RedirectURIs: []string{"https://app.example/cb"}})
	f.machine = mk(service.NewClient{Name: "machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read", "write"}})
	f.spa = mk(service.NewClient{Name: "spa", Public: true, GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://spa.example/cb"}})
	f.h = &Handler{
		Store: db, Manager: mgr, Keys: keys, Audit: rec, Issuer: testIssuer, Audience: testIssuer,
		AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour, ReuseGrace: 5 * time.Second, CodeTTL: time.Minute,
		RefreshKey: bytes.Repeat([]byte{9}, 32), PasswordGrant: true, MaxBody: 1 << 20, Now: clock.Now,
		Clients: clientauth.New(clientauth.Config{Store: db, Now: clock.Now}),
	}
	if edit != nil {
		edit(f.h)
	}
	f.mux = http.NewServeMux()
	route.List(f.h.Routes()).Register(f.mux)
	return f
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) str(k string) string { s, _ := r.body[k].(string); return s }

// post sends form to path; auth is "basic", "post" or "" for c.
func (f *fixture) post(t *testing.T, path string, form url.Values, c *service.CreatedClient, auth string) reply {
	t.Helper()
	form = cloneValues(form)
	var hdr http.Header = http.Header{}
	if c != nil {
		switch auth {
		case "basic":
			hdr.Set("Authorization", "Basic "+basicValue(c.ID, c.Secret))
		case "post":
			form.Set("client_id", c.ID)
			if c.Secret != "" {
				form.Set("client_secret", c.Secret)
			}
		}
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("POST %s: body %q is not JSON", path, rec.Body.String())
	}
	if rec.Code >= 500 {
		t.Fatalf("POST %s = %d %s", path, rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("POST %s: Cache-Control = %q, want no-store", path, got)
	}
	return reply{status: rec.Code, header: rec.Header(), body: m}
}

func (f *fixture) token(t *testing.T, form url.Values, c *service.CreatedClient, auth string) reply {
	t.Helper()
	return f.post(t, "/oauth2/token", form, c, auth)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func basicValue(id, sec string) string {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func wantError(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Errorf("%s = %d %v, want %d %s", what, r.status, r.body, status, code)
	}
}

func wantTokens(t *testing.T, what string, r reply, refresh, id bool) {
	t.Helper()
	if r.status != 200 || r.str("access_token") == "" || r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(900) {
		t.Fatalf("%s = %d %v", what, r.status, r.body)
	}
	if got := r.str("refresh_token") != ""; got != refresh {
		t.Errorf("%s: refresh token present = %v, want %v", what, got, refresh)
	}
	if got := r.str("id_token") != ""; got != id {
		t.Errorf("%s: id token present = %v, want %v", what, got, id)
	}
}

var pw = url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"correct horse battery"}}

func with(v url.Values, kv ...string) url.Values {
	out := cloneValues(v)
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}

func TestPasswordGrant(t *testing.T) {
	f := newFixture(t, nil)
	// No scope asked: all of the user's, openid included, so an ID token.
	wantTokens(t, "first-party password grant", f.token(t, pw, nil, ""), true, true)
	wantTokens(t, "confidential client, basic", f.token(t, with(pw, "scope", "read"), &f.conf, "basic"), true, false)
	wantTokens(t, "confidential client, post", f.token(t, with(pw, "scope", "openid read"), &f.conf, "post"), true, true)
	r := f.token(t, with(pw, "scope", "read"), nil, "")
	if r.str("scope") != "read" {
		t.Errorf("narrowed scope = %q", r.str("scope"))
	}
	wantError(t, "wrong password", f.token(t, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"nope"}}, nil, ""), 400, oauth.InvalidGrant)
	wantError(t, "unknown user", f.token(t, url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"nope"}}, nil, ""), 400, oauth.InvalidGrant)
	wantError(t, "missing password", f.token(t, url.Values{"grant_type": {"password"}, "username": {"alice"}}, nil, ""), 400, oauth.InvalidRequest)
	wantError(t, "duplicated username", f.token(t, with(pw, "username", "bob"), nil, ""), 400, oauth.InvalidRequest)
	wantError(t, "scope beyond the user's", f.token(t, with(pw, "scope", "admin"), nil, ""), 400, oauth.InvalidScope)
	wantError(t, "machine client", f.token(t, pw, &f.machine, "basic"), 400, oauth.UnauthorizedClient)

	off := newFixture(t, func(h *Handler) { h.PasswordGrant = false })
	wantError(t, "password grant off server-wide", off.token(t, pw, nil, ""), 400, oauth.UnsupportedGrantType)
}

func TestClientCredentialsGrant(t *testing.T) {
	f := newFixture(t, nil)
	agg := &IssueAggregator{Recorder: f.h.Audit, Now: f.clock.Now}
	f.h.Issued = agg
	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, auth := range []string{"basic", "post"} {
		r := f.token(t, cc, &f.machine, auth)
		wantTokens(t, "client_credentials "+auth, r, false, false)
		if r.str("scope") != "read write" {
			t.Errorf("scope = %q, want the client's", r.str("scope"))
		}
	}
	if r := f.token(t, with(cc, "scope", "read"), &f.machine, "basic"); r.str("scope") != "read" {
		t.Errorf("narrowed scope = %v", r.body)
	}
	wantError(t, "scope beyond the client's", f.token(t, with(cc, "scope", "admin"), &f.machine, "basic"), 400, oauth.InvalidScope)

	bad := f.machine
	bad.Secret = "gcs_wrong"
	r := f.token(t, cc, &bad, "basic")
	wantError(t, "wrong secret, basic", r, 401, oauth.InvalidClient)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("WWW-Authenticate = %q, want Basic", r.header.Get("WWW-Authenticate"))
	}
	r = f.token(t, cc, &bad, "post")
	wantError(t, "wrong secret, post", r, 401, oauth.InvalidClient)
	if r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("WWW-Authenticate = %q after client_secret_post, want none", r.header.Get("WWW-Authenticate"))
	}
	wantError(t, "no client", f.token(t, cc, nil, ""), 401, oauth.InvalidClient)
	wantError(t, "public client", f.token(t, cc, &f.spa, "post"), 400, oauth.UnauthorizedClient)
	wantError(t, "client without the grant", f.token(t, cc, &f.conf, "basic"), 400, oauth.UnauthorizedClient)

	// Issuance is audited in aggregate: nothing per token, one event per
	// client and minute on flush.
	events := func() []store.AuditEvent {
		es, err := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.TokenIssued), Actor: f.machine.ID})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	var before int
	for _, e := range events() {
		if e.Result == audit.ResultSuccess {
			before++
		}
	}
	if before != 0 {
		t.Errorf("%d token.issued success events before the flush, want 0", before)
	}
	if err := agg.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events() {
		if e.Result == audit.ResultSuccess {
			got = append(got, e.Reason)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "grant=client_credentials count=3 ") {
		t.Errorf("aggregated events = %q, want one with count=3", got)
	}
}

func TestRefreshGrant(t *testing.T) {
	f := newFixture(t, nil)
	first := f.token(t, with(pw, "scope", "read write"), &f.conf, "basic")
	rt := first.str("refresh_token")
	refresh := func(rt string, kv ...string) reply {
		return f.token(t, with(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, kv...), &f.conf, "basic")
	}
	r1 := refresh(rt)
	wantTokens(t, "refresh", r1, true, false)
	if r1.str("refresh_token") == rt {
		t.Error("refresh token not rotated")
	}
	// Within the grace window: the same successor.
	f.clock.Add(3 * time.Second)
	if r2 := refresh(rt); r2.status != 200 || r2.str("refresh_token") != r1.str("refresh_token") {
		t.Errorf("grace refresh = %d %v, want the same successor", r2.status, r2.body)
	}
	// Narrowing is allowed, widening is not.
	if r := refresh(r1.str("refresh_token"), "scope", "read"); r.status != 200 || r.str("scope") != "read" {
		t.Fatalf("narrowing refresh = %d %v", r.status, r.body)
	} else {
		wantError(t, "widening refresh", refresh(r.str("refresh_token"), "scope", "read write openid"), 400, oauth.InvalidScope)
	}
	// After the window, the replay revokes the family.
	f.clock.Add(10 * time.Second)
	wantError(t, "replay", refresh(rt), 400, oauth.InvalidGrant)
	events, err := f.db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.TokenReuseDetected)})
	if err != nil || len(events) != 1 {
		t.Errorf("reuse events = %d, %v; want 1", len(events), err)
	}
	wantError(t, "missing refresh_token", f.token(t, url.Values{"grant_type": {"refresh_token"}}, &f.conf, "basic"), 400, oauth.InvalidRequest)
	wantError(t, "duplicated refresh_token", refresh("a", "refresh_token", "b"), 400, oauth.InvalidRequest)
	wantError(t, "garbage refresh_token", refresh("grt_garbage"), 400, oauth.InvalidGrant)
	// Another client's token.
	other := f.token(t, pw, nil, "").str("refresh_token")
	wantError(t, "first-party token by conf", refresh(other), 400, oauth.InvalidGrant)
}

func TestCodeGrant(t *testing.T) {
	f := newFixture(t, nil)
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
	mkCode := func(c service.CreatedClient, redirect string, scopes ...string) string {
		t.Helper()
		value, _ := secret.Mint(CodePrefix)
		now := store.Normalize(f.clock.Now())
		err := f.db.CreateAuthCode(t.Context(), store.AuthCode{
			Hash: secret.Hash(value), ClientID: c.ID, UserID: f.user.ID, RedirectURI: redirect, Scopes: scopes,
			CodeChallenge: oauth.S256Challenge(verifier), CodeChallengeMethod: oauth.PKCES256, Nonce: "n-1",
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute), GrantID: store.NewID(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return value
	}
	exchange := func(c *service.CreatedClient, auth, code, redirect, ver string) reply {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
		if ver != "" {
			form.Set("code_verifier", ver)
		}
		return f.token(t, form, c, auth)
	}
	code := mkCode(f.conf, "https://app.example/cb", "openid", "read")
	r := exchange(&f.conf, "basic", code, "https://app.example/cb", verifier)
	// openid without offline_access: an ID token and no refresh token
	// (OIDC Core §11).
	wantTokens(t, "code exchange", r, false, true)
	wantError(t, "code replay", exchange(&f.conf, "basic", code, "https://app.example/cb", verifier), 400, oauth.InvalidGrant)

	pub := mkCode(f.spa, "https://spa.example/cb", "read")
	// Without openid, a client with the refresh grant gets a refresh token.
	wantTokens(t, "public client code exchange", exchange(&f.spa, "post", pub, "https://spa.example/cb", verifier), true, false)

	wantError(t, "wrong verifier", exchange(&f.conf, "basic", mkCode(f.conf, "https://app.example/cb"), "https://app.example/cb", verifier+"x"), 400, oauth.InvalidGrant)
	wantError(t, "missing verifier", exchange(&f.conf, "basic", mkCode(f.conf, "https://app.example/cb"), "https://app.example/cb", ""), 400, oauth.InvalidGrant)
	wantError(t, "other redirect uri", exchange(&f.conf, "basic", mkCode(f.conf, "https://app.example/cb"), "https://app.example/cb/", verifier), 400, oauth.InvalidGrant)
	wantError(t, "code of another client", exchange(&f.spa, "post", mkCode(f.conf, "https://app.example/cb"), "https://app.example/cb", verifier), 400, oauth.InvalidGrant)
	wantError(t, "missing code", f.token(t, url.Values{"grant_type": {"authorization_code"}}, &f.conf, "basic"), 400, oauth.InvalidRequest)
	expired := mkCode(f.conf, "https://app.example/cb")
	f.clock.Add(2 * time.Minute)
	wantError(t, "expired code", exchange(&f.conf, "basic", expired, "https://app.example/cb", verifier), 400, oauth.InvalidGrant)
}

func TestTokenEndpointErrors(t *testing.T) {
	f := newFixture(t, nil)
	wantError(t, "unknown grant", f.token(t, url.Values{"grant_type": {"urn:x"}}, &f.machine, "basic"), 400, oauth.UnsupportedGrantType)
	wantError(t, "missing grant_type", f.token(t, url.Values{}, &f.machine, "basic"), 400, oauth.InvalidRequest)
	wantError(t, "duplicated grant_type", f.token(t, url.Values{"grant_type": {"password", "password"}}, nil, ""), 400, oauth.InvalidRequest)
	wantError(t, "public client with a secret", f.token(t, with(pw, "client_id", FirstPartyClientID, "client_secret", "x"), nil, ""), 401, oauth.InvalidClient)
	// A GET is not a token request.
	req := httptest.NewRequest(http.MethodGet, "/oauth2/token?grant_type=password", nil)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth2/token = %d", rec.Code)
	}
	// JSON bodies are refused.
	req = httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(`{"grant_type":"password"}`))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"invalid_request"`) {
		t.Errorf("JSON token request = %d %s", rec.Code, rec.Body)
	}
	// The client cache does not outlive a change on this node.
	f.h.Clients.ForgetAll()
	if err := f.db.DeleteClient(t.Context(), f.machine.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Second) // past clientauth.DefaultTTL
	wantError(t, "deleted client", f.token(t, url.Values{"grant_type": {"client_credentials"}}, &f.machine, "basic"), 401, oauth.InvalidClient)
}
