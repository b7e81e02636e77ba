package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// noDatabase is the error of a command that needs a database and finds
// none at the default URL.
const noDatabase = "no database at ./gatehouse.db (set --database-url)"

// dbCommands returns every runnable command that opens the database: all
// but serve, migrate and version, which have tests of their own.
func dbCommands(t *testing.T) []*cobra.Command {
	t.Helper()
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch c.Name() {
		case "gatehouse", "serve", "migrate", "version", "help", "completion":
			return
		}
		if c.Runnable() && !isGroup(c) {
			out = append(out, c)
		}
	}
	walk(newRootCommand(&env{getenv: func(string) string { return "" }}))
	if len(out) < 20 {
		t.Fatalf("found only %d commands", len(out))
	}
	return out
}

// invocation returns plausible arguments for c: its path, a value for
// every upper-case word of its Use line (NAME, ID, RATE …) and the flags
// it cannot run without.
func invocation(c *cobra.Command) []string {
	args := strings.Fields(strings.TrimPrefix(c.CommandPath(), "gatehouse "))
	words := strings.Fields(c.Use)[1:]
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case strings.HasPrefix(w, "--"):
			i++ // a flag and its value: required flags come below
		case regexp.MustCompile(`^[A-Z]+$`).MatchString(w):
			args = append(args, "xy")
		}
	}
	switch c.CommandPath() {
	case "gatehouse user create", "gatehouse user passwd":
		args = append(args, "--password-stdin")
	case "gatehouse apikey create":
		args = append(args, "--user", "xy")
	case "gatehouse client create":
		args = append(args, "--name", "svc", "--grant", "client_credentials")
	case "gatehouse audit prune":
		args = append(args, "--older-than", "365d")
	}
	return args
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestCommandsNeedAnExistingDatabase runs every command in an empty
// directory with the default database URL and no master secret: only the
// commands that can create something in an empty database (user create,
// client create, key rotate) may create one; every other command, reading or writing,
// fails with a clear error, with --json too, and leaves the directory
// empty. A database without its master secret is not given a new one
// either.
func TestCommandsNeedAnExistingDatabase(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}} // no GATEHOUSE_DATABASE_URL, no GATEHOUSE_SECRET
	for _, cmd := range dbCommands(t) {
		args := invocation(cmd)
		creates := createsDatabase(cmd)
		for _, json := range []bool{false, true} {
			dir := t.TempDir()
			t.Chdir(dir)
			a := args
			if json {
				a = append(slices.Clone(args), "--json")
			}
			out, errOut, code := c.run("pass-word-1\n", a...)
			files := dirEntries(t, dir)
			switch {
			case creates && code != 0:
				t.Errorf("gatehouse %s in an empty directory: exit %d: %s", strings.Join(a, " "), code, errOut)
			case creates:
				if !slices.Contains(files, "gatehouse.db") {
					t.Errorf("gatehouse %s: no gatehouse.db created (%v)", strings.Join(a, " "), files)
				}
			default:
				if code == 0 || out != "" || !strings.Contains(errOut, noDatabase) {
					t.Errorf("gatehouse %s in an empty directory: exit %d, stdout %q, stderr %q; want exit 1 and %q",
						strings.Join(a, " "), code, out, errOut, noDatabase)
				}
				if len(files) != 0 {
					t.Errorf("gatehouse %s in an empty directory created %v", strings.Join(a, " "), files)
				}
			}
		}
	}

	// A database whose master secret is elsewhere (the server has it in
	// its environment): a command gets no new one.
	dir := t.TempDir()
	t.Chdir(dir)
	withSecret := &cli{t: t, env: map[string]string{"GATEHOUSE_SECRET": strings.Repeat("ab", 32)}}
	if _, e, code := withSecret.run("pass-word-1\n", "user", "create", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %d %s", code, e)
	}
	before := dirEntries(t, dir)
	for _, args := range [][]string{{"user", "list"}, {"user", "disable", "alice"}, {"key", "list"}} {
		_, errOut, code := c.run("", args...)
		if code == 0 || !strings.Contains(errOut, "GATEHOUSE_SECRET") {
			t.Errorf("gatehouse %s without the master secret: exit %d, %q; want an error naming GATEHOUSE_SECRET",
				strings.Join(args, " "), code, errOut)
		}
		if after := dirEntries(t, dir); !slices.Equal(after, before) {
			t.Errorf("gatehouse %s without the master secret: the directory went from %v to %v", strings.Join(args, " "), before, after)
		}
	}
}
