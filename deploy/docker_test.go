package deploy_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerRun is the `docker run` command deploy/README.md documents for the
// image: its -e variables (values as written, shell substitutions
// included) and the container path of its volume.
type dockerRun struct {
	env    map[string]string
	volume string
}

// documentedDockerRun reads the first `docker run` command of
// deploy/README.md.
func documentedDockerRun(t *testing.T) dockerRun {
	t.Helper()
	text := strings.ReplaceAll(mustRead(t, "deploy/README.md"), "\\\n", " ")
	line := regexp.MustCompile(`(?m)^docker run .*$`).FindString(text)
	if line == "" {
		t.Fatal("deploy/README.md shows no docker run command")
	}
	run := dockerRun{env: map[string]string{}}
	for _, m := range regexp.MustCompile(`-e (GATEHOUSE_[A-Z_]+)=(\$\([^)]*\)|\S+)`).FindAllStringSubmatch(line, -1) {
		run.env[m[1]] = m[2]
	}
	if m := regexp.MustCompile(`-v \S+:(/\S+)`).FindStringSubmatch(line); m != nil {
		run.volume = m[1]
	}
	return run
}

// shellValue evaluates a documented value as the shell would: the only
// substitution the documents may use is a fresh random secret.
func shellValue(t *testing.T, v string) string {
	t.Helper()
	m := regexp.MustCompile(`^\$\(openssl rand -hex (\d+)\)$`).FindStringSubmatch(v)
	if m == nil {
		if strings.Contains(v, "$(") {
			t.Fatalf("cannot evaluate %q", v)
		}
		return v
	}
	n, _ := strconv.Atoi(m[1])
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// buildGatehouse builds the gatehouse binary into a temporary directory.
func buildGatehouse(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goCmd, "build", "-o", bin, "github.com/gatehouse/gatehouse/cmd/gatehouse").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gatehouse: %v\n%s", err, out)
	}
	return bin
}

// container runs the binary as the image would: in the volume's directory,
// with only the given environment.
type container struct {
	t    *testing.T
	bin  string
	dir  string
	env  []string
	base string // http://127.0.0.1:port, the published port
	cmd  *exec.Cmd
	log  string // the file the serve process writes its output to

	stopped chan error // the serve process's exit
}

// logs returns what the serve process has written so far.
func (c *container) logs() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// exec runs a CLI command in the container (docker exec).
func (c *container) exec(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = c.dir, c.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs `gatehouse serve` (the image's CMD) and waits until it
// answers /healthz, failing if it exits first.
func (c *container) start() {
	c.t.Helper()
	out, err := os.CreateTemp(c.t.TempDir(), "serve-*.log")
	if err != nil {
		c.t.Fatal(err)
	}
	defer out.Close() // the process has its own descriptor
	c.log = out.Name()
	c.cmd = exec.Command(c.bin, "serve")
	c.cmd.Dir, c.cmd.Env, c.cmd.Stdout, c.cmd.Stderr = c.dir, c.env, out, out
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			c.t.Fatalf("gatehouse serve exited: %v\n%s", err, c.logs())
		case <-deadline:
			_ = c.cmd.Process.Kill()
			c.t.Fatalf("gatehouse serve did not answer /healthz within a minute\n%s", c.logs())
		case <-time.After(50 * time.Millisecond):
		}
		if res, err := http.Get(c.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				c.stopped = exited
				return
			}
		}
	}
}

// stop sends SIGTERM (docker stop) and waits for the server to exit.
func (c *container) stop() {
	c.t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.stopped:
		if err != nil {
			c.t.Errorf("gatehouse serve exited with %v after SIGTERM\n%s", err, c.logs())
		}
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		c.t.Fatalf("gatehouse serve did not stop after SIGTERM\n%s", c.logs())
	}
}

func (c *container) getJSON(path, bearer string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &v)
	return res.StatusCode, v
}

// issuerWarning is how the server says that its issuer is no address a
// client can reach.
var issuerWarning = regexp.MustCompile(`"level":"WARN","msg":"[^"]*GATEHOUSE_ISSUER`)

