package clidb

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// quiet discards the audit lines and key events of the tests.
var quiet = slog.New(slog.DiscardHandler)

func mustOpen(t *testing.T, cfg Config) *DB {
	t.Helper()
	db, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open(%s) = %v", sqlstore.Where(cfg.DatabaseURL), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestOpenWithoutCreateCreatesNothing: without Create, Open refuses a
// database that is not there and leaves nothing behind: no SQLite file, no
// master secret, no tables. A database without its master secret gets no
// new one.
func TestOpenWithoutCreateCreatesNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "gatehouse.db")
		url := "sqlite:" + path
		_, err := Open(t.Context(), Config{Logger: quiet, DatabaseURL: url})
		if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(no file) error = %v, want ErrNoDatabase naming the file", err)
		}
		if es := dirEntries(t, dir); len(es) != 0 {
			t.Errorf("Open(no file) left %v behind", es)
		}
		// An empty file (touched, or left by an interrupted tool) is no
		// database either, and stays as it is.
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(t.Context(), Config{Logger: quiet, DatabaseURL: url}); !errors.Is(err, ErrNoDatabase) {
			t.Errorf("Open(empty file) error = %v, want ErrNoDatabase", err)
		}
		if es := dirEntries(t, dir); len(es) != 1 {
			t.Errorf("Open(empty file) left %v", es)
		}
		// With Create, a database and its master secret are made; then
		// it opens without Create.
		mustOpen(t, Config{Logger: quiet, DatabaseURL: url, Create: true}).Close()
		if es := dirEntries(t, dir); !strings.Contains(strings.Join(es, " "), "gatehouse.db.secret") {
			t.Errorf("Open(Create) made %v, want the master secret beside the database", es)
		}
		mustOpen(t, Config{Logger: quiet, DatabaseURL: url}).Close()
		if err := os.Remove(path + ".secret"); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(t.Context(), Config{Logger: quiet, DatabaseURL: url}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SECRET") {
			t.Errorf("Open without the master secret = %v, want an error naming GATEHOUSE_SECRET", err)
		}
		if _, err := os.Stat(path + ".secret"); err == nil {
			t.Error("Open made up a new master secret")
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqlstoretest.PostgresURL(t) // a fresh schema on which nothing ran
		cfg := Config{Logger: quiet, DatabaseURL: url, Secret: make([]byte, 32)}
		if _, err := Open(t.Context(), cfg); !errors.Is(err, ErrNoDatabase) {
			t.Errorf("Open(empty schema) error = %v, want ErrNoDatabase", err)
		}
		db := sqlstoretest.MustOpen(t, url, false)
		if n, err := db.Pending(t.Context()); err != nil || n == 0 {
			t.Errorf("after Open: pending migrations = %d, %v; want all of them (nothing created)", n, err)
		}
		cfg.Create = true
		mustOpen(t, cfg).Close()
		cfg.Create = false
		mustOpen(t, cfg).Close()
		if _, err := Open(t.Context(), Config{Logger: quiet, DatabaseURL: url}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SECRET") {
			t.Errorf("Open(PostgreSQL without a secret) = %v, want an error naming GATEHOUSE_SECRET", err)
		}
	})
}

// TestOpenClosesWhatItOpened: the connections Open made are gone after
// Close, and after an Open that failed half-way.
func TestOpenClosesWhatItOpened(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	watch := sqlstoretest.MustOpen(t, url, false)
	conns := func() int {
		t.Helper()
		var n int
		if err := watch.SQL().QueryRowContext(t.Context(),
			`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := conns()
	db := mustOpen(t, Config{Logger: quiet, DatabaseURL: url, Secret: make([]byte, 32), Create: true})
	if _, err := db.Manager.HasUsers(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), Config{Logger: quiet, DatabaseURL: url}); err == nil {
		t.Fatal("Open without a secret on PostgreSQL succeeded")
	}
	// A closed connection's backend ends a moment after the client hangs
	// up: give PostgreSQL a few seconds to see it go.
	after := conns()
	for deadline := time.Now().Add(5 * time.Second); after != before && time.Now().Before(deadline); after = conns() {
		time.Sleep(20 * time.Millisecond)
	}
	if after != before {
		t.Errorf("connections to the database: %d before Open, %d after Close and a failed Open", before, after)
	}
	if _, err := db.Manager.HasUsers(t.Context()); err == nil {
		t.Error("the manager still reads the store after Close")
	}
}

// TestOpenServesTheCLI: the manager Open builds does the CLI's work with
// the configuration it was given.
func TestOpenServesTheCLI(t *testing.T) {
	url := sqlstoretest.SQLiteURL(t)
	db := mustOpen(t, Config{Logger: quiet, DatabaseURL: url, Create: true, APIKeyPrefix: "xk_", SigningAlg: "EdDSA"})
	m := db.Manager
	ctx := t.Context()
	if _, err := m.CreateUser(ctx, audit.CLI(), service.NewUser{Username: "alice", Password: "pass-word-1"}); err != nil {
		t.Fatal(err)
	}
	k, err := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "alice"})
	if err != nil || !strings.HasPrefix(k.Secret, "xk_") {
		t.Errorf("CreateAPIKey = %q, %v; want a key with the configured prefix", k.Secret, err)
	}
	sk, err := m.RotateSigningKey(ctx, audit.CLI())
	if err != nil || sk.Algorithm != "EdDSA" {
		t.Errorf("RotateSigningKey = %+v, %v; want an EdDSA key", sk, err)
	}
	if err := m.EnsureFirstPartyClient(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := m.GetClient(ctx, service.FirstPartyClientID); err != nil || !c.FirstParty {
		t.Errorf("first-party client = %+v, %v", c, err)
	}
	if evs, err := m.ListAudit(ctx, store.AuditFilter{}); err != nil || len(evs) < 3 {
		t.Errorf("audit log = %d events, %v; want the changes recorded", len(evs), err)
	}
}

// TestDependencies: what a tool opens cannot reach a server's parts,
// because this package does not even link them: no metrics, middleware,
// route list or endpoint package, and not the root package.
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), goBin, "list", "-deps", "github.com/gatehouse/gatehouse/internal/clidb").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/gatehouse/gatehouse"
	for _, bad := range []string{"github.com/prometheus/", mod + "/internal/httpmw", mod + "/internal/route", mod + "/internal/rest",
		mod + "/internal/token", mod + "/internal/authorize", mod + "/internal/authn", mod + "/internal/discovery"} {
		for line := range strings.Lines(string(out)) {
			if p := strings.TrimSpace(line); strings.HasPrefix(p, bad) {
				t.Errorf("clidb depends on %s", p)
			}
		}
	}
	for line := range strings.Lines(string(out)) {
		if strings.TrimSpace(line) == mod {
			t.Error("clidb depends on the root package")
		}
	}
}
