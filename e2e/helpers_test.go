package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/clidb"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// The helpers every subject shares: the test server and its factories,
// the one settable clock, the one waitFor, and the HTTP and
// administration helpers.

// testServer is a real gatehouse on SQLite in a temp dir (or PostgreSQL)
// behind httptest, with the test's own handle on its database.
type testServer struct {
	*gatehouse.Server
	URL  string
	HTTP *httptest.Server // nil for a server without a listener (newInProcessServer)
	Logs *lockedWriter
	// DB is the test's own connection to the server's database: to read
	// what the server wrote and to change records behind its back.
	DB *sqlstore.DB

	cfg    gatehouse.Config // as given to gatehouse.New
	client *http.Client     // reaches this server (serve)
}

// newServerFunc builds a test server on one backend; opts may change the
// configuration.
type newServerFunc = func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer

// eachBackend runs body once on SQLite and once on PostgreSQL (when
// GATEHOUSE_TEST_POSTGRES_URL is set; in CI it must be), with a server
// factory for that backend.
func eachBackend(t *testing.T, body func(t *testing.T, newServer newServerFunc)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newTestServer) })
	t.Run("postgres", func(t *testing.T) {
		url := sqlstoretest.PostgresURL(t)
		body(t, func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
			return newTestServer(t, append([]func(*gatehouse.Config){func(c *gatehouse.Config) { c.DatabaseURL = url }}, opts...)...)
		})
	})
}

// newTestServer builds the real server behind httptest.NewServer; opts
// may change the config.
func newTestServer(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
	t.Helper()
	return newTestServerCtx(t, context.Background(), opts...)
}

// newTestServerCtx is newTestServer with the context New gets (which may
// carry a password worker, as `gatehouse serve` passes it).
func newTestServerCtx(t testing.TB, ctx context.Context, opts ...func(*gatehouse.Config)) *testServer {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	cfg, logs := defaultConfig(t, "http://"+hs.Listener.Addr().String())
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, ctx, hs, cfg, logs)
}

// newInProcessServer builds the server without a listener, for tests in a
// testing/synctest bubble (no sockets there): requests go straight to its
// ServeHTTP (serve, postForm, mustToken).
func newInProcessServer(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
	t.Helper()
	cfg, logs := defaultConfig(t, "http://gatehouse.test")
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, context.Background(), nil, cfg, logs)
}

// defaultConfig is the tests' configuration: SQLite in a temp dir, a
// fixed master secret, debug logs written to logs, fast hashing.
func defaultConfig(t testing.TB, issuer string) (gatehouse.Config, *lockedWriter) {
	logs := &lockedWriter{}
	return gatehouse.Config{
		DatabaseURL:                 "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		Issuer:                      issuer,
		Secret:                      make([]byte, 32),
		Logger:                      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		InsecureFastPasswordHashing: true,
	}, logs
}

// start runs gatehouse.New with cfg (whose logger writes to logs) and
// serves it on hs (nil: no listener); the server, the listener and the
// test's database handle are closed when the test ends.
func start(t testing.TB, ctx context.Context, hs *httptest.Server, cfg gatehouse.Config, logs *lockedWriter) *testServer {
	t.Helper()
	srv, err := gatehouse.New(ctx, cfg)
	if err != nil {
		if hs != nil {
			hs.Close()
		}
		t.Fatalf("gatehouse.New: %v", err)
	}
	s := &testServer{Server: srv, URL: cfg.Issuer, Logs: logs, cfg: cfg}
	if hs != nil {
		hs.Config.Handler = srv
		hs.Start()
		s.HTTP, s.URL, s.client = hs, hs.URL, http.DefaultClient
	} else {
		s.client = &http.Client{Transport: handlerTransport{srv}}
	}
	t.Cleanup(s.close)
	s.DB = sqlstoretest.MustOpen(t, cfg.DatabaseURL, false)
	return s
}

// close stops the server as an operator would: the listener first, then
// Close, which also writes what the server held in memory (API-key usage,
// aggregated issuance). Closing again is harmless.
func (s *testServer) close() {
	if s.HTTP != nil {
		s.HTTP.Close()
	}
	_ = s.Server.Close()
}

// restart closes s and starts a server on the same database with the
// same configuration — the same issuer, so that what s issued stays valid
// — changed by opts.
func (s *testServer) restart(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
	t.Helper()
	s.close()
	cfg := s.cfg
	for _, o := range opts {
		o(&cfg)
	}
	var hs *httptest.Server
	if s.HTTP != nil {
		hs = httptest.NewUnstartedServer(nil)
	}
	return start(t, context.Background(), hs, cfg, s.Logs)
}

