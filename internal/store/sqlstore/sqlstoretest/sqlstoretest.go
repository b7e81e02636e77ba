// Package sqlstoretest gives tests a ready, migrated [sqlstore.DB] on
// SQLite and, when one is configured, on PostgreSQL.
//
// Typical use in another package's tests:
//
//	func TestMain(m *testing.M) { sqlstoretest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
//			// db is empty and migrated; it is closed (and on PostgreSQL
//			// dropped) when the subtest ends.
//		})
//	}
//
// PostgreSQL tests run when GATEHOUSE_TEST_POSTGRES_URL names a server
// (for example postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
// whose user may create databases. Without it they are skipped, or fail when
// the CI environment variable is set, so a misconfigured CI cannot pass by
// skipping.
//
// Isolation: the first PostgreSQL helper call of a test binary creates one
// scratch database, gatehouse_test_<unix seconds>_<random>, and every test
// gets its own fresh schema in it (selected through the search_path
// run-time parameter of its URL), so tests may run in parallel. When the
// package's TestMain calls [Main], the scratch database is dropped (WITH
// (FORCE)) after the tests; without Main each schema is dropped when its
// test ends and the empty database is left for a later run, which drops
// gatehouse_test_* databases more than an hour old before creating its own.
//
// The scratch database is per-binary state by nature, so this package keeps
// it in one package-level value guarded by a sync.Once; that is its only
// state.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connections

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// EnvPostgresURL names the environment variable holding the PostgreSQL
// server URL the tests may use.
const EnvPostgresURL = "GATEHOUSE_TEST_POSTGRES_URL"

// scratchPrefix starts the name of every scratch database.
const scratchPrefix = "gatehouse_test_"

// staleAfter is how old another run's scratch database must be before this
// run drops it.
const staleAfter = time.Hour

// scratchDB is the per-binary PostgreSQL scratch database.
type scratchDB struct {
	managed atomic.Bool // Main is running the tests and will drop the database

	once  sync.Once
	err   error
	name  string   // database name
	url   *url.URL // URL of the scratch database (no search_path)
	admin *sql.DB  // connection to the scratch database, for schemas
	root  string   // the configured server URL, to drop the database
}

var scratch scratchDB

// Main runs the tests of a package and then drops the PostgreSQL scratch
// database, if a test created one. Call it from the package's TestMain:
//
//	func TestMain(m *testing.M) { sqlstoretest.Main(m) }
//
// It does not return.
func Main(m *testing.M) {
	scratch.managed.Store(true)
	code := m.Run()
	if err := scratch.drop(); err != nil {
		fmt.Fprintf(os.Stderr, "sqlstoretest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// SQLiteURL returns the URL of a new, empty SQLite file in t.TempDir().
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// NewSQLite returns a migrated SQLite store in a fresh file under
// t.TempDir(), closed when the test ends.
func NewSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return mustOpen(t, SQLiteURL(t), true)
}

// PostgresServerURL returns GATEHOUSE_TEST_POSTGRES_URL, the test
// PostgreSQL server, for tests that create databases of their own. Without
// it it skips the test, or fails it when CI is set: in CI the PostgreSQL
// tests must run.
func PostgresServerURL(t testing.TB) string {
	t.Helper()
	root := os.Getenv(EnvPostgresURL)
	if root == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: PostgreSQL tests must run in CI", EnvPostgresURL)
		}
		t.Skipf("%s is not set; skipping PostgreSQL tests", EnvPostgresURL)
	}
	return root
}

