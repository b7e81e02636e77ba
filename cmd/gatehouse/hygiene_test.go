package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLINeverEchoesSecrets drives every CLI command with known passwords,
// API keys, client secrets and the master secret, then searches everything
// the CLI printed (output, errors, logs) and the raw database files for
// them. The only place a secret may appear is the one output that hands a
// new secret over (apikey create/rotate, client create/rotate-secret).
func TestCLINeverEchoesSecrets(t *testing.T) {
	c := newCLI(t)
	c.env["GATEHOUSE_LOG_LEVEL"] = "debug"
	var printed strings.Builder // every byte the CLI wrote, except the hand-overs
	run := func(stdin string, args ...string) (string, int) {
		t.Helper()
		out, errOut, code := c.run(stdin, args...)
		printed.WriteString(out)
		printed.WriteString(errOut)
		return out, code
	}
	mustRun := func(stdin string, args ...string) {
		t.Helper()
		if out, code := run(stdin, args...); code != 0 {
			t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(args, " "), code, out)
		}
	}
	runJSON := func(v any, args ...string) {
		t.Helper()
		out, code := run("", append(args, "--json")...)
		if code != 0 {
			t.Fatalf("gatehouse %s --json: exit %d", strings.Join(args, " "), code)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("gatehouse %s --json printed %q: %v", strings.Join(args, " "), out, err)
		}
	}
	// handOver runs a command whose output is the new secret; that output
	// is checked to hold it and kept out of the search.
	handOver := func(field string, args ...string) string {
		t.Helper()
		var v map[string]any
		c.mustJSON("", &v, args...)
		s, _ := v[field].(string)
		if len(s) < 20 {
			t.Fatalf("gatehouse %s --json: no %s in %v", strings.Join(args, " "), field, v)
		}
		return s
	}

	const (
		pw1     = "first-Passw0rd-7f3c2a"
		pw2     = "second-Passw0rd-91b6e4"
		shortPW = "Qz7#v" // refused: too short
	)
	secrets := map[string]string{
		"password 1": pw1, "password 2": pw2, "refused password": shortPW,
		"master secret": c.env["GATEHOUSE_SECRET"],
	}

	mustRun(pw1+"\n", "user", "create", "alice", "--password-stdin", "--scopes", "read write", "--admin")
	mustRun(pw1+"\n", "user", "create", "bob", "--password-stdin", "--json")
	if _, code := run(shortPW+"\n", "user", "create", "carol", "--password-stdin"); code == 0 {
		t.Fatal("user create with a 5-character password succeeded")
	}
	if _, code := run(pw1+"\n", "user", "create", "alice", "--password-stdin"); code == 0 {
		t.Fatal("user create of an existing user succeeded")
	}
	mustRun(pw2+"\n", "user", "passwd", "alice", "--password-stdin")
	run(shortPW+"\n", "user", "passwd", "alice", "--password-stdin")
	for _, args := range [][]string{
		{"user", "list"}, {"user", "list", "--json"}, {"user", "show", "alice"}, {"user", "show", "alice", "--json"},
		{"user", "logout", "bob"}, {"user", "disable", "bob"}, {"user", "enable", "bob", "--json"},
	} {
		mustRun("", args...)
	}

	key1 := handOver("key", "apikey", "create", "--user", "alice", "--name", "ci", "--scopes", "read", "--rate-limit", "5/s")
	secrets["api key"] = key1
	var keys []map[string]any
	runJSON(&keys, "apikey", "list", "--user", "alice")
	keyID, _ := keys[0]["id"].(string)
	key2 := handOver("key", "apikey", "rotate", keyID, "--grace", "1h")
	secrets["rotated api key"] = key2
	for _, args := range [][]string{
		{"apikey", "list"}, {"apikey", "list", "--json"}, {"apikey", "set-rate-limit", keyID, "20/s"},
	} {
		mustRun("", args...)
	}
	// Secrets pasted where an id belongs: refused without being echoed.
	for _, args := range [][]string{
		{"apikey", "revoke", key1}, {"apikey", "rotate", key2}, {"apikey", "set-rate-limit", key1, "1/s"},
		{"apikey", "list", "--user", key1}, {"user", "show", key2}, {"user", "passwd", key1, "--password-stdin"},
	} {
		if _, code := run(pw2+"\n", args...); code == 0 {
			t.Errorf("gatehouse %s succeeded", strings.Join(args, " "))
		}
	}
	mustRun("", "apikey", "revoke", keyID)

	secret1 := handOver("client_secret", "client", "create", "--name", "svc", "--grant", "client_credentials", "--scopes", "read")
	secrets["client secret"] = secret1
	var clients []map[string]any
	runJSON(&clients, "client", "list")
	var clientID string
	for _, cl := range clients {
		if cl["name"] == "svc" {
			clientID, _ = cl["client_id"].(string)
		}
	}
	if clientID == "" {
		t.Fatalf("client list = %v: no svc", clients)
	}
	secrets["rotated client secret"] = handOver("client_secret", "client", "rotate-secret", clientID)
	for _, args := range [][]string{
		{"client", "show", secret1}, {"client", "delete", secret1}, {"client", "rotate-secret", secret1},
		{"client", "enable-grant", secret1, "refresh_token"}, {"user", "logout", secret1}, {"key", "revoke", secret1},
	} {
		if _, code := run("", args...); code == 0 {
			t.Errorf("gatehouse %s succeeded", strings.Join(args, " "))
		}
	}
	for _, args := range [][]string{
		{"client", "list"}, {"client", "show", clientID}, {"client", "show", clientID, "--json"},
		{"client", "enable-grant", clientID, "refresh_token"}, {"client", "disable-grant", clientID, "refresh_token"},
		{"key", "rotate"}, {"key", "list"}, {"key", "list", "--json"},
		{"audit"}, {"audit", "--json"}, {"audit", "verify"}, {"audit", "prune", "--older-than", "365d"},
		{"client", "delete", clientID}, {"user", "logout", "alice"}, {"version"},
	} {
		mustRun("", args...)
	}

	all := printed.String()
	if !strings.Contains(all, "alice") || !strings.Contains(all, keyID) {
		t.Fatal("the captured output looks empty; the search would prove nothing")
	}
	dbFiles, _ := filepath.Glob(strings.TrimPrefix(c.env["GATEHOUSE_DATABASE_URL"], "sqlite:") + "*")
	if len(dbFiles) == 0 {
		t.Fatal("no database files found")
	}
	for what, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the %s appears in the CLI's output, errors or logs", what)
		}
		for _, f := range dbFiles {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), s) {
				t.Errorf("the %s appears in plain text in %s", what, filepath.Base(f))
			}
		}
	}
}
