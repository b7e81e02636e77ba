package sqlstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenNamesTheFile: an SQLite path that cannot be opened is named in
// the error, and a directory given as the path keeps its mode (it used to
// lose every permission of group and others, as a database file would).
func TestOpenNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path       string
		want, wantExists string // the error without and with MustExist
	}{
		{"a directory", dir, "is a directory", "is a directory"},
		{"no such directory", filepath.Join(dir, "missing", "g.db"), "no such file or directory", "no database at"},
		{"not a database", garbage, "not a database", "not a database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mustExist := range []bool{false, true} {
				db, err := OpenWith(t.Context(), "sqlite:"+tc.path, Options{MustExist: mustExist})
				if err == nil {
					db.Close()
					t.Fatalf("OpenWith(%q, MustExist %v) = nil, want an error", tc.path, mustExist)
				}
				want := tc.want
				if mustExist {
					want = tc.wantExists
				}
				if !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), want) {
					t.Errorf("OpenWith(%q, MustExist %v) error = %v, want one naming the path and %q", tc.path, mustExist, err, want)
				}
			}
		})
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of the directory = %v, %v; want it left at 0755", fi.Mode().Perm(), err)
	}
	if err := MakePrivate(dir, nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("MakePrivate(a directory) = %v, want an error", err)
	}
}
