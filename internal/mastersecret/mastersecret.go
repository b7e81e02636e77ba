// Package mastersecret finds gatehouse's master secret: the 32 bytes that
// encrypt private signing keys at rest (GATEHOUSE_SECRET). The server and
// the commands that work on its database find it the same way: the
// variable, the configured file, or for SQLite the file kept beside the
// database, which only a command allowed to create a database may create.
//
// It imports the standard library and sqlstore (for the file beside an
// SQLite database and its mode).
package mastersecret

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Size is the length of the master secret in bytes.
const Size = 32

// Parse decodes a master secret given as 64 hex characters or as base64
// (standard or URL alphabet, padded or not) of 32 bytes. Surrounding white
// space is ignored.
func Parse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == Size {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == Size {
			return b, nil
		}
	}
	return nil, errors.New("secret must be 32 bytes written as 64 hex characters or base64")
}

// Config says where [Load] looks.
type Config struct {
	// File, when set, is the file that holds the secret.
	File string
	// DatabaseURL is the store's URL: an SQLite database keeps its secret
	// beside its file (PATH.secret); PostgreSQL has none.
	DatabaseURL string
	// Create lets Load generate the secret of an SQLite database that has
	// none yet (mode 0600, with a warning). Without it a missing secret is
	// an error saying where to put it.
	Create bool
	// Logger receives the warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Load reads the master secret from cfg.File, or else from the file beside
// an SQLite database, which it makes private first and, with cfg.Create,
// generates when missing. PostgreSQL needs cfg.File (or the caller's
// GATEHOUSE_SECRET): every replica must share one secret.
func Load(cfg Config) ([]byte, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.File != "" {
		b, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		return Parse(string(b))
	}
	lower := strings.ToLower(cfg.DatabaseURL)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return nil, errors.New("GATEHOUSE_SECRET (or --secret-file) is required with PostgreSQL: " +
			"every replica must share it; create one with: openssl rand -hex 32")
	}
	db, ok := sqlstore.SQLiteFile(cfg.DatabaseURL)
	if !ok {
		return nil, fmt.Errorf("no file for the master secret beside database %q", cfg.DatabaseURL)
	}
	path := db + ".secret"
	if err := sqlstore.MakePrivate(path, log); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(path); err == nil {
		return Parse(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	if !cfg.Create {
		return nil, fmt.Errorf("no master secret: set GATEHOUSE_SECRET or --secret-file to the server's, "+
			"or put its file back at %s", path)
	}
	var sec [Size]byte
	_, _ = rand.Read(sec[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("read secret: %w", rerr)
		}
		return Parse(string(b))
	}
	if err != nil {
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(sec[:]) + "\n"); err != nil {
		return nil, fmt.Errorf("write secret file: %w", err)
	}
	log.Warn("GATEHOUSE_SECRET is not set: generated a master secret and saved it beside the database; "+
		"keep it safe and back it up with the database", "path", path)
	return sec[:], nil
}
