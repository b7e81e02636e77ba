package main

import (
	"os"
	"strings"
	"testing"
)

// TestCLIMakesDatabasePrivate: a CLI command that opens an SQLite
// database others may read makes it private and says so on stderr, as
// serve does.
func TestCLIMakesDatabasePrivate(t *testing.T) {
	c := newCLI(t)
	if _, e, code := c.run("pass-word-1\n", "user", "create", "bob", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %d %s", code, e)
	}
	db := strings.TrimPrefix(c.env["GATEHOUSE_DATABASE_URL"], "sqlite:")
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := c.run("", "user", "list")
	if code != 0 {
		t.Fatalf("user list: exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "WARN") || !strings.Contains(errOut, db) {
		t.Errorf("user list on a world-readable database warned %q, want a warning naming %s", errOut, db)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode after user list = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
