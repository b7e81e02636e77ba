// Package endpointtest builds what the tests of an endpoint package need
// (introspect, revoke, userinfo, discovery, …) from the real parts, wired
// as the server wires them but without a whole gatehouse.Server: a
// migrated SQLite store, signing keys, the guard, the API-key verifier and
// user cache, the revocation deny list and its revoker, the client
// authenticator and the service layer, all on one test clock.
//
// Only tests import it. It imports the building blocks, never an endpoint
// package, so an endpoint's tests stay about that endpoint.
package endpointtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/clientauth"
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

// The environment's settings, as a server would configure them.
const (
	Issuer        = "https://auth.example"
	Audience      = Issuer
	APIKeyPrefix  = "gk_"
	RefreshPrefix = "grt_"
	AccessTTL     = 15 * time.Minute
	ClockSkew     = 5 * time.Second
	MaxBody       = 1 << 20
)

// Clock is a test clock: it stands still until Add moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock standing at the current second (UTC).
func NewClock() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// Env is the real parts an endpoint needs, built once by [New].
type Env struct {
	DB      *sqlstore.DB
	Clock   *Clock
	Keys    *signing.Keys
	Guard   *guard.Guard
	APIKeys *authn.Verifier
	Users   *authn.UserCache
	Revoked *guard.DenyList
	Revoker *revocation.Revoker
	Audit   *audit.Recorder
	Clients *clientauth.Authenticator
	// Manager creates users, clients and keys as the CLI does; its changes
	// clear the caches above at once.
	Manager *service.Manager
}

