package sqlstoretest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestMain deliberately does not use Main, so that the tests exercise the
// fallback where each schema is dropped when its test ends; it drops the
// scratch database itself afterwards to leave nothing behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := scratch.drop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func TestEach(t *testing.T) {
	ran := map[string]bool{}
	Each(t, func(t *testing.T, db *sqlstore.DB) {
		ran[db.Dialect()] = true
		ctx := t.Context()
		// Every store starts empty and migrated.
		if n, err := db.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("Pending() = %d, %v; want 0, nil", n, err)
		}
		users, err := db.ListUsers(ctx, "", 0)
		if err != nil || len(users) != 0 {
			t.Fatalf("ListUsers() = %v, %v; want none", users, err)
		}
		u := store.User{ID: store.NewID(), Username: "alice", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser() error = %v", err)
		}
	})
	if !ran[sqlstore.DialectSQLite] {
		t.Error("Each did not run the sqlite body")
	}
	if os.Getenv(EnvPostgresURL) != "" && !ran[sqlstore.DialectPostgres] {
		t.Error("Each did not run the postgres body although the URL is set")
	}
}

// TestPostgresSchemaDropped checks the fallback without Main: a test's
// schema is gone once the test ends, and two tests never share one.
func TestPostgresSchemaDropped(t *testing.T) {
	var urls []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			db := NewPostgres(t)
			urls = append(urls, PostgresURLOf(t, db))
		})
	}
	if len(urls) != 2 {
		t.Skip("PostgreSQL not configured")
	}
	schemas := make([]string, len(urls))
	for i, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		schemas[i] = pu.Query().Get("search_path")
	}
	if schemas[0] == "" || schemas[0] == schemas[1] {
		t.Fatalf("schemas = %q, want two distinct names", schemas)
	}
	for _, s := range schemas {
		var n int
		err := scratch.admin.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1`, s).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("schema %s still exists after its test ended", s)
		}
	}
}

// PostgresURLOf recovers the search_path a store was opened with.
func PostgresURLOf(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	var schema string
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u := *scratch.url
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestDropStale(t *testing.T) {
	root := os.Getenv(EnvPostgresURL)
	if root == "" {
		t.Skipf("%s is not set", EnvPostgresURL)
	}
	ctx := context.Background()
	server, err := sql.Open("pgx", root)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	now := time.Now()
	suffix := randomHex(4)
	stale := fmt.Sprintf("%s%d_%s", scratchPrefix, now.Add(-2*time.Hour).Unix(), suffix)
	fresh := fmt.Sprintf("%s%d_%s", scratchPrefix, now.Add(-time.Minute).Unix(), suffix)
	for _, name := range []string{stale, fresh} {
		if _, err := server.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, name := range []string{stale, fresh} {
			_, _ = server.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		}
	})
	dropStale(ctx, server, now)
	exists := func(name string) bool {
		var n int
		if err := server.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	if exists(stale) {
		t.Errorf("dropStale kept %s, created two hours ago", stale)
	}
	if !exists(fresh) {
		t.Errorf("dropStale dropped %s, created a minute ago", fresh)
	}
}

func TestScratchCreated(t *testing.T) {
	tests := []struct {
		name   string
		want   time.Time
		wantOK bool
	}{
		{"gatehouse_test_1700000000_ab12", time.Unix(1700000000, 0), true},
		{"gatehouse_test_1700000000_", time.Time{}, false},
		{"gatehouse_test_abc_ab12", time.Time{}, false},
		{"gatehouse_test_1700000000", time.Time{}, false},
		{"other_1700000000_ab12", time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := scratchCreated(tc.name)
		if ok != tc.wantOK || !got.Equal(tc.want) {
			t.Errorf("scratchCreated(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}
