package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/endpointtest"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

const (
	testIssuer       = "https://auth.example"
	firstPartyClient = "gatehouse"
)

// fixture is the REST Handler behind the real guard, on the real service
// layer and a real SQLite store: an admin "root" (scopes read write admin)
// and a user "alice" (read write), the first-party client and a machine
// client.
type fixture struct {
	t       *testing.T
	db      *sqlstore.DB
	clock   *endpointtest.Clock
	keys    *signing.Keys
	mgr     *service.Manager
	handler http.Handler
	routes  route.List
	logs    *bytes.Buffer
	root    store.User
	alice   store.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
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
	set := guard.NewDenyList(clock.Now)
	mgr := &service.Manager{
		Store: db, Hasher: password.New(password.Config{Params: password.TestParams()}), Keys: keys,
		Audit:   &audit.Recorder{Store: db, Now: clock.Now},
		Revoker: &revocation.Revoker{Store: db, DenyList: set, Now: clock.Now}, APIKeyPrefix: "gk_",
		MaxTokenTTL: 20 * time.Minute, Now: clock.Now,
	}
	g, err := guard.New(guard.Config{
		Issuer: testIssuer, Audience: testIssuer, Keys: keys, Revocations: set, Now: clock.Now,
		APIKeys: authn.NewVerifier(authn.VerifierConfig{Store: db, Prefix: "gk_", Now: clock.Now, Revoked: set}),
		// As the server does: a bearer token carries no username.
		Enrich: func(ctx context.Context, p *guard.Principal) error {
			if u, err := db.GetUser(ctx, p.Subject); err == nil {
				p.Username = u.Username
			}
			return nil
		},
		TokenCacheSize: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := new(bytes.Buffer)
	h := &Handler{Manager: mgr, Guard: g, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: clock.Now}
	routes := route.List(h.Routes())
	mux := http.NewServeMux()
	routes.Register(mux)
	f := &fixture{t: t, db: db, clock: clock, keys: keys, mgr: mgr, logs: logs, routes: routes,
		handler: http.MaxBytesHandler(mux, 1<<16)}
	now := store.Normalize(clock.Now())
	if err := db.CreateClient(ctx, store.Client{ID: firstPartyClient, Name: "first party", Public: true, FirstParty: true,
		GrantTypes: []string{"password", "refresh_token"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	f.root = f.mustUser("root", []string{"read", "write"}, true)
	f.alice = f.mustUser("alice", []string{"read", "write"}, false)
	return f
}

func (f *fixture) mustUser(name string, scopes []string, admin bool) store.User {
	f.t.Helper()
	u, err := f.mgr.CreateUser(f.t.Context(), audit.CLI(), service.NewUser{Username: name, Password: "pass-word-1",
		Scopes: scopes, Admin: admin})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// mustToken returns an access token of subject issued to client with scope.
func (f *fixture) mustToken(subject, client, scope string) string {
	f.t.Helper()
	now := f.clock.Now()
	tok, err := f.keys.IssueAccessToken(signing.AccessClaims{Issuer: testIssuer, Subject: subject,
		Audience: []string{testIssuer}, Expiry: now.Add(15 * time.Minute), IssuedAt: now, ID: store.NewID(),
		ClientID: client, Scope: scope})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// mustAPIKey returns a new API key of owner with scopes (nil: the owner's).
func (f *fixture) mustAPIKey(owner string, scopes []string) service.CreatedAPIKey {
	f.t.Helper()
	k, err := f.mgr.CreateAPIKey(f.t.Context(), audit.CLI(), service.NewAPIKey{Owner: owner, Name: "test", Scopes: scopes})
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// response is an answer of the handler.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test when it is not JSON.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// errorCode returns the "error" of an error body.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	r.json(t, &e)
	if e.Description == "" {
		t.Errorf("error body %s has no error_description", r.body)
	}
	return e.Error
}

// doBearer sends a request with cred as a bearer token, whatever it is.
func (f *fixture) doBearer(method, path, cred string) response {
	f.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// do sends a request with credential cred: "" for none, an API key
// (gk_...) in X-API-Key, anything else as a bearer token.
func (f *fixture) do(method, path, cred, body string) response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case cred == "":
	case strings.HasPrefix(cred, "gk_"):
		req.Header.Set("X-API-Key", cred)
	default:
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
