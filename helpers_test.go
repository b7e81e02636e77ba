package gatehouse_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// testServer is a real gatehouse on SQLite in a temp dir behind httptest.
type testServer struct {
	*gatehouse.Server
	URL  string
	HTTP *httptest.Server
	Logs *lockedWriter
}

// eachBackend runs body once on SQLite and once on PostgreSQL (when
// GATEHOUSE_TEST_POSTGRES_URL is set; in CI it must be), with a server
// factory for that backend.
func eachBackend(t *testing.T, body func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newTestServer) })
	t.Run("postgres", func(t *testing.T) {
		url := sqlstoretest.PostgresURL(t)
		body(t, func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
			return newTestServer(t, append([]func(*gatehouse.Config){func(c *gatehouse.Config) { c.DatabaseURL = url }}, opts...)...)
		})
	})
}

// newTestServer builds the real server; opts may change the config.
func newTestServer(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
	t.Helper()
	logs := &lockedWriter{b: &strings.Builder{}}
	hs := httptest.NewUnstartedServer(nil)
	cfg := gatehouse.Config{
		DatabaseURL:                 "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		Issuer:                      "http://" + hs.Listener.Addr().String(),
		Secret:                      make([]byte, 32),
		Logger:                      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		InsecureFastPasswordHashing: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := gatehouse.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	hs.Config.Handler = srv
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &testServer{Server: srv, URL: hs.URL, HTTP: hs, Logs: logs}
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
	res, body := doForm(t, s.URL+"/token", form, nil)
	if res.StatusCode != 200 {
		t.Fatalf("POST /token = %d %s", res.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return m
}

func doForm(t testing.TB, u string, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
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

func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return m
}
