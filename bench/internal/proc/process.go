package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Time limits of the orchestration, separate from the measurements.
const (
	buildTimeout   = 5 * time.Minute
	startTimeout   = 60 * time.Second
	cliTimeout     = 2 * time.Minute
	stopTimeout    = 10 * time.Second
	healthInterval = 100 * time.Millisecond
)

// Import paths of the product module and of the bare baseline.
const (
	gatehouseModule = "github.com/gatehouse/gatehouse"
	bareCommand     = "github.com/gatehouse/gatehouse/bench/bare"
)

// BuildGatehouse runs `go build ./cmd/gatehouse` in the gatehouse module
// (the checkout the bench module's replace directive points at, or the
// working directory's module when that is gatehouse itself) and returns
// the path of the binary, inside dir.
func BuildGatehouse(ctx context.Context, dir string, progress io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", gatehouseModule).Output()
	if err != nil {
		return "", fmt.Errorf("find the gatehouse module (go list -m %s): %w: run from the checkout (go run -C bench ./loadtest) or pass -bin", gatehouseModule, exitMessage(err))
	}
	src := strings.TrimSpace(string(out))
	fmt.Fprintln(progress, "building ./cmd/gatehouse …")
	return build(ctx, src, "./cmd/gatehouse", filepath.Join(dir, "gatehouse"))
}

// BuildBare builds the bare net/http baseline, bench/bare, of the bench
// module that holds the working directory, and returns the path of the
// binary, inside dir.
func BuildBare(ctx context.Context, dir string, progress io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	fmt.Fprintln(progress, "building bench/bare …")
	bin, err := build(ctx, "", bareCommand, filepath.Join(dir, "bare"))
	if err != nil {
		return "", fmt.Errorf("%w\nrun from the bench module (go run -C bench ./loadtest) or pass -bare-bin", err)
	}
	return bin, nil
}

// StartBare starts the bare baseline bin on a free loopback port, with
// none of the caller's GATEHOUSE_ variables and its log in dir. The caller
// must call Stop (nil-safe), also when a later step fails.
func StartBare(bin, dir string) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return Start("bare", bin, []string{"-addr", addr}, CleanEnv(os.Environ()), addr, filepath.Join(dir, "bare.log"))
}

// build runs go build -o bin pkg in the directory src ("" for the working
// directory).
func build(ctx context.Context, src, pkg, bin string) (string, error) {
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	return bin, nil
}

// exitMessage adds a failed command's stderr to its error.
func exitMessage(err error) error {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}

// RandomHex returns n random bytes as 2n hex characters.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// FreeAddr returns a 127.0.0.1 address that was free a moment ago. Another
// process could take it before the server binds it; the server then fails
// to start and says so, which is good enough for a benchmark.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// CleanEnv returns base without any GATEHOUSE_ variable, so that the
// caller's own settings cannot leak into a benchmark.
func CleanEnv(base []string) []string {
	env := make([]string, 0, len(base))
	for _, kv := range base {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// ServerEnv returns [CleanEnv] of base plus the settings every gatehouse
// server of a benchmark gets: its database, address and master secret.
func ServerEnv(base []string, dbURL, addr, secret string) []string {
	return append(CleanEnv(base),
		"GATEHOUSE_DATABASE_URL="+dbURL,
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_SECRET="+secret,
	)
}

// Process is a running child process that serves HTTP on a loopback
// address: `gatehouse serve` or the bare baseline.
type Process struct {
	Base    string // http://127.0.0.1:port
	name    string // for messages: "gatehouse serve"
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	waitErr error         // set before exited is closed
}

// Start starts bin with args and env, its output to logPath, as a server
// that will listen on addr. The caller must call Stop, also when a later
// step fails.
func Start(name, bin string, args, env []string, addr, logPath string) (*Process, error) {
	p := &Process{Base: "http://" + addr, name: name, logPath: logPath, exited: make(chan struct{})}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logFile.Close() // the child has its own descriptor
	// Not CommandContext: the server must get SIGTERM and a chance to shut
	// down, not an immediate kill when a context ends; Stop does that.
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout = logFile
	p.cmd.Stderr = logFile
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// WaitHealthy polls /healthz until it answers 200, the process exits, ctx
// ends or startTimeout passes.
func (p *Process) WaitHealthy(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(healthInterval)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("wait for /healthz: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was healthy: %v\n%s", p.name, p.waitErr, p.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("wait for %s/healthz: %w\n%s", p.Base, ctx.Err(), p.LogTail(20))
		case <-tick.C:
		}
	}
}

// Stop sends SIGTERM, waits up to stopTimeout for a graceful exit, then
// kills. It is safe to call on nil, more than once and after the process
// exited.
func (p *Process) Stop() error {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		// No SIGTERM on this platform, or already gone.
		p.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.exited
	return fmt.Errorf("%s ignored SIGTERM and was killed", p.name)
}

// LogTail returns the last n lines of the process's log, for error
// messages.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return p.name + " log:\n  " + strings.Join(lines, "\n  ")
}

// Server is a running `gatehouse serve` and the environment its CLI needs:
// the same database URL and GATEHOUSE_SECRET.
type Server struct {
	*Process
	bin string
	env []string
}

// ServerConfig says how to run one gatehouse server.
type ServerConfig struct {
	Bin         string   // the gatehouse binary
	Dir         string   // where its log goes
	DatabaseURL string   // GATEHOUSE_DATABASE_URL
	Addr        string   // GATEHOUSE_ADDR, a loopback host:port
	Secret      string   // GATEHOUSE_SECRET, 64 hex characters
	Env         []string // further settings, such as GATEHOUSE_ISSUER=…
}

// StartServer starts `gatehouse serve` as c says, with none of the
// caller's own GATEHOUSE_ variables. The caller must call Stop (nil-safe),
// also when StartServer or a later step fails.
func StartServer(c ServerConfig) (*Server, error) {
	env := append(ServerEnv(os.Environ(), c.DatabaseURL, c.Addr, c.Secret), c.Env...)
	p, err := Start("gatehouse serve", c.Bin, []string{"serve"}, env, c.Addr, filepath.Join(c.Dir, "server.log"))
	if err != nil {
		return nil, err
	}
	return &Server{Process: p, bin: c.Bin, env: env}, nil
}

// Stop stops the server; see [Process.Stop]. It is safe to call on nil.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	return s.Process.Stop()
}

// CLI runs one gatehouse command against the server's database, with stdin
// as its standard input, and returns its standard output.
func (s *Server) CLI(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "(no message)"
		}
		return nil, fmt.Errorf("gatehouse %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
