package gatehouse_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestOpenExistingCreatesNothing: OpenExisting (what the CLI's commands
// use) refuses a database that is not there, on both stores, and leaves
// nothing behind: no SQLite file, no master secret, no tables.
func TestOpenExistingCreatesNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		url := "sqlite:" + filepath.Join(dir, "gatehouse.db")
		_, err := gatehouse.OpenExisting(ctx, gatehouse.Config{DatabaseURL: url})
		if !errors.Is(err, gatehouse.ErrNoDatabase) || !strings.Contains(err.Error(), filepath.Join(dir, "gatehouse.db")) {
			t.Errorf("OpenExisting(no file) error = %v, want ErrNoDatabase naming the file", err)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("OpenExisting left %v behind", es)
		}
		// An empty file (touched, or left by an interrupted tool) is no
		// database either, and stays as it is.
		if err := os.WriteFile(filepath.Join(dir, "gatehouse.db"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := gatehouse.OpenExisting(ctx, gatehouse.Config{DatabaseURL: url}); !errors.Is(err, gatehouse.ErrNoDatabase) {
			t.Errorf("OpenExisting(empty file) error = %v, want ErrNoDatabase", err)
		}
		if es, _ := os.ReadDir(dir); len(es) != 1 {
			t.Errorf("OpenExisting(empty file) left %v", es)
		}
		// A real database works, without a master secret only when its
		// file is there; none is made up.
		s, err := gatehouse.Open(ctx, gatehouse.Config{DatabaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = gatehouse.OpenExisting(ctx, gatehouse.Config{DatabaseURL: url})
		if err != nil {
			t.Fatalf("OpenExisting(a database) = %v", err)
		}
		s.Close()
		if err := os.Remove(filepath.Join(dir, "gatehouse.db.secret")); err != nil {
			t.Fatal(err)
		}
		if _, err := gatehouse.OpenExisting(ctx, gatehouse.Config{DatabaseURL: url}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SECRET") {
			t.Errorf("OpenExisting without the master secret = %v, want an error naming GATEHOUSE_SECRET", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "gatehouse.db.secret")); err == nil {
			t.Error("OpenExisting made up a new master secret")
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqlstoretest.PostgresURL(t) // a fresh schema on which nothing ran
		cfg := gatehouse.Config{DatabaseURL: url, Secret: make([]byte, 32)}
		_, err := gatehouse.OpenExisting(ctx, cfg)
		if !errors.Is(err, gatehouse.ErrNoDatabase) {
			t.Errorf("OpenExisting(empty schema) error = %v, want ErrNoDatabase", err)
		}
		db := sqlstoretest.MustOpen(t, url, false)
		if n, err := db.Pending(ctx); err != nil || n == 0 {
			t.Errorf("after OpenExisting: pending migrations = %d, %v; want all of them (nothing created)", n, err)
		}
		var tables int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("after OpenExisting: %d tables, %v; want none", tables, err)
		}
		s, err := gatehouse.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = gatehouse.OpenExisting(ctx, cfg)
		if err != nil {
			t.Fatalf("OpenExisting(a database) = %v", err)
		}
		s.Close()
	})
	// A PostgreSQL password never shows in the error.
	if got := sqlstore.Where("postgres://gh:hunter2@db.example:5432/gh"); strings.Contains(got, "hunter2") {
		t.Errorf("Where = %q shows the password", got)
	}
}
