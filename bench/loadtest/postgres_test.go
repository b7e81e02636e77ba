package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// postgresAdminURL returns the admin URL of the test PostgreSQL server
// (GATEHOUSE_TEST_POSTGRES_URL). Without one it skips the test, or fails
// it when CI is set.
func postgresAdminURL(t *testing.T) string {
	t.Helper()
	return sqlstoretest.PostgresServerURL(t)
}

func TestDatabaseURL(t *testing.T) {
	const name = "gatehouse_load_0123456789abcdef"
	tests := []struct {
		name  string
		admin string
		want  string
	}{
		{
			name:  "local admin URL",
			admin: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			want:  "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable",
		},
		{
			name:  "password, no path, query order kept",
			admin: "postgresql://bench:p%40ss%2Fw@db.example:6543?sslmode=require&application_name=load&connect_timeout=5",
			want:  "postgresql://bench:p%40ss%2Fw@db.example:6543/" + name + "?sslmode=require&application_name=load&connect_timeout=5",
		},
		{
			name:  "escaped path replaced",
			admin: "postgres://u@h/my%20db%2Fx",
			want:  "postgres://u@h/" + name,
		},
		{
			name:  "unix socket in the query",
			admin: "postgres:///postgres?host=/var/run/postgresql",
			want:  "postgres:///" + name + "?host=/var/run/postgresql",
		},
		{
			name:  "dbname in the query would override the path",
			admin: "postgres://u@h/postgres?dbname=postgres&sslmode=disable&database=x",
			want:  "postgres://u@h/" + name + "?sslmode=disable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := databaseURL(tc.admin, name)
			if err != nil || got != tc.want {
				t.Errorf("databaseURL(%q) = %q, %v; want %q", tc.admin, got, err, tc.want)
			}
		})
	}
}

func TestDatabasesSQLite(t *testing.T) {
	var progress strings.Builder
	dbs := &databases{progress: &progress}
	got, err := dbs.fresh(t.Context(), "/tmp/x")
	if want := "sqlite:/tmp/x/gatehouse.db"; got != want || err != nil {
		t.Errorf("fresh() = %q, %v; want %q", got, err, want)
	}
	dbs.dropAll()
	if dbs.backend() != backendSQLite || progress.Len() != 0 {
		t.Errorf("backend() = %q, progress %q; want %q and nothing written", dbs.backend(), progress.String(), backendSQLite)
	}
}

// TestDropAllWarns checks that a database that cannot be dropped gets a
// warning naming it, and that dropAll returns in time.
func TestDropAllWarns(t *testing.T) {
	var progress strings.Builder
	dbs := &databases{
		admin:    "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", // nothing listens on port 1
		progress: &progress,
		created:  []string{"gatehouse_load_00000000000000aa", "gatehouse_load_00000000000000bb"},
	}
	start := time.Now()
	dbs.dropAll()
	if d := time.Since(start); d > pgTimeout+5*time.Second {
		t.Errorf("dropAll() took %v, want at most about %v", d, pgTimeout)
	}
	for _, name := range []string{"gatehouse_load_00000000000000aa", "gatehouse_load_00000000000000bb"} {
		if !strings.Contains(progress.String(), "loadtest: warning: PostgreSQL database "+name+" was not dropped: ") {
			t.Errorf("dropAll() wrote %q, want a warning naming %s", progress.String(), name)
		}
	}
}

func mustDatabaseExists(t *testing.T, admin, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", sqlstoretest.EnvPostgresURL, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("query pg_database: %v", err)
	}
	return exists
}

// databaseName returns the database a URL made by databaseURL names.
func databaseName(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("database URL %q: %v", dbURL, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestDatabasesPostgres(t *testing.T) {
	admin := postgresAdminURL(t)
	var progress strings.Builder
	dbs := &databases{admin: admin, progress: &progress}
	t.Cleanup(dbs.dropAll) // if the test stops half-way

	dbURL, err := dbs.fresh(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("fresh() error = %v", err)
	}
	name := databaseName(t, dbURL)
	if hex, ok := strings.CutPrefix(name, pgNamePrefix); !ok || len(hex) != 16 || strings.Trim(hex, "0123456789abcdef") != "" {
		t.Errorf("fresh() made database %q, want %s and 16 hex characters", name, pgNamePrefix)
	}
	if !mustDatabaseExists(t, admin, name) {
		t.Fatalf("fresh() = %q, but pg_database has no %s", dbURL, name)
	}
	// The URL reaches the new database. The connection stays open while
	// dropAll runs, as a killed server's might: WITH (FORCE) ends it.
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("connect to %q: %v", dbURL, err)
	}
	defer conn.Close(context.Background())
	var current string
	if err := conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&current); err != nil || current != name {
		t.Errorf("current_database() = %q, %v; want %q", current, err, name)
	}

	dbs.dropAll()
	if mustDatabaseExists(t, admin, name) {
		t.Errorf("dropAll() left database %s", name)
	}
	if strings.Contains(progress.String(), "warning") {
		t.Errorf("dropAll() warned: %s", progress.String())
	}
}

