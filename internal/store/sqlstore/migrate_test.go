package sqlstore

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestMigrationsMatch checks that both dialects have the same migration
// numbers and names, so a schema change is never made for one database
// only.
func TestMigrationsMatch(t *testing.T) {
	lite, err := loadMigrations(DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	versions := func(ms []migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	if len(lite) == 0 {
		t.Fatal("no SQLite migrations embedded")
	}
	if !slices.Equal(versions(lite), versions(pg)) {
		t.Errorf("migration numbers differ: sqlite %v, postgres %v", versions(lite), versions(pg))
	}
	if !slices.Equal(names(lite), names(pg)) {
		t.Errorf("migration names differ: sqlite %v, postgres %v", names(lite), names(pg))
	}
	for i, m := range lite {
		if m.Version != i+1 {
			t.Errorf("sqlite migration %d has number %04d, want %04d (no gaps)", i, m.Version, i+1)
		}
	}
}

func TestParseMigrationName(t *testing.T) {
	tests := []struct {
		file    string
		version int
		name    string
		wantErr bool
	}{
		{file: "0001_init.sql", version: 1, name: "init"},
		{file: "0012_add_index_x.sql", version: 12, name: "add_index_x"},
		{file: "1_init.sql", wantErr: true},
		{file: "0001init.sql", wantErr: true},
		{file: "0001_.sql", wantErr: true},
		{file: "0001_init.txt", wantErr: true},
		{file: "000a_init.sql", wantErr: true},
		{file: "0000_zero.sql", wantErr: true},
	}
	for _, tc := range tests {
		v, name, err := parseMigrationName(tc.file)
		if (err != nil) != tc.wantErr || v != tc.version || name != tc.name {
			t.Errorf("parseMigrationName(%q) = %d, %q, %v; want %d, %q, error %v", tc.file, v, name, err, tc.version, tc.name, tc.wantErr)
		}
	}
}

func TestMigrateSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Dialect(); got != DialectSQLite {
		t.Errorf("Dialect() = %q, want %q", got, DialectSQLite)
	}
	all, err := loadMigrations(DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Pending(ctx)
	if err != nil || n != len(all) {
		t.Fatalf("Pending() before Migrate = %d, %v; want %d", n, err, len(all))
	}
	for range 2 { // the second run is a no-op
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate() error = %v", err)
		}
		if n, err := db.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("Pending() after Migrate = %d, %v; want 0", n, err)
		}
	}
	// The pragmas from Open are in force on pooled connections.
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"foreign_keys", "1"}, {"busy_timeout", "5000"},
	} {
		var got string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}
