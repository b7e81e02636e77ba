package proc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/bench/internal/proctest"
)

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
			got, err := DatabaseURL(tc.admin, name)
			if err != nil || got != tc.want {
				t.Errorf("DatabaseURL(%q) = %q, %v; want %q", tc.admin, got, err, tc.want)
			}
		})
	}
}

func TestDatabasesSQLite(t *testing.T) {
	var progress strings.Builder
	dbs := NewDatabases("", &progress)
	got, err := dbs.Fresh(t.Context(), "/tmp/x")
	if want := "sqlite:/tmp/x/gatehouse.db"; got != want || err != nil {
		t.Errorf("Fresh() = %q, %v; want %q", got, err, want)
	}
	dbs.DropAll()
	if dbs.Backend() != BackendSQLite || progress.Len() != 0 {
		t.Errorf("backend() = %q, progress %q; want %q and nothing written", dbs.Backend(), progress.String(), BackendSQLite)
	}
}

// TestDropAllWarns checks that a database that cannot be dropped gets a
// warning naming it, and that dropAll returns in time.
func TestDropAllWarns(t *testing.T) {
	var progress strings.Builder
	dbs := &Databases{
		admin:    "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", // nothing listens on port 1
		progress: &progress,
		created:  []string{"gatehouse_load_00000000000000aa", "gatehouse_load_00000000000000bb"},
	}
	start := time.Now()
	dbs.DropAll()
	if d := time.Since(start); d > PGTimeout+5*time.Second {
		t.Errorf("DropAll() took %v, want at most about %v", d, PGTimeout)
	}
	for _, name := range []string{"gatehouse_load_00000000000000aa", "gatehouse_load_00000000000000bb"} {
		if !strings.Contains(progress.String(), "loadtest: warning: PostgreSQL database "+name+" was not dropped: ") {
			t.Errorf("DropAll() wrote %q, want a warning naming %s", progress.String(), name)
		}
	}
}

func TestDatabasesPostgres(t *testing.T) {
	admin := proctest.PostgresAdminURL(t)
	var progress strings.Builder
	dbs := NewDatabases(admin, &progress)
	t.Cleanup(dbs.DropAll) // if the test stops half-way

	dbURL, err := dbs.Fresh(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("Fresh() error = %v", err)
	}
	name := proctest.DatabaseName(t, dbURL)
	if hex, ok := strings.CutPrefix(name, PGNamePrefix); !ok || len(hex) != 16 || strings.Trim(hex, "0123456789abcdef") != "" {
		t.Errorf("Fresh() made database %q, want %s and 16 hex characters", name, PGNamePrefix)
	}
	if !proctest.MustDatabaseExists(t, admin, name) {
		t.Fatalf("Fresh() = %q, but pg_database has no %s", dbURL, name)
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

	dbs.DropAll()
	if proctest.MustDatabaseExists(t, admin, name) {
		t.Errorf("DropAll() left database %s", name)
	}
	if strings.Contains(progress.String(), "warning") {
		t.Errorf("DropAll() warned: %s", progress.String())
	}
}