// readDBLog returns the database URLs the fake gatehouse logged, by
// command (serve, user, …).
func readDBLog(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("database log: %v", err)
	}
	defer f.Close()
	got := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cmd, dbURL, _ := strings.Cut(sc.Text(), " ")
		got[cmd] = append(got[cmd], dbURL)
	}
	return got
}

// TestRunAgainstFakeGatehouseOnPostgres runs the whole program with
// -postgres against the fake gatehouse, which checks that each server's
// database exists and is empty, and checks that every database is gone
// afterwards: after a run, after a server that does not start and after
// an interruption.
func TestRunAgainstFakeGatehouseOnPostgres(t *testing.T) {
	admin := postgresAdminURL(t)
	quick := []string{"-duration", "20ms", "-rounds", "1", "-concurrency", "1", "-flood-workers", "1", "-me-rate", "100", "-flood-rate", "100"}
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		interrupt   bool // cancel the run once a server has started
		wantCode    int
		wantServers int
	}{
		{name: "every server", args: append([]string{"-scenario", "auth,limits,flood", "-json"}, quick...), wantCode: exitOK, wantServers: 3},
		{name: "server exits at once", env: map[string]string{envFakeBadServe: "1"}, wantCode: exitFailed, wantServers: 1},
		{name: "interrupted", args: []string{"-duration", "20s"}, interrupt: true, wantCode: exitInterrupted, wantServers: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbLog := t.TempDir() + "/db.log"
			env := map[string]string{envFakeDBLog: dbLog}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.interrupt {
				go func() {
					for ctx.Err() == nil {
						if b, _ := os.ReadFile(dbLog); strings.HasPrefix(string(b), "serve ") {
							cancel()
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			code, stdout, stderr, _ := fakeRun(t, ctx, env, append([]string{"-postgres", admin}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("run() = %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if strings.Contains(stderr, "warning") {
				t.Errorf("run() warned:\n%s", stderr)
			}
			logged := readDBLog(t, dbLog)
			seen := map[string]bool{}
			for _, dbURL := range logged["serve"] {
				if !strings.HasPrefix(dbURL, "postgres://") {
					t.Errorf("a server ran on %q, want a PostgreSQL URL", dbURL)
					continue
				}
				name := databaseName(t, dbURL)
				if seen[name] {
					t.Errorf("two servers ran on database %s, want one each", name)
				}
				seen[name] = true
				if !strings.Contains(stderr, "created PostgreSQL database "+name) {
					t.Errorf("stderr does not name database %s:\n%s", name, stderr)
				}
				if mustDatabaseExists(t, admin, name) {
					t.Errorf("run() left database %s", name)
				}
			}
			if len(seen) != tc.wantServers {
				t.Errorf("servers ran on %d databases %v, want %d", len(seen), logged["serve"], tc.wantServers)
			}
			for _, dbURL := range logged["user"] {
				if !seen[databaseName(t, dbURL)] {
					t.Errorf("`gatehouse user` ran on %q, not on a server's database", dbURL)
				}
			}
			if tc.wantCode != exitOK {
				return
			}
			var rep jsonReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("run() -json output is not JSON: %v\n%s", err, stdout)
			}
			if rep.Database != backendPostgres {
				t.Errorf("database = %q, want %q", rep.Database, backendPostgres)
			}
			if len(logged["user"]) == 0 {
				t.Errorf("no `gatehouse user` command ran; database log: %v", logged)
			}
			if len(logged["stopped-without-db"]) != 0 || len(logged["stopped-with-db"]) != tc.wantServers {
				t.Errorf("servers stopped with their database: %v, without: %v; want all %d with (dropped after the stop)",
					logged["stopped-with-db"], logged["stopped-without-db"], tc.wantServers)
			}
		})
	}
}
