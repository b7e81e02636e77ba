package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse"
)

// commandFlags returns the flags --help lists for the command at path.
func commandFlags(t *testing.T, path ...string) []string {
	t.Helper()
	root := newRootCommand(&env{getenv: func(string) string { return "" }})
	cmd, _, err := root.Find(path)
	if err != nil || commandName(cmd) != strings.Join(path, " ") {
		t.Fatalf("no command %q: %v", path, err)
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}

// TestEachCommandTakesItsOwnFlags: the server's settings are flags of
// serve; migrate takes what it needs; a command that works on the
// database takes --database-url, --secret-file, --json, its own flags
// and the few settings it uses, nothing else.
func TestEachCommandTakesItsOwnFlags(t *testing.T) {
	tools := []string{"database-url", "secret-file", "json"}
	tests := []struct {
		path []string
		want []string // besides the tools' flags (and --help, which cobra adds when it runs)
		tool bool
	}{
		{[]string{"user", "create"}, []string{"admin", "no-password", "password-stdin", "scopes"}, true},
		{[]string{"user", "list"}, nil, true},
		{[]string{"user", "disable"}, []string{"access-token-ttl", "clock-skew"}, true},
		{[]string{"user", "passwd"}, []string{"access-token-ttl", "clock-skew", "password-stdin"}, true},
		{[]string{"apikey", "create"}, []string{"api-key-prefix", "expires", "name", "rate-limit", "scopes", "user"}, true},
		{[]string{"apikey", "rotate"}, []string{"api-key-prefix", "grace"}, true},
		{[]string{"client", "delete"}, []string{"access-token-ttl", "clock-skew"}, true},
		{[]string{"key", "list"}, []string{"signing-alg"}, true},
		{[]string{"key", "rotate"}, []string{"access-token-ttl", "clock-skew", "key-publish-delay", "signing-alg"}, true},
		{[]string{"audit"}, []string{"action", "actor", "limit", "result", "reverse", "since", "until"}, true},
		{[]string{"migrate"}, []string{"database-url", "json", "log-format", "log-level"}, false},
		{[]string{"version"}, []string{"json"}, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.path, " "), func(t *testing.T) {
			want := slices.Clone(tc.want)
			if tc.tool {
				want = append(want, tools...)
			}
			slices.Sort(want)
			want = slices.Compact(want)
			if got := commandFlags(t, tc.path...); !slices.Equal(got, want) {
				t.Errorf("gatehouse %s flags = %v, want %v", strings.Join(tc.path, " "), got, want)
			}
		})
	}
	serve := commandFlags(t, "serve")
	for _, s := range settingTable() {
		if !slices.Contains(serve, s.name) {
			t.Errorf("serve has no --%s", s.name)
		}
	}
	if slices.Contains(serve, "json") {
		t.Error("serve has --json")
	}
	// What `user create --help` prints fits on a screen.
	out, _, code := (&cli{t: t, env: map[string]string{}}).run("", "user", "create", "--help")
	if n := strings.Count(out, "\n"); code != 0 || n > 20 || strings.Contains(out, "--addr") {
		t.Errorf("user create --help: exit %d, %d lines:\n%s", code, n, out)
	}
}

// TestSettingsOfOtherCommandsAreIgnored: a command reads the variables of
// its own settings only, so that a server's environment with a value
// another command would refuse does not break it.
func TestSettingsOfOtherCommandsAreIgnored(t *testing.T) {
	c := newCLI(t)
	c.env["GATEHOUSE_SIGNING_ALG"] = "bogus"
	c.env["GATEHOUSE_RATE_LIMIT_IP"] = "bogus"
	c.env["GATEHOUSE_API_KEY_PREFIX"] = "xk_"
	if _, errOut, code := c.run("pass-word-1\n", "user", "create", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("user create with another command's bad setting: exit %d: %s", code, errOut)
	}
	var k struct{ Key string }
	c.mustJSON("", &k, "apikey", "create", "--user", "alice")
	if !strings.HasPrefix(k.Key, "xk_") {
		t.Errorf("apikey create with GATEHOUSE_API_KEY_PREFIX=xk_: key %q", k.Key)
	}
	c.mustJSON("", &k, "apikey", "create", "--user", "alice", "--api-key-prefix", "yk_")
	if !strings.HasPrefix(k.Key, "yk_") {
		t.Errorf("apikey create --api-key-prefix yk_: key %q", k.Key)
	}
	if _, errOut, code := c.run("", "key", "list"); code == 0 || !strings.Contains(errOut, `signing alg "bogus"`) {
		t.Errorf("key list with GATEHOUSE_SIGNING_ALG=bogus: exit %d, %q; want the setting refused", code, errOut)
	}
}

