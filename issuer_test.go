package gatehouse_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

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
		logs.b = &strings.Builder{}
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
