package main

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

// buildBinary runs `go build ./cmd/gatehouse` in the module that contains
// the working directory and returns the path of the binary, inside dir.
func buildBinary(ctx context.Context, dir string, progress io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module (go env GOMOD): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the gatehouse module: run from its checkout or pass -bin")
	}
	bin := filepath.Join(dir, "gatehouse")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	fmt.Fprintln(progress, "building ./cmd/gatehouse …")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = filepath.Dir(gomod)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return bin, nil
}

// randomHex returns n random bytes as 2n hex characters.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago. Another
// process could take it before the server binds it; the server then fails
// to start and says so, which is good enough for a benchmark.
func freeAddr() (string, error) {
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

// benchLimits turns the request rate limits off for the throughput
// scenarios (auth, token): their load comes from one loopback address as
// fast as the server answers, and they measure throughput, not limits. The
// flood scenario runs its own server with every default limit, as an
// operator would, and sends from many addresses.
var benchLimits = []string{
	"GATEHOUSE_RATE_LIMIT_IP=unlimited", "GATEHOUSE_RATE_LIMIT_USER=unlimited",
	"GATEHOUSE_RATE_LIMIT_APIKEY=unlimited", "GATEHOUSE_RATE_LIMIT_CLIENT=unlimited",
}

// checkedLimits turn every request rate limit on, so that each request
// runs every check and gets the RateLimit-* headers, but so high that the
// load of one address never reaches them: the limits scenario compares this
// server with one whose limits are off (benchLimits).
var checkedLimits = []string{
	"GATEHOUSE_RATE_LIMIT_IP=1000000000/s", "GATEHOUSE_RATE_LIMIT_USER=1000000000/s",
	"GATEHOUSE_RATE_LIMIT_APIKEY=1000000000/s", "GATEHOUSE_RATE_LIMIT_CLIENT=1000000000/s",
}

// serverEnv returns base without any GATEHOUSE_ variable (so the caller's
// own settings cannot leak into the benchmark) plus the benchmark's.
func serverEnv(base []string, dbURL, addr, secret string) []string {
	env := make([]string, 0, len(base)+3)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GATEHOUSE_DATABASE_URL="+dbURL,
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_SECRET="+secret,
	)
}

// server is a running `gatehouse serve` and the environment its CLI needs:
// the same database URL and GATEHOUSE_SECRET.
type server struct {
	bin     string
	env     []string
	base    string // http://127.0.0.1:port
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	waitErr error         // set before exited is closed
}

// startServer starts bin serve with a fresh database from dbs (a SQLite
// file in dir, or a PostgreSQL database), its log in dir, and the extra
// environment env (such as benchLimits). The caller must call stop, even
// when startServer fails after the start, and drop dbs after that.
func startServer(ctx context.Context, bin, dir string, dbs *databases, env ...string) (*server, error) {
	dbURL, err := dbs.fresh(ctx, dir)
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{
		bin:     bin,
		env:     append(serverEnv(os.Environ(), dbURL, addr, randomHex(32)), env...),
		base:    "http://" + addr,
		logPath: filepath.Join(dir, "server.log"),
		exited:  make(chan struct{}),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	// Not CommandContext: the server must get SIGTERM and a chance to shut
	// down, not an immediate kill when ctx ends; stop does that.
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// waitHealthy polls /healthz until it answers 200, the server exits, ctx
// ends or startTimeout passes.
func (s *server) waitHealthy(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(healthInterval)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/healthz", nil)
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
		case <-s.exited:
			return fmt.Errorf("gatehouse serve exited before it was healthy: %v\n%s", s.waitErr, s.logTail(20))
		case <-ctx.Done():
			return fmt.Errorf("wait for %s/healthz: %w\n%s", s.base, ctx.Err(), s.logTail(20))
		case <-tick.C:
		}
	}
}

// cli runs one gatehouse command against the server's database, with stdin
// as its standard input, and returns its standard output.
func (s *server) cli(ctx context.Context, stdin string, args ...string) ([]byte, error) {
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

// stop sends SIGTERM, waits up to stopTimeout for a graceful exit, then
// kills. It is safe to call more than once and after the server exited.
func (s *server) stop() error {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		// No SIGTERM on this platform, or already gone.
		s.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill gatehouse serve: %w", err)
	}
	<-s.exited
	return errors.New("gatehouse serve ignored SIGTERM and was killed")
}

// logTail returns the last n lines of the server's log, for error messages.
func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "server log:\n  " + strings.Join(lines, "\n  ")
}
