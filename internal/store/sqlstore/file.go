package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// privateMode is the mode of every file that holds gatehouse's data: the
// SQLite database holds password hashes and encrypted keys.
const privateMode fs.FileMode = 0o600

// SQLiteFile returns the file an SQLite database URL names ("sqlite:PATH",
// "sqlite://PATH", a bare PATH or a "file:" URI), and false for a
// PostgreSQL URL or one that names no file.
func SQLiteFile(dbURL string) (string, bool) {
	lower := strings.ToLower(dbURL)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return "", false
	}
	p, err := sqlitePath(dbURL)
	if err != nil {
		return "", false
	}
	if strings.HasPrefix(p, "file:") {
		u, err := url.Parse(p)
		if err != nil {
			return "", false
		}
		p = u.Opaque
		if p == "" {
			p = u.Path
		}
	} else if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i] // the driver strips a query string off a plain path
	}
	if p == "" || p == ":memory:" {
		return "", false
	}
	return p, true
}

// Where names the database of a URL for messages: the file of an SQLite
// URL, and a PostgreSQL URL without its password.
func Where(dbURL string) string {
	if f, ok := SQLiteFile(dbURL); ok {
		return f
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "the configured PostgreSQL database"
	}
	return u.Redacted()
}

// MakePrivate takes every permission of group and others from the file at
// path, when it has any, and logs a warning naming it: a database or secret
// restored from a backup, copied, or made by an older version may be
// readable by every user of the machine. When the mode cannot be changed
// (another owner, a read-only file system) the warning says so and the
// file is used as it is. A missing file is no error. A nil log means
// slog.Default().
func MakePrivate(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check mode of %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		// Never take permissions from a directory or a device that a
		// mistyped path names.
		return notAFile(path, fi)
	}
	was := fi.Mode().Perm()
	if was&0o077 == 0 {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.Chmod(path, was&^0o077); err != nil {
		log.Warn("file is readable by others and could not be made private; chmod 600 it", "path", path, "mode", was.String(), "err", err)
		return nil
	}
	log.Warn("file was readable by others: made it private; check who else has a copy", "path", path, "was", was.String(), "now", (was &^ 0o077).String())
	return nil
}

// prepareSQLiteFile makes sure that the database file is private before
// SQLite opens it. A new one is created empty with mode 0600 whatever the
// umask (SQLite gives its -wal and -shm files the mode of the database
// file), unless mustExist, when a missing one is ErrNoDatabase; an
// existing one, and its -wal and -shm files, lose any group and other
// permissions, with a warning.
func prepareSQLiteFile(path string, mustExist bool, log *slog.Logger) error {
	switch fi, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist) && mustExist:
		return fmt.Errorf("%w at %s", ErrNoDatabase, path)
	case err == nil && fi.IsDir():
		return fmt.Errorf("%w: name the database file in it, e.g. %s", notAFile(path, fi), filepath.Join(path, "gatehouse.db"))
	case err == nil && !fi.Mode().IsRegular():
		return notAFile(path, fi)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode)
	switch {
	case err == nil:
		defer f.Close()
		// The umask may have taken bits from privateMode, even the
		// owner's; set it exactly.
		if err := f.Chmod(privateMode); err != nil {
			return fmt.Errorf("create %s: %w", path, pathErr(err))
		}
		return nil
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create %s: %w", path, pathErr(err))
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := MakePrivate(p, log); err != nil {
			return err
		}
	}
	return nil
}

// notAFile is the error for a path that names a directory or a device
// where a file belongs.
func notAFile(path string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
}

// pathErr strips the operation and path off an *fs.PathError, for a
// message that names the path once.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
