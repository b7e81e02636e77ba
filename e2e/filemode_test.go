//go:build unix

package e2e_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// withUmask runs f with the process umask set to mask. Nothing else in the
// test binary may create files meanwhile, so callers must not be parallel.
func withUmask(t *testing.T, mask int, f func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestSQLiteFilesArePrivate: the SQLite database, its -wal and -shm files
// and the generated master secret hold password hashes and keys. They are
// created 0600 whatever the umask, and a server that starts on files
// others may read makes them private and says so, naming each file.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	files := []string{db, db + "-wal", db + "-shm", db + ".secret"}
	var logs lockedWriter
	cfg := gatehouse.Config{
		DatabaseURL: "sqlite:" + db, Issuer: "http://127.0.0.1:1", InsecureFastPasswordHashing: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	start := func(user string) *gatehouse.Server {
		t.Helper()
		var s *gatehouse.Server
		withUmask(t, 0, func() {
			var err error
			if s, err = gatehouse.New(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			// A write, so that the -wal and -shm files exist.
			if _, err := s.Admin().CreateUser(context.Background(), gatehouse.NewUser{Username: user}); err != nil {
				t.Fatal(err)
			}
		})
		return s
	}

	s := start("first")
	for _, f := range files {
		if m := fileMode(t, f); m != 0o600 {
			t.Errorf("%s was created with mode %v, want 0600 (umask 0)", filepath.Base(f), m)
		}
	}
	// Files made readable by others (a restored backup, an old version)
	// are made private at the next start, with a warning naming them.
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	for _, f := range files {
		// Closing the last connection removes -wal and -shm: put
		// loose ones back, as a crash would leave them.
		if _, err := os.Stat(f); err != nil {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logs.Reset()
	s = start("second")
	defer s.Close()
	for _, f := range files {
		if m := fileMode(t, f); m != 0o600 {
			t.Errorf("%s has mode %v after a start, want 0600", filepath.Base(f), m)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), f) {
			t.Errorf("no warning names %s:\n%s", f, logs.String())
		}
	}
}