// New returns an environment on a fresh SQLite store with an ES256 signing
// key; everything is closed when t ends.
func New(t testing.TB) *Env {
	t.Helper()
	db := sqlstoretest.NewSQLite(t)
	clock := NewClock()
	keys, err := signing.New(signing.Config{Store: db, Secret: bytes.Repeat([]byte{7}, 32), Algorithm: "ES256",
		MaxTokenTTL: AccessTTL + ClockSkew, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	set := guard.NewDenyList(clock.Now)
	revoker := &revocation.Revoker{Store: db, DenyList: set, Now: clock.Now}
	rec := &audit.Recorder{Store: db, Now: clock.Now}
	users := authn.NewUserCache(authn.UserCacheConfig{Store: db, Now: clock.Now})
	verifier := authn.NewVerifier(authn.VerifierConfig{Store: db, Prefix: APIKeyPrefix, Now: clock.Now, Revoked: set})
	clients := clientauth.New(clientauth.Config{Store: db, Now: clock.Now})
	g, err := guard.New(guard.Config{
		Issuer: Issuer, Audience: Audience, Keys: keys, APIKeys: verifier, Revocations: set,
		APIKeyPrefix: APIKeyPrefix, Leeway: ClockSkew, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mgr := &service.Manager{
		Store: db, Hasher: password.New(password.Config{Params: password.TestParams()}), Keys: keys,
		Audit: rec, Revoker: revoker, APIKeyPrefix: APIKeyPrefix, MaxTokenTTL: AccessTTL + ClockSkew, Now: clock.Now,
		Changes: changes.New(revoker, clock.Now, users.Changed, verifier.Changed, clients.Changed),
	}
	return &Env{DB: db, Clock: clock, Keys: keys, Guard: g, APIKeys: verifier, Users: users,
		Revoked: set, Revoker: revoker, Audit: rec, Clients: clients, Manager: mgr}
}

// MustUser creates a user with scopes.
func (e *Env) MustUser(t testing.TB, name string, scopes ...string) store.User {
	t.Helper()
	u, err := e.Manager.CreateUser(t.Context(), audit.CLI(), service.NewUser{Username: name, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// MustClient creates a client.
func (e *Env) MustClient(t testing.TB, in service.NewClient) service.CreatedClient {
	t.Helper()
	if in.Name == "" {
		in.Name = "client"
	}
	c, err := e.Manager.CreateClient(t.Context(), audit.CLI(), in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MustAPIKey creates an API key of owner with scopes (nil: the owner's).
func (e *Env) MustAPIKey(t testing.TB, owner string, scopes ...string) service.CreatedAPIKey {
	t.Helper()
	k, err := e.Manager.CreateAPIKey(t.Context(), audit.CLI(), service.NewAPIKey{Owner: owner, Name: "test", Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// AccessToken describes an access token to mint.
type AccessToken struct {
	// Subject is the user id, or the client id for a client's own token.
	Subject  string
	ClientID string
	Scopes   []string
	// ID is the jti; "" mints a fresh one.
	ID string
	// Issuer and Audience default to the environment's.
	Issuer, Audience string
	// IssuedAt defaults to now; the token is valid for AccessTTL from it.
	IssuedAt time.Time
}

// MustAccessToken signs a.
func (e *Env) MustAccessToken(t testing.TB, a AccessToken) string {
	t.Helper()
	if a.ID == "" {
		a.ID = store.NewID()
	}
	if a.Issuer == "" {
		a.Issuer = Issuer
	}
	if a.Audience == "" {
		a.Audience = Audience
	}
	now := a.IssuedAt
	if now.IsZero() {
		now = e.Clock.Now()
	}
	tok, err := e.Keys.IssueAccessToken(signing.AccessClaims{
		Issuer: a.Issuer, Subject: a.Subject, Audience: []string{a.Audience},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(AccessTTL),
		ID: a.ID, ClientID: a.ClientID, Scope: strings.Join(a.Scopes, " "),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// MustRefreshToken stores rt, a refresh token, and returns its value. The
// zero fields of rt get defaults: a new family, created now, valid for a
// day.
func (e *Env) MustRefreshToken(t testing.TB, rt store.RefreshToken) string {
	t.Helper()
	value, _ := secret.Mint(RefreshPrefix)
	now := store.Normalize(e.Clock.Now())
	rt.Hash = secret.Hash(value)
	if rt.FamilyID == "" {
		rt.FamilyID = store.NewID()
	}
	if rt.CreatedAt.IsZero() {
		rt.CreatedAt, rt.AuthTime = now, now
	}
	if rt.ExpiresAt.IsZero() {
		rt.ExpiresAt = now.Add(24 * time.Hour)
	}
	if rt.IdleExpires.IsZero() {
		rt.IdleExpires = rt.ExpiresAt
	}
	if err := e.DB.CreateRefreshToken(t.Context(), rt); err != nil {
		t.Fatal(err)
	}
	return value
}

// AuditEvents returns the audit events of action, oldest first.
func (e *Env) AuditEvents(t testing.TB, action audit.Action) []store.AuditEvent {
	t.Helper()
	evs, err := e.DB.ListAudit(context.WithoutCancel(t.Context()), store.AuditFilter{Action: string(action)})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Request is a request to an endpoint under test.
type Request struct {
	Method, Path string
	// Form, when set, is the form-encoded body.
	Form url.Values
	// Header is sent as is.
	Header http.Header
}

// Basic returns the Authorization header value of client_secret_basic:
// both parts form-URL-encoded first (RFC 6749 §2.3.1).
func Basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// Response is an endpoint's answer with its JSON body decoded (nil when
// the body is not a JSON object).
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Serve sends req to routes (mounted on a fresh mux, as the server mounts
// them) and returns the answer.
func Serve(t testing.TB, routes []route.Route, req Request) Response {
	t.Helper()
	mux := http.NewServeMux()
	route.List(routes).Register(mux)
	body := strings.NewReader("")
	if req.Form != nil {
		body = strings.NewReader(req.Form.Encode())
	}
	r := httptest.NewRequestWithContext(t.Context(), req.Method, req.Path, body)
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Form != nil && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	out := Response{Status: w.Code, Header: w.Header(), Raw: w.Body.String()}
	_ = json.Unmarshal(w.Body.Bytes(), &out.Body)
	return out
}

// Case is a request and the status an endpoint must answer it with; for an
// error, the OAuth error code and whether the answer challenges the client
// to use HTTP Basic (WWW-Authenticate: Basic, RFC 6749 §5.2).
type Case struct {
	Name   string
	Method string // "" means POST
	Form   url.Values
	Header http.Header
	Status int
	Error  string
	Basic  bool
}

// ClientAuthCases are the requests an endpoint that authenticates clients
// answers with 401 invalid_client: no client, a wrong secret (by Basic and
// in the body), an unknown client, a confidential client without its
// secret; and with 400 invalid_request: Basic and client_secret together.
// c is a confidential client and form an otherwise good request.
func ClientAuthCases(c service.CreatedClient, form url.Values) []Case {
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	basic := func(id, secret string) http.Header { return http.Header{"Authorization": {Basic(id, secret)}} }
	return []Case{
		{Name: "no client", Form: with(), Status: 401, Error: "invalid_client"},
		{Name: "wrong secret, basic", Form: with(), Header: basic(c.ID, "gcs_wrong"), Status: 401, Error: "invalid_client", Basic: true},
		{Name: "wrong secret, post", Form: with("client_id", c.ID, "client_secret", "gcs_wrong"), Status: 401, Error: "invalid_client"},
		{Name: "unknown client, basic", Form: with(), Header: basic("nobody", "secret"), Status: 401, Error: "invalid_client", Basic: true},
		{Name: "unknown client, post", Form: with("client_id", "nobody"), Status: 401, Error: "invalid_client"},
		{Name: "confidential client without its secret", Form: with("client_id", c.ID), Status: 401, Error: "invalid_client"},
		{Name: "basic and client_secret", Form: with("client_secret", c.Secret), Header: basic(c.ID, c.Secret),
			Status: 400, Error: "invalid_request"},
	}
}

// Check sends every case to routes at path and checks the answers.
func Check(t *testing.T, routes []route.Route, path string, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			method := tc.Method
			if method == "" {
				method = http.MethodPost
			}
			res := Serve(t, routes, Request{Method: method, Path: path, Form: tc.Form, Header: tc.Header})
			if res.Status != tc.Status || (tc.Error != "" && res.Body["error"] != tc.Error) {
				t.Fatalf("%s %s (%s) = %d %s, want %d %s", method, path, tc.Name, res.Status, res.Raw, tc.Status, tc.Error)
			}
			if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic"); got != tc.Basic {
				t.Errorf("%s %s (%s) WWW-Authenticate = %q, want a Basic challenge %v", method, path, tc.Name, res.Header.Get("WWW-Authenticate"), tc.Basic)
			}
		})
	}
}

// Patterns lists routes as "METHOD /path advertised-name", for comparing a
// package's Routes with what it should serve.
func Patterns(routes []route.Route) []string {
	var out []string
	for _, r := range routes {
		out = append(out, strings.TrimSpace(r.Pattern()+" "+r.Advertise))
	}
	return out
}