// handlerTransport sends a request straight to a handler, as a client on
// 127.0.0.1 would reach it.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host, r.RemoteAddr, r.RequestURI = r.URL.Host, "127.0.0.1:40000", r.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	w := httptest.NewRecorder()
	ht.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// serve sends req to s: over its listener, or in process.
func (s *testServer) serve(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	return doWith(t, s.client, req)
}

// postForm posts form to path on s.
func (s *testServer) postForm(t testing.TB, path string, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return s.serve(t, formRequest(t, s.URL+path, form, hdr))
}

// cluster is n gatehouse replicas on one database, sharing issuer and
// master secret, each behind its own httptest server.
type cluster struct {
	nodes  []*testServer
	issuer string
}

func newCluster(t *testing.T, dbURL string, n int, opts ...func(*gatehouse.Config)) *cluster {
	t.Helper()
	c := &cluster{}
	for i := range n {
		o := append([]func(*gatehouse.Config){func(cfg *gatehouse.Config) {
			cfg.DatabaseURL = dbURL
			if i > 0 {
				cfg.Issuer = c.issuer
			}
		}}, opts...)
		s := newTestServer(t, o...)
		if i == 0 {
			c.issuer = s.URL
		}
		c.nodes = append(c.nodes, s)
	}
	return c
}

// mustCLI opens s's database the way the gatehouse CLI does
// (internal/clidb): a service layer of its own, whose changes reach the
// running server through the revocation feed only, as those of
// `gatehouse user disable` do. It logs to s.Logs.
func mustCLI(t testing.TB, s *testServer) *service.Manager {
	t.Helper()
	c := s.Config()
	db, err := clidb.Open(context.Background(), clidb.Config{
		DatabaseURL: c.DatabaseURL, Secret: c.Secret, SecretFile: c.SecretFile,
		SigningAlg: c.SigningAlg, JWTSecret: c.JWTSecret, KeyPublishDelay: c.KeyPublishDelay,
		APIKeyPrefix: c.APIKeyPrefix, MaxTokenTTL: c.AccessTokenTTL + c.ClockSkew, Logger: c.Logger,
	})
	if err != nil {
		t.Fatalf("clidb.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db.Manager
}

// clock is the tests' one settable clock. A server built withClock reads
// the time from it (Config.Now) and sees it move only when the test calls
// Advance: a test that needs an hour to pass moves the clock, it never
// sleeps.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock returns a clock stopped at the current second (of the bubble,
// in a synctest test).
func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Running returns c's time plus the wall-clock time passed since Running
// was called: for a party that must see time pass by itself (a remote
// guard, whose JWKS fetches are a second apart) and never be behind the
// servers on c.
func (c *clock) Running() func() time.Time {
	start := time.Now()
	return func() time.Time { return c.Now().Add(time.Since(start)) }
}

// withClock makes a server read the time from c.
func withClock(c *clock) func(*gatehouse.Config) {
	return func(cfg *gatehouse.Config) { cfg.Now = c.Now }
}

// waitFor polls cond until it holds, failing the test after 20 s. It is
// for work the server does in the background that the test cannot drive
// (a replica hearing of a change, a worker restarting); it asserts no
// timing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedWriter lets concurrent log lines share one buffer.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// String returns everything written so far.
func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// Reset forgets everything written so far.
func (w *lockedWriter) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Reset()
}

// HTTP helpers.

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	return doWith(t, http.DefaultClient, req)
}

func doWith(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func get(t testing.TB, u string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func doForm(t testing.TB, u string, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return do(t, formRequest(t, u, form, hdr))
}

func formRequest(t testing.TB, u string, form url.Values, hdr http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return req
}

func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return m
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
func apiKeyHeader(k string) map[string]string {
	return map[string]string{"X-API-Key": k}
}

// basic is the value of an HTTP Basic Authorization header for a client,
// each part form-encoded as RFC 6749 §2.3.1 says.
func basic(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func basicHeader(cc client) http.Header {
	return http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}}
}

// clientToken gets a client-credentials token.
func clientToken(t testing.TB, s *testServer, cc client) string {
	t.Helper()
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}},
		http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("client credentials token: %d %s", res.StatusCode, body)
	}
	return decode(t, body)["access_token"].(string)
}

// credential is how a request authenticates.
type credential struct {
	header, value string
}

