package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// eachStore runs body with a CLI on a fresh SQLite file and on a fresh
// PostgreSQL schema (when GATEHOUSE_TEST_POSTGRES_URL is set).
func eachStore(t *testing.T, body func(t *testing.T, c *cli)) {
	t.Run("sqlite", func(t *testing.T) { body(t, newCLI(t)) })
	t.Run("postgres", func(t *testing.T) {
		c := newCLI(t)
		c.env["GATEHOUSE_DATABASE_URL"] = sqlstoretest.PostgresURL(t)
		body(t, c)
	})
}

// TestCLIRefusesUnstorableArguments: a command-line argument that is not
// valid UTF-8 (a shell can pass any bytes) is refused before it reaches
// the store, with the same clear error on both stores, instead of a
// PostgreSQL SQLSTATE 22021 on one and "nothing found" on the other.
func TestCLIRefusesUnstorableArguments(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		if _, errOut, code := c.run("pass-word-1\n", "user", "create", "bob", "--password-stdin"); code != 0 {
			t.Fatalf("user create: exit %d: %s", code, errOut)
		}
		for _, args := range [][]string{
			{"user", "show", "b\xffb"},
			{"audit", "--actor", "\xff"},
			{"audit", "--actor=\xff"},
			{"apikey", "list", "--user", "\xff"},
			{"client", "show", "\xfe"},
			{"apikey", "revoke", "\xc3"},
		} {
			out, errOut, code := c.run("", args...)
			if code == 0 {
				t.Errorf("gatehouse %q succeeded (%q), want an error", args, out)
				continue
			}
			if !strings.Contains(errOut, "not valid UTF-8") || strings.Contains(errOut, "SQLSTATE") {
				t.Errorf("gatehouse %q stderr = %q, want a clear invalid UTF-8 error", args, errOut)
			}
		}
	})
}
