package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// cli runs the CLI against one database, like a shell with env vars set.
type cli struct {
	t   *testing.T
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, env: map[string]string{
		"GATEHOUSE_DATABASE_URL": "sqlite:" + filepath.Join(dir, "g.db"),
		"GATEHOUSE_SECRET":       strings.Repeat("ab", 32),
	}}
}

func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(c.t.Context(), args, strings.NewReader(stdin), &o, &e, func(k string) string { return c.env[k] })
	return o.String(), e.String(), code
}

func (c *cli) mustJSON(stdin string, v any, args ...string) {
	c.t.Helper()
	out, errOut, code := c.run(stdin, append(args, "--json")...)
	if code != 0 {
		c.t.Fatalf("gatehouse %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("gatehouse %s --json printed %q: %v", strings.Join(args, " "), out, err)
	}
}

func TestUserAndKeyCommands(t *testing.T) {
	c := newCLI(t)
	var u struct {
		ID       string   `json:"id"`
		Username string   `json:"username"`
		Scopes   []string `json:"scopes"`
		Admin    bool     `json:"admin"`
	}
	// Flags may follow positional arguments.
	c.mustJSON("pass-word-1\n", &u, "user", "create", "Alice", "--password-stdin", "--scopes", "read write", "--admin")
	if u.ID == "" || u.Username != "alice" || !u.Admin || strings.Join(u.Scopes, " ") != "read write admin" {
		t.Fatalf("user create = %+v", u)
	}
	var k struct {
		ID, Key, Name, User string
		Scopes              []string
		ExpiresAt           *time.Time `json:"expires_at"`
	}
	c.mustJSON("", &k, "apikey", "create", "--user", "alice", "--name", "ci", "--scopes", "read", "--expires", "90d")
	if !strings.HasPrefix(k.Key, "gk_") || k.User != "alice" || k.Name != "ci" || k.ExpiresAt == nil ||
		time.Until(*k.ExpiresAt) < 89*24*time.Hour {
		t.Fatalf("apikey create = %+v", k)
	}
	var keys []map[string]any
	c.mustJSON("", &keys, "apikey", "list", "--user", "alice")
	if len(keys) != 1 || keys[0]["key"] != nil {
		t.Fatalf("apikey list = %v (must never show the secret)", keys)
	}
	out, _, code := c.run("", "apikey", "list")
	if code != 0 || strings.Contains(out, k.Key) || !strings.Contains(out, k.ID) {
		t.Fatalf("apikey list table = %q", out)
	}
	var revoked map[string]any
	c.mustJSON("", &revoked, "apikey", "revoke", k.ID)
	if revoked["revoked_at"] == nil {
		t.Errorf("apikey revoke = %v", revoked)
	}
	var users []map[string]any
	c.mustJSON("", &users, "user", "list")
	if len(users) != 1 {
		t.Errorf("user list = %v", users)
	}
	var dis map[string]any
	c.mustJSON("", &dis, "user", "disable", "alice")
	if dis["disabled"] != true {
		t.Errorf("user disable = %v", dis)
	}
	c.mustJSON("", &dis, "user", "enable", "alice")
	if dis["disabled"] != false {
		t.Errorf("user enable = %v", dis)
	}
	if _, e, code := c.run("new-password-2\n", "user", "passwd", "alice", "--password-stdin"); code != 0 {
		t.Errorf("user passwd: %d %s", code, e)
	}
	var keysOut []map[string]any
	c.mustJSON("", &keysOut, "key", "list")
	// The CLI does not create keys; the server does on first start.
	var ver map[string]string
	c.mustJSON("", &ver, "version")
	if ver["version"] == "" {
		t.Error("version is empty")
	}
}

func TestCLIErrors(t *testing.T) {
	c := newCLI(t)
	c.run("pass-word-1\n", "user", "create", "bob", "--password-stdin")
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"duplicate user", "pass-word-1\n", []string{"user", "create", "bob", "--password-stdin"}, "already taken"},
		{"bad username", "pass-word-1\n", []string{"user", "create", "b o b", "--password-stdin"}, "username may contain only"},
		{"short password", "short\n", []string{"user", "create", "carl", "--password-stdin"}, "password"},
		{"no terminal", "", []string{"user", "create", "carl"}, "--password-stdin"},
		{"unknown user", "", []string{"user", "show", "nobody"}, "not found"},
		{"key for unknown user", "", []string{"apikey", "create", "--user", "nobody"}, "not found"},
		{"key scopes beyond owner", "", []string{"apikey", "create", "--user", "bob", "--scopes", "admin"}, "exceed"},
		{"bad expiry", "", []string{"apikey", "create", "--user", "bob", "--expires", "soon"}, "--expires"},
		{"bad rate limit", "", []string{"apikey", "create", "--user", "bob", "--rate-limit", "fast"}, "rate limit"},
		{"revoke unknown key", "", []string{"apikey", "revoke", "nope"}, "not found"},
		{"missing arg", "", []string{"user", "show"}, "arg"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"bad config", "", []string{"key", "list", "--signing-alg", "none"}, "signing alg"},
		{"a server setting on a tool", "", []string{"user", "list", "--signing-alg", "ES256"}, "unknown flag: --signing-alg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := c.run(tc.stdin, tc.args...)
			if code == 0 {
				t.Fatalf("gatehouse %v succeeded, want an error", tc.args)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr = %q, want it to mention %q", errOut, tc.want)
			}
		})
	}
}

// TestMain runs what main runs first, so that this test binary, started as
// serve's password worker, hashes instead of testing. Servers the tests
// start hash in process unless a test names this binary (selfExe).
func TestMain(m *testing.M) {
	setup()
	selfExe = ""
	os.Exit(m.Run())
}