// TestDeployDockerRestart runs what deploy/README.md tells a user to run,
// without a container engine: the binary with the Dockerfile's ENV (read
// from it) and the documented `docker run -e` variables, in a directory
// that stands for the volume, on a free port that stands for the
// published one. It creates the first admin as documented, gets a token,
// stops the server (SIGTERM, as docker stop) and starts it again on the
// same volume: the signing keys must be the same and the token still
// valid. The image's environment alone (no GATEHOUSE_ISSUER) makes an
// issuer no client can reach, which the server must say.
func TestDeployDockerRestart(t *testing.T) {
	bin := buildGatehouse(t)
	image := dockerfileEnv(t)
	run := documentedDockerRun(t)
	if run.volume == "" {
		t.Fatal("the documented docker run mounts no volume: the database would not outlive the container")
	}
	volume := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	// env is the container's environment for one `docker run`: the image's
	// ENV, then the documented -e variables, evaluated afresh each run as
	// the shell would, with the volume and the port mapped.
	env := func(documented bool) []string {
		vars := map[string]string{}
		for k, v := range image {
			vars[k] = v
		}
		if documented {
			for k, v := range run.env {
				vars[k] = shellValue(t, v)
			}
		}
		host, _, err := net.SplitHostPort(vars["GATEHOUSE_ADDR"])
		if err != nil {
			t.Fatalf("GATEHOUSE_ADDR=%q: %v", vars["GATEHOUSE_ADDR"], err)
		}
		vars["GATEHOUSE_ADDR"] = net.JoinHostPort(host, port)
		out := []string{"HOME=" + volume}
		for k, v := range vars {
			out = append(out, k+"="+strings.ReplaceAll(v, run.volume, volume))
		}
		return out
	}
	c := &container{t: t, bin: bin, dir: volume, base: "http://127.0.0.1:" + port}

	// First run: create the admin, log in.
	c.env = env(true)
	c.start()
	if issuerWarning.MatchString(c.logs()) {
		t.Errorf("with the documented variables the server still warns about its issuer:\n%s", c.logs())
	}
	c.exec("a long admin password\n", "user", "create", "admin", "--admin", "--password-stdin")
	res, err := http.PostForm(c.base+"/token", url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"a long admin password"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	access, _ := tok["access_token"].(string)
	if res.StatusCode != 200 || access == "" {
		t.Fatalf("POST /token = %d %v", res.StatusCode, tok)
	}
	_, disco := c.getJSON("/.well-known/openid-configuration", "")
	if want := run.env["GATEHOUSE_ISSUER"]; want == "" || disco["issuer"] != want {
		t.Errorf("issuer = %v, want the documented GATEHOUSE_ISSUER %q", disco["issuer"], want)
	}
	kids := func() []string {
		_, jwks := c.getJSON("/.well-known/jwks.json", "")
		var out []string
		keys, _ := jwks["keys"].([]any)
		for _, k := range keys {
			if m, ok := k.(map[string]any); ok {
				out = append(out, fmt.Sprint(m["kid"]))
			}
		}
		slices.Sort(out)
		return out
	}
	before := kids()
	c.stop()

	// Second run on the same volume: same keys, the token still works.
	c.env = env(true)
	c.start()
	if after := kids(); len(before) == 0 || !slices.Equal(after, before) {
		t.Errorf("signing keys after a restart = %v, want the same as before, %v", after, before)
	}
	if code, me := c.getJSON("/users/me", access); code != 200 || me["username"] != "admin" {
		t.Errorf("GET /users/me with the first run's token = %d %v, want 200 admin", code, me)
	}
	c.stop()

	// The image's environment alone: the default issuer http://0.0.0.0:…
	// reaches nothing, and the server says so.
	c.env = env(false)
	c.start()
	if !issuerWarning.MatchString(c.logs()) {
		t.Errorf("with GATEHOUSE_ADDR=%s and no GATEHOUSE_ISSUER the server gives no warning about its issuer:\n%s",
			image["GATEHOUSE_ADDR"], c.logs())
	}
	c.stop()
}

// TestDeployDocsKeepSecrets: no documented command (deploy/, README.md,
// docs/) makes a new master secret (or database password) each time it
// runs. A secret is made once and kept: written to a file, or generated by
// the server beside its database.
func TestDeployDocsKeepSecrets(t *testing.T) {
	fresh := regexp.MustCompile(`(SECRET|PASSWORD)=\$\(openssl rand`)
	found, err := filepath.Glob(repoPath("docs/*.md"))
	if err != nil || len(found) == 0 {
		t.Fatalf("no docs/*.md found (%v)", err)
	}
	var manual []string
	for _, f := range found {
		manual = append(manual, "docs/"+filepath.Base(f))
	}
	for _, path := range slices.Concat(deployFiles, []string{"README.md"}, manual) {
		for line := range strings.Lines(mustRead(t, path)) {
			if fresh.MatchString(line) && !strings.Contains(line, ">") {
				t.Errorf("%s: %q makes a new secret every time it runs; write it to a file once", path, strings.TrimSpace(line))
			}
		}
	}
}