func bearerCred(tok string) credential { return credential{"Authorization", "Bearer " + tok} }
func apiKeyCred(key string) credential { return credential{"X-API-Key", key} }

func (c credential) request(u string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, u, nil)
	r.Header.Set(c.header, c.value)
	return r
}

// meStatus returns the status of GET /users/me on s with cred.
func meStatus(t testing.TB, s *testServer, cred credential) int {
	t.Helper()
	res, _ := s.serve(t, cred.request(s.URL+"/users/me"))
	return res.StatusCode
}

// jwtPayload decodes a compact JWT's payload without verifying it.
func jwtPayload(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, raw)
}

// mistype returns key with its last character changed: a key that looks
// right but is not (always different from key, whatever it ends in).
func mistype(key string) string {
	last := byte('x')
	if key[len(key)-1] == last {
		last = 'y'
	}
	return key[:len(key)-1] + string(last)
}

// Administration helpers, through the embedding API (Server.Admin).

// client is a registered OAuth2 client and its secret ("" for a public
// one).
type client struct {
	gatehouse.Client
	Secret string
}

// mustClient registers a client; an empty name is "test client".
func mustClient(t testing.TB, s *testServer, in gatehouse.NewClient) client {
	t.Helper()
	if in.Name == "" {
		in.Name = "test client"
	}
	c, secret, err := s.Admin().CreateClient(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateClient(%+v): %v", in, err)
	}
	return client{Client: c, Secret: secret}
}

func mustCreateUser(t testing.TB, s *testServer, name, pw string, scopes ...string) gatehouse.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), name, pw, scopes, false)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func mustAPIKey(t testing.TB, s *testServer, owner string, scopes ...string) string {
	t.Helper()
	_, key, err := s.CreateAPIKey(context.Background(), owner, "test", scopes, 0)
	if err != nil {
		t.Fatalf("CreateAPIKey(%q): %v", owner, err)
	}
	return key
}

// mustToken gets an access token with the password grant.
func mustToken(t testing.TB, s *testServer, user, pw string, scope ...string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	res, body := s.postForm(t, "/token", form, nil)
	if res.StatusCode != 200 {
		t.Fatalf("POST /token = %d %s", res.StatusCode, body)
	}
	return decode(t, body)
}

// CreateUser creates a user through the embedding API.
func (s *testServer) CreateUser(ctx context.Context, name, pw string, scopes []string, admin bool) (gatehouse.User, error) {
	return s.Admin().CreateUser(ctx, gatehouse.NewUser{Username: name, Password: pw, Scopes: scopes, Admin: admin})
}

// CreateAPIKey mints a key through the embedding API and returns its id
// and secret.
func (s *testServer) CreateAPIKey(ctx context.Context, owner, name string, scopes []string, expiresIn time.Duration) (string, string, error) {
	k, key, err := s.Admin().CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: owner, Name: name, Scopes: scopes, ExpiresIn: expiresIn})
	return k.ID, key, err
}

// LookupUser finds a user through the embedding API.
func (s *testServer) LookupUser(ctx context.Context, nameOrID string) (gatehouse.User, error) {
	return s.Admin().User(ctx, nameOrID)
}

// badRequest is a malformed or hostile request: it must get a 4xx with a
// JSON error body.
type badRequest struct {
	name   string
	method string
	path   string
	body   []byte
	ctype  string
	hdr    map[string]string
}

// wantRefusedCleanly sends each request to s: each gets a 4xx with a JSON
// error code, never a 5xx or a panic; then s is still healthy and still
// accepts the good access token.
func wantRefusedCleanly(t *testing.T, s *testServer, good string, reqs []badRequest) {
	t.Helper()
	for _, c := range reqs {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.URL+c.path, bytes.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.hdr {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			res, body := do(t, req)
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("%s %s = %d, want 4xx (%.200s)", c.method, c.path, res.StatusCode, body)
			}
			if m := decode(t, body); m["error"] == nil || m["error"] == "" {
				t.Errorf("%s %s: body %v has no error code", c.method, c.path, m)
			}
		})
	}
	if res, _ := get(t, s.URL+"/healthz", nil); res.StatusCode != 200 {
		t.Fatalf("/healthz = %d after the bad requests", res.StatusCode)
	}
	if res, body := get(t, s.URL+"/users/me", bearer(good)); res.StatusCode != 200 {
		t.Fatalf("good token refused after the bad requests: %d %s", res.StatusCode, body)
	}
	if strings.Contains(s.Logs.String(), "panic") {
		t.Error("a request panicked (see the server log)")
	}
}
