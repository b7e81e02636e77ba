package mastersecret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	sec := bytes.Repeat([]byte{0xab}, Size)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"hex", hex.EncodeToString(sec), true},
		{"hex with a newline", hex.EncodeToString(sec) + "\n", true},
		{"base64", base64.StdEncoding.EncodeToString(sec), true},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(sec), true},
		{"short hex", hex.EncodeToString(sec[:16]), false},
		{"long base64", base64.StdEncoding.EncodeToString(append(sec, 1)), false},
		{"text", "correct horse battery staple", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if (err == nil) != tc.ok || tc.ok && !bytes.Equal(got, sec) {
				t.Errorf("Parse(%q) = %x, %v; want ok %v", tc.in, got, err, tc.ok)
			}
		})
	}
}

// TestLoad: the configured file wins; PostgreSQL needs one; an SQLite
// database keeps its secret beside it, private, which only Create makes.
func TestLoad(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	url := "sqlite:" + db
	if _, err := Load(Config{DatabaseURL: url, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SECRET") ||
		!strings.Contains(err.Error(), db+".secret") {
		t.Errorf("Load(no secret, no Create) = %v, want an error naming GATEHOUSE_SECRET and the file", err)
	}
	if _, err := os.Stat(db + ".secret"); err == nil {
		t.Fatal("Load without Create made a secret")
	}
	made, err := Load(Config{DatabaseURL: url, Create: true, Logger: quiet})
	if err != nil || len(made) != Size {
		t.Fatalf("Load(Create) = %x, %v", made, err)
	}
	if fi, err := os.Stat(db + ".secret"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := os.Chmod(db+".secret", 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Load(Config{DatabaseURL: url, Logger: quiet})
	if err != nil || !bytes.Equal(again, made) {
		t.Errorf("Load again = %x, %v; want the secret made before", again, err)
	}
	if fi, _ := os.Stat(db + ".secret"); fi.Mode().Perm() != 0o600 {
		t.Errorf("a readable secret file was left at %v", fi.Mode().Perm())
	}

	file := filepath.Join(dir, "other.secret")
	if err := os.WriteFile(file, []byte(strings.Repeat("cd", Size)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{url, "postgres://db.example/gh"} {
		got, err := Load(Config{File: file, DatabaseURL: u, Logger: quiet})
		if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0xcd}, Size)) {
			t.Errorf("Load(File, %s) = %x, %v; want the file's secret", u, got, err)
		}
	}
	if _, err := Load(Config{DatabaseURL: "postgres://db.example/gh", Create: true, Logger: quiet}); err == nil ||
		!strings.Contains(err.Error(), "required with PostgreSQL") {
		t.Errorf("Load(PostgreSQL, no file) = %v, want it required", err)
	}
	if _, err := Load(Config{File: filepath.Join(dir, "missing"), DatabaseURL: url, Logger: quiet}); err == nil {
		t.Error("Load(a missing file) succeeded")
	}
}
