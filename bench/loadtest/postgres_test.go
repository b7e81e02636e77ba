package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
	"github.com/gatehouse/gatehouse/bench/internal/proctest"
)

// readDBLog returns the database URLs the fake gatehouse logged, by
// command (serve, user, …).
func readDBLog(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("database log: %v", err)
	}
	defer f.Close()
	got := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cmd, dbURL, _ := strings.Cut(sc.Text(), " ")
		got[cmd] = append(got[cmd], dbURL)
	}
	return got
}

// TestRunAgainstFakeGatehouseOnPostgres runs the whole program with
// -postgres against the fake gatehouse, which checks that each server's
// database exists and is empty, and checks that every database is gone
// afterwards: after a run, after a server that does not start and after
// an interruption.
func TestRunAgainstFakeGatehouseOnPostgres(t *testing.T) {
	admin := proctest.PostgresAdminURL(t)
	quick := []string{"-duration", "20ms", "-rounds", "1", "-concurrency", "1", "-flood-workers", "1", "-me-rate", "100", "-flood-rate", "100"}
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		interrupt   bool // cancel the run once a server has started
		wantCode    int
		wantServers int
	}{
		{name: "every server", args: append([]string{"-scenario", "auth,limits,flood", "-json"}, quick...), wantCode: exitOK, wantServers: 3},
		{name: "server exits at once", env: map[string]string{envFakeBadServe: "1"}, wantCode: exitFailed, wantServers: 1},
		{name: "interrupted", args: []string{"-duration", "20s"}, interrupt: true, wantCode: exitInterrupted, wantServers: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dbLog := t.TempDir() + "/db.log"
			env := map[string]string{envFakeDBLog: dbLog}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.interrupt {
				go func() {
					for ctx.Err() == nil {
						if b, _ := os.ReadFile(dbLog); strings.HasPrefix(string(b), "serve ") {
							cancel()
							return
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			}
			code, stdout, stderr, _ := fakeRun(t, ctx, env, append([]string{"-postgres", admin}, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("run() = %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if strings.Contains(stderr, "warning") {
				t.Errorf("run() warned:\n%s", stderr)
			}
			logged := readDBLog(t, dbLog)
			seen := map[string]bool{}
			for _, dbURL := range logged["serve"] {
				if !strings.HasPrefix(dbURL, "postgres://") {
					t.Errorf("a server ran on %q, want a PostgreSQL URL", dbURL)
					continue
				}
				name := proctest.DatabaseName(t, dbURL)
				if seen[name] {
					t.Errorf("two servers ran on database %s, want one each", name)
				}
				seen[name] = true
				if !strings.Contains(stderr, "created PostgreSQL database "+name) {
					t.Errorf("stderr does not name database %s:\n%s", name, stderr)
				}
				if proctest.MustDatabaseExists(t, admin, name) {
					t.Errorf("run() left database %s", name)
				}
			}
			if len(seen) != tc.wantServers {
				t.Errorf("servers ran on %d databases %v, want %d", len(seen), logged["serve"], tc.wantServers)
			}
			for _, dbURL := range logged["user"] {
				if !seen[proctest.DatabaseName(t, dbURL)] {
					t.Errorf("`gatehouse user` ran on %q, not on a server's database", dbURL)
				}
			}
			if tc.wantCode != exitOK {
				return
			}
			var rep jsonReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("run() -json output is not JSON: %v\n%s", err, stdout)
			}
			if rep.Database != proc.BackendPostgres {
				t.Errorf("database = %q, want %q", rep.Database, proc.BackendPostgres)
			}
			if len(logged["user"]) == 0 {
				t.Errorf("no `gatehouse user` command ran; database log: %v", logged)
			}
			if len(logged["stopped-without-db"]) != 0 || len(logged["stopped-with-db"]) != tc.wantServers {
				t.Errorf("servers stopped with their database: %v, without: %v; want all %d with (dropped after the stop)",
					logged["stopped-with-db"], logged["stopped-without-db"], tc.wantServers)
			}
		})
	}
}
