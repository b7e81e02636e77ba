package e2e_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The server as a process: starting on a configuration, restarting,
// health and readiness. Its files have filemode_test.go, its password
// worker passwordworker_test.go, its housekeeping housekeeping_test.go.

// TestHealthAndReadiness: /healthz, /readyz and /metrics answer, an
// unknown path is a JSON 404, and every response has a request id.
func TestHealthAndReadiness(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if res, body := get(t, s.URL+p, nil); res.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, res.StatusCode, body)
		}
	}
	res, body := get(t, s.URL+"/no/such/thing", nil)
	if res.StatusCode != 404 || decode(t, body)["error"] != "not_found" {
		t.Errorf("unknown path: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on responses")
	}
}

// TestRestartKeepsTokensValid: tokens issued before a restart are
// accepted after it (the keys and the master secret are the database's
// and the configuration's, not the process's).
func TestRestartKeepsTokensValid(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s1 := newServer(t)
		mustCreateUser(t, s1, "hank", "password-1")
		tok := mustToken(t, s1, "hank", "password-1")["access_token"].(string)
		s2 := s1.restart(t)
		res, body := get(t, s2.URL+"/users/me", bearer(tok))
		if res.StatusCode != 200 {
			t.Fatalf("after restart: %d %s", res.StatusCode, body)
		}
	})
}

// TestIssuerNoClientCanReach: an issuer naming an unspecified address
// (0.0.0.0, ::) or no host is refused when it is configured, and warned
// about when it is the default taken from such a listen address.
func TestIssuerNoClientCanReach(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://:8080", false},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"https://auth.example.com", true},
	} {
		err := gatehouse.Config{Issuer: tc.issuer}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(issuer %q) = %v, want ok %v", tc.issuer, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		addr string
		warn bool
	}{
		{"0.0.0.0:8080", true},
		{"[::]:8080", true},
		{":8080", true},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		var logs lockedWriter
		s, err := gatehouse.New(context.Background(), gatehouse.Config{
			Addr: tc.addr, DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "g.db"), Secret: make([]byte, 32),
			InsecureFastPasswordHashing: true, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatalf("New(addr %q): %v", tc.addr, err)
		}
		s.Close()
		warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "GATEHOUSE_ISSUER")
		if warned != tc.warn {
			t.Errorf("New(addr %q, no issuer) warned %v, want %v:\n%s", tc.addr, warned, tc.warn, logs.String())
		}
	}
}