// TestBooleanFlags: a boolean flag takes no value of its own, so that it
// cannot eat the next argument; its variable takes true or false.
func TestBooleanFlags(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		args     []string
		disabled bool
		addr     string
		err      string
	}{
		{name: "default", addr: "127.0.0.1:8080"},
		{name: "bare flag before another", args: []string{"--password-grant", "--addr", "127.0.0.1:9"}, addr: "127.0.0.1:9"},
		{name: "=false", args: []string{"--password-grant=false"}, disabled: true, addr: "127.0.0.1:8080"},
		{name: "variable", env: "false", disabled: true, addr: "127.0.0.1:8080"},
		{name: "flag over variable", env: "false", args: []string{"--password-grant"}, addr: "127.0.0.1:8080"},
		{name: "bad variable", env: "maybe", err: "want true or false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string {
				if k == "GATEHOUSE_PASSWORD_GRANT" {
					return tc.env
				}
				return ""
			}}
			serve, _, _ := newRootCommand(e).Find([]string{"serve"})
			if err := serve.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := e.loadConfig(serve)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("serve %v with GATEHOUSE_PASSWORD_GRANT=%q: error %v, want %q", tc.args, tc.env, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DisablePasswordGrant != tc.disabled || cfg.Addr != tc.addr {
				t.Errorf("serve %v with GATEHOUSE_PASSWORD_GRANT=%q: DisablePasswordGrant %v, Addr %q; want %v, %q",
					tc.args, tc.env, cfg.DisablePasswordGrant, cfg.Addr, tc.disabled, tc.addr)
			}
		})
	}
}

// TestMistypedCommands: a command that does not exist exits non-zero and
// suggests the one meant; a group alone shows its help.
func TestMistypedCommands(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	t.Chdir(t.TempDir())
	tests := []struct {
		args   []string
		code   int
		stderr []string
		stdout string
	}{
		{[]string{"user", "craete", "bob"}, 1, []string{`unknown command "craete" for "gatehouse user"`, "Did you mean this?", "create"}, ""},
		{[]string{"serv"}, 1, []string{`unknown command "serv" for "gatehouse"`, "serve"}, ""},
		{[]string{"audit", "verfy"}, 1, []string{`unknown command "verfy" for "gatehouse audit"`, "verify"}, ""},
		{[]string{"apikey", "frobnicate"}, 1, []string{`unknown command "frobnicate"`}, ""},
		{[]string{"user"}, 0, nil, "Available Commands"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := c.run("", tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) {
				t.Errorf("gatehouse %s: exit %d, stdout %q; want exit %d and %q", strings.Join(tc.args, " "), code, out, tc.code, tc.stdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("gatehouse %s: stderr %q, want %q", strings.Join(tc.args, " "), errOut, want)
				}
			}
			if es, _ := os.ReadDir("."); len(es) != 0 {
				t.Errorf("gatehouse %s created %v", strings.Join(tc.args, " "), es)
			}
		})
	}
}

