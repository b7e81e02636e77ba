// Package proctest holds the PostgreSQL helpers of the bench module's
// tests.
package proctest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvPostgresURL names the environment variable holding the admin URL of
// the PostgreSQL server the tests may use (the product's tests read it
// too).
const EnvPostgresURL = "GATEHOUSE_TEST_POSTGRES_URL"

// timeout bounds one query of a helper.
const timeout = 30 * time.Second

// PostgresAdminURL returns GATEHOUSE_TEST_POSTGRES_URL. Without one it
// skips the test, or fails it when CI is set: in CI the PostgreSQL tests
// must run.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresURL)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: the PostgreSQL tests must run in CI", EnvPostgresURL)
		}
		t.Skipf("%s is not set; skipping the PostgreSQL test", EnvPostgresURL)
	}
	return admin
}

// MustDatabaseExists reports whether the server of the admin URL has a
// database called name.
func MustDatabaseExists(t testing.TB, admin, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgresURL, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("query pg_database: %v", err)
	}
	return exists
}

// DatabaseName returns the database a postgres:// URL names.
func DatabaseName(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("database URL %q: %v", dbURL, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}
