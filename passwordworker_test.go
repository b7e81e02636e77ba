//go:build unix

package gatehouse_test

import (
	"errors"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestPasswordWorker: with Config.PasswordWorker the server hashes in a
// child process (this test binary, see TestMain): creating a user and
// logging in work through it, and Close stops it.
func TestPasswordWorker(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.PasswordWorker = os.Args[0] })
	m := regexp.MustCompile(`msg="password worker started" pid=(\d+)`).FindStringSubmatch(s.Logs.String())
	if m == nil {
		t.Fatalf("no worker start in the log:\n%s", s.Logs.String())
	}
	pid, _ := strconv.Atoi(m[1])
	if pid == os.Getpid() || syscall.Kill(pid, 0) != nil {
		t.Fatalf("worker pid %d is not a running child", pid)
	}

	mustCreateUser(t, s, "wendy", "worker-pass-1")
	mustToken(t, s, "wendy", "worker-pass-1")
	res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"wendy"}, "password": {"worker-pass-2"}}, nil)
	if res.StatusCode != 400 || !strings.Contains(string(body), "invalid_grant") {
		t.Errorf("wrong password: %d %s, want 400 invalid_grant", res.StatusCode, body)
	}
	if strings.Contains(s.Logs.String(), "worker-pass") {
		t.Error("a password reached the log")
	}

	if up := mustScrape(t, s, nil).value("gatehouse_password_worker_up"); up != 1 {
		t.Errorf("gatehouse_password_worker_up = %v, want 1", up)
	}

	// A worker that dies: down in the metrics, back at the next login
	// (after the restart delay; a login before it gets 503).
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "worker down in the metrics", func() bool {
		return mustScrape(t, s, nil).value("gatehouse_password_worker_up") == 0
	})
	form := url.Values{"grant_type": {"password"}, "username": {"wendy"}, "password": {"worker-pass-1"}}
	waitFor(t, "a login after the worker died", func() bool {
		res, body := doForm(t, s.URL+"/token", form, nil)
		switch res.StatusCode {
		case 200:
			return true
		case 503:
			return false
		}
		t.Fatalf("login while the worker restarts: %d %s", res.StatusCode, body)
		return false
	})
	if up := mustScrape(t, s, nil).value("gatehouse_password_worker_up"); up != 1 {
		t.Errorf("gatehouse_password_worker_up after the restart = %v, want 1", up)
	}
	m = regexp.MustCompile(`msg="password worker restarted" pid=(\d+)`).FindStringSubmatch(s.Logs.String())
	if m == nil {
		t.Fatalf("no worker restart in the log:\n%s", s.Logs.String())
	}
	pid, _ = strconv.Atoi(m[1])

	s.HTTP.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d still running after Close", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasswordWorkerThatDoesNotStart: a program that is not a worker is
// reported and hashing stays in the server process.
func TestPasswordWorkerThatDoesNotStart(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.PasswordWorker = "/bin/true" })
	if up := mustScrape(t, s, nil).value("gatehouse_password_worker_up"); up != 0 {
		t.Errorf("gatehouse_password_worker_up = %v, want 0", up)
	}
	if !strings.Contains(s.Logs.String(), "password worker did not start") {
		t.Errorf("no error logged:\n%s", s.Logs.String())
	}
	mustCreateUser(t, s, "ivan", "inline-pass-1")
	mustToken(t, s, "ivan", "inline-pass-1")
}