// PostgresURL returns the URL of a new, empty (unmigrated) schema in the
// scratch database, dropped when the test ends unless [Main] will drop the
// whole database. Without GATEHOUSE_TEST_POSTGRES_URL it skips the test (or
// fails it when CI is set).
func PostgresURL(t testing.TB) string {
	t.Helper()
	root := PostgresServerURL(t)
	if err := scratch.init(root); err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	schema := "t_" + randomHex(8)
	if _, err := scratch.admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("sqlstoretest: create schema %s: %v", schema, err)
	}
	if !scratch.managed.Load() {
		t.Cleanup(func() {
			// Runs after the test's own cleanups (LIFO), so its DB is closed.
			if _, err := scratch.admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
				t.Errorf("sqlstoretest: drop schema %s: %v", schema, err)
			}
		})
	}
	u := *scratch.url
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NewPostgres returns a migrated PostgreSQL store in a fresh schema of the
// per-binary scratch database, closed when the test ends. Without
// GATEHOUSE_TEST_POSTGRES_URL it skips the test (or fails it when CI is
// set).
func NewPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return mustOpen(t, PostgresURL(t), true)
}

// Each runs body once per available backend, as the subtests "sqlite" and
// "postgres", each with a fresh migrated store. The postgres subtest is
// skipped (or fails under CI) without GATEHOUSE_TEST_POSTGRES_URL.
func Each(t *testing.T, body func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { body(t, NewPostgres(t)) })
}

// MustOpen opens url (migrating it when migrate is true) and closes the
// store when the test ends.
func MustOpen(t testing.TB, url string, migrate bool) *sqlstore.DB {
	t.Helper()
	return mustOpen(t, url, migrate)
}

func mustOpen(t testing.TB, url string, migrate bool) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if db.Dialect() == sqlstore.DialectPostgres {
		// Many tests share one server: keep each pool small.
		db.SQL().SetMaxOpenConns(8)
	}
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("sqlstoretest: %v", err)
		}
	}
	return db
}

// init creates the scratch database once per binary, after dropping stale
// ones left by earlier runs.
func (s *scratchDB) init(root string) error {
	s.once.Do(func() { s.err = s.create(root) })
	return s.err
}

func (s *scratchDB) create(root string) error {
	ctx := context.Background()
	ru, err := url.Parse(root)
	if err != nil || (ru.Scheme != "postgres" && ru.Scheme != "postgresql") {
		return fmt.Errorf("%s must be a postgres:// URL", EnvPostgresURL)
	}
	server, err := sql.Open("pgx", root)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvPostgresURL, err)
	}
	defer server.Close()
	dropStale(ctx, server, time.Now())

	s.name = fmt.Sprintf("%s%d_%s", scratchPrefix, time.Now().Unix(), randomHex(6))
	if _, err := server.ExecContext(ctx, `CREATE DATABASE `+s.name); err != nil {
		return fmt.Errorf("create scratch database: %w", err)
	}
	s.root = root
	u := *ru
	u.Path = "/" + s.name
	s.url = &u
	s.admin, err = sql.Open("pgx", u.String())
	if err != nil {
		return fmt.Errorf("connect to scratch database: %w", err)
	}
	s.admin.SetMaxOpenConns(2)
	return nil
}

// drop removes the scratch database, if this binary created one.
func (s *scratchDB) drop() error {
	if s.name == "" {
		return nil
	}
	_ = s.admin.Close()
	server, err := sql.Open("pgx", s.root)
	if err != nil {
		return fmt.Errorf("drop scratch database %s: %w", s.name, err)
	}
	defer server.Close()
	if _, err := server.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+s.name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop scratch database %s: %w", s.name, err)
	}
	return nil
}

// dropStale drops scratch databases whose name says they were created more
// than staleAfter before now. Errors are ignored: another binary may be
// dropping the same database.
func dropStale(ctx context.Context, server *sql.DB, now time.Time) {
	rows, err := server.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'gatehouse\_test\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		if created, ok := scratchCreated(name); ok && now.Sub(created) > staleAfter {
			stale = append(stale, name)
		}
	}
	_ = rows.Close()
	for _, name := range stale {
		_, _ = server.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
}

// scratchCreated parses the creation time out of a scratch database name.
func scratchCreated(name string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, scratchPrefix)
	if !ok {
		return time.Time{}, false
	}
	secs, suffix, ok := strings.Cut(rest, "_")
	if !ok || suffix == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
