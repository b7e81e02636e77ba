//go:build unix

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/password"
)

// TestPasswordWorker: with a password worker in its context (what
// `gatehouse serve` does) the server hashes in that child process (this
// test binary, see TestMain): creating a user and logging in work through
// it, a worker that dies comes back at the next login, and closing the
// worker after the server stops it.
func TestPasswordWorker(t *testing.T) {
	var workerLogs lockedWriter
	w, err := password.StartWorker(password.WorkerConfig{Path: os.Args[0], Logger: slog.New(slog.NewTextHandler(&workerLogs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerCtx(t, password.WithWorker(context.Background(), w))
	pid := w.PID()
	if pid == os.Getpid() || syscall.Kill(pid, 0) != nil {
		t.Fatalf("worker pid %d is not a running child", pid)
	}

	mustCreateUser(t, s, "wendy", "worker-pass-1")
	mustToken(t, s, "wendy", "worker-pass-1")
	res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"wendy"}, "password": {"worker-pass-2"}}, nil)
	if res.StatusCode != 400 || !strings.Contains(string(body), "invalid_grant") {
		t.Errorf("wrong password: %d %s, want 400 invalid_grant", res.StatusCode, body)
	}
	if strings.Contains(s.Logs.String()+workerLogs.String(), "worker-pass") {
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
	m := regexp.MustCompile(`msg="password worker restarted" pid=(\d+)`).FindStringSubmatch(workerLogs.String())
	if m == nil {
		t.Fatalf("no worker restart in the log:\n%s", workerLogs.String())
	}
	pid, _ = strconv.Atoi(m[1])

	s.HTTP.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("worker %d to end after Close", pid), func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	})
}