// serve runs `serve` on c's configuration until the test ends and returns
// its base URL; its log goes to stderr.
func (c *cli) serve(stderr io.Writer) string {
	t := c.t
	t.Helper()
	c.env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
	c.env["GATEHOUSE_ISSUER"] = "http://gatehouse.test"
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return c.env[k] }}
	root := newRootCommand(e)
	cfgCmd, _, _ := root.Find([]string{"serve"})
	cfg, err := e.loadConfig(cfgCmd)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		done <- (&serveMain{cfg: cfg, out: e, worker: e.passwordWorker(cfgCmd), ready: func(a string) { addrc <- a }}).Run(ctx)
	}()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve returned %v after shutdown", err)
			}
		})
		return "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
		return ""
	}
}

// TestServeAndCLITogether runs `serve` and uses the CLI on its database
// while it runs, as the README walk-through does.
func TestServeAndCLITogether(t *testing.T) {
	c := newCLI(t)
	base := c.serve(io.Discard)
	if got := gcPercent(); got != defaultGCPercent {
		t.Errorf("serve runs with GOGC=%d, want %d when the environment sets none", got, defaultGCPercent)
	}

	var u map[string]any
	c.mustJSON("pass-word-1\n", &u, "user", "create", "dora", "--password-stdin", "--scopes", "read")
	res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"dora"}, "password": {"pass-word-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	at, _ := tok["access_token"].(string)
	if res.StatusCode != 200 || at == "" {
		t.Fatalf("token: %d %v", res.StatusCode, tok)
	}
	me := func() int {
		req, _ := http.NewRequest("GET", base+"/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := me(); got != 200 {
		t.Fatalf("/users/me = %d", got)
	}
	// Disable from the CLI (another process, in effect): the running server
	// must refuse the token soon after (the promise: within one second).
	c.mustJSON("", &u, "user", "disable", "dora")
	deadline := time.Now().Add(5 * time.Second)
	for me() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts a disabled user's token")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gcPercent returns the garbage collector's current target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneGCKeepsTheEnvironmentsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	debug.SetGCPercent(50) // as the runtime would have applied GOGC=50
	if got := tuneGC(func(k string) string { return map[string]string{"GOGC": "50"}[k] }); got != "50" {
		t.Errorf("tuneGC with GOGC=50 = %q, want 50", got)
	}
	if got := gcPercent(); got != 50 {
		t.Errorf("GOGC after tuneGC = %d, want the environment's 50", got)
	}
	if got := tuneGC(func(string) string { return "" }); got != "200" || gcPercent() != defaultGCPercent {
		t.Errorf("tuneGC without GOGC = %q (GC percent %d), want %d", got, gcPercent(), defaultGCPercent)
	}
}

// TestPasswordWorkerSetting: serve names this binary as its password
// worker unless --password-worker=false (or the variable) says otherwise.
func TestPasswordWorkerSetting(t *testing.T) {
	defer func(old string) { selfExe = old }(selfExe)
	selfExe = "/usr/local/bin/gatehouse"
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, "/usr/local/bin/gatehouse"},
		{"false", nil, ""},
		{"", []string{"--password-worker=false"}, ""},
		{"false", []string{"--password-worker=true"}, "/usr/local/bin/gatehouse"},
	} {
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string {
			if k == "GATEHOUSE_PASSWORD_WORKER" {
				return c.env
			}
			return ""
		}}
		root := newRootCommand(e)
		serve, _, _ := root.Find([]string{"serve"})
		if err := serve.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		if _, err := e.loadConfig(serve); err != nil {
			t.Fatal(err)
		}
		if got := e.passwordWorker(serve); got != c.want {
			t.Errorf("env %q, flags %v: password worker = %q, want %q", c.env, c.args, got, c.want)
		}
	}
}

// TestServeHashesInItsWorker: serve started as this binary (selfExe) runs
// it again as its password worker, which works only because setup makes
// the child a worker; logins are checked there.
func TestServeHashesInItsWorker(t *testing.T) {
	defer func(old string) { selfExe = old }(selfExe)
	selfExe = os.Args[0]
	c := newCLI(t)
	var logs lockedBuffer
	base := c.serve(&logs)
	if !strings.Contains(logs.String(), `msg="password worker started"`) {
		t.Fatalf("serve did not start its password worker:\n%s", logs.String())
	}
	var u map[string]any
	c.mustJSON("pass-word-1\n", &u, "user", "create", "wanda", "--password-stdin")
	for pw, want := range map[string]int{"pass-word-1": 200, "pass-word-2": 400} {
		res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"wanda"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("login with %s = %d, want %d", pw, res.StatusCode, want)
		}
	}
	if strings.Contains(logs.String(), "did not start") {
		t.Errorf("worker trouble in the log:\n%s", logs.String())
	}
}

// TestServeWithAWorkerThatDoesNotStart: a program that is not a worker is
// reported and serve hashes in its own process.
func TestServeWithAWorkerThatDoesNotStart(t *testing.T) {
	defer func(old string) { selfExe = old }(selfExe)
	selfExe = "/bin/true"
	c := newCLI(t)
	var logs lockedBuffer
	base := c.serve(&logs)
	if !strings.Contains(logs.String(), "password worker did not start") {
		t.Fatalf("no error logged:\n%s", logs.String())
	}
	var u map[string]any
	c.mustJSON("pass-word-1\n", &u, "user", "create", "ivan", "--password-stdin")
	res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"ivan"}, "password": {"pass-word-1"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("login = %d, want 200 (hashed in the server process)", res.StatusCode)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's log and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