// TestContradictoryFlags are refused before anything is read or written.
func TestContradictoryFlags(t *testing.T) {
	c := newCLI(t)
	_, errOut, code := c.run("pass-word-1\n", "user", "create", "bob", "--no-password", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "--no-password and --password-stdin contradict each other") {
		t.Errorf("user create --no-password --password-stdin: exit %d, %q; want them refused", code, errOut)
	}
	if _, err := os.Stat(strings.TrimPrefix(c.env["GATEHOUSE_DATABASE_URL"], "sqlite:")); err == nil {
		t.Error("the refused command created the database")
	}
	var u struct{ Username string }
	c.mustJSON("pass-word-1\n", &u, "user", "create", "bob", "--no-password=false", "--password-stdin")
	if u.Username != "bob" {
		t.Errorf("user create --no-password=false --password-stdin = %+v", u)
	}
}

// TestUnopenableDatabaseIsNamed: an SQLite path that cannot be opened is
// named in the error, and a directory given as one is left as it is.
func TestUnopenableDatabaseIsNamed(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not sqlite ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		args []string
	}{
		{"a directory", dir, []string{"user", "list"}},
		{"a directory, creating", dir, []string{"user", "create", "bob", "--password-stdin"}},
		{"no such directory", filepath.Join(dir, "missing", "g.db"), []string{"user", "create", "bob", "--password-stdin"}},
		{"not a database", garbage, []string{"user", "list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{t: t, env: map[string]string{"GATEHOUSE_DATABASE_URL": "sqlite:" + tc.path, "GATEHOUSE_SECRET": strings.Repeat("ab", 32)}}
			if _, errOut, code := c.run("pass-word-1\n", tc.args...); code == 0 || !strings.Contains(errOut, tc.path) {
				t.Errorf("gatehouse %s on %s: exit %d, %q; want an error naming the path", strings.Join(tc.args, " "), tc.path, code, errOut)
			}
		})
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode of the directory = %v, %v; want it left at 0755", fi.Mode().Perm(), err)
	}
}

// TestVersion: `version` and `--version` print the module version and
// the VCS revision stamped into the binary, and say so when there are
// none.
func TestVersion(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	out1, _, code1 := c.run("", "version")
	out2, _, code2 := c.run("", "--version")
	if code1 != 0 || code2 != 0 || out1 != out2 || !strings.HasPrefix(out1, "gatehouse ") {
		t.Errorf("version = %d %q, --version = %d %q; want the same line", code1, out1, code2, out2)
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want []string
		not  []string
	}{
		{"no build info", nil, false, []string{"(devel)", "built with go run"}, nil},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}, true,
			[]string{"(devel)", "built with go run", "go1.26.0"}, []string{"revision 0"}},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}, true,
			[]string{"gatehouse v0.0.0-20260102030405-0123456789ab+dirty", "revision 0123456789ab,", "2026-01-02T03:04:05Z", "modified", "go1.26.0"}, []string{"go run"}},
		{"go install of a release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}}, true,
			[]string{"gatehouse v1.2.3 (go1.26.0)"}, []string{"go run", "modified"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := versionOf(tc.bi, tc.ok).String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("versionOf(%s) = %q, want %q in it", tc.name, got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("versionOf(%s) = %q, want no %q", tc.name, got, n)
				}
			}
		})
	}
}

// TestToolConfig: a command that works on the database hands the server
// settings it takes to the database it opens.
func TestToolConfig(t *testing.T) {
	cfg := gatehouse.Config{DatabaseURL: "sqlite:x.db", SecretFile: "s", SigningAlg: "EdDSA", APIKeyPrefix: "xk_",
		AccessTokenTTL: 10 * time.Minute, ClockSkew: 5 * time.Second, KeyPublishDelay: 3 * time.Second}
	got := toolConfig(cfg, true)
	if got.DatabaseURL != "sqlite:x.db" || got.SecretFile != "s" || !got.Create || got.SigningAlg != "EdDSA" ||
		got.APIKeyPrefix != "xk_" || got.MaxTokenTTL != 10*time.Minute+5*time.Second || got.KeyPublishDelay != 3*time.Second {
		t.Errorf("toolConfig = %+v", got)
	}
}
