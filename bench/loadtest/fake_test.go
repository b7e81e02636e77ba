package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
)

// The test binary doubles as a fake gatehouse so that the orchestration
// can be tested end to end without building the real server.
const (
	envFake         = "LOADTEST_FAKE_GATEHOUSE" // "1": act as gatehouse
	envFakeNoClient = "LOADTEST_FAKE_NO_CLIENT" // "1": `client create` fails
	envFakeBadServe = "LOADTEST_FAKE_BAD_SERVE" // "1": `serve` exits at once
	envFakeMark     = "LOADTEST_FAKE_STOP_MARK" // file `serve` writes when stopped by SIGTERM
	envFakeDBLog    = "LOADTEST_FAKE_DB_LOG"    // file each command appends "command database-URL" to
	fakeJWT         = "eyJ.fake.jwt"
	fakeCCToken     = "eyJ.fake.cc"
	fakeKey         = "gk_fakekey"
	fakeClientID    = "client:1" // needs form-encoding in Basic auth
	fakeSecret      = "s3cret/+="
)

func TestMain(m *testing.M) {
	if os.Getenv(envFake) == "1" {
		os.Exit(fakeGatehouse(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func fakeGatehouse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "-addr" {
		// Started as the bare handler.
		if err := fakeBare(args[1]); err != nil {
			fmt.Fprintln(stderr, "bare:", err)
			return 1
		}
		return 0
	}
	cmd := strings.Join(args, " ")
	if len(args) == 0 {
		args = []string{""}
	}
	if err := fakeLogDB(args[0]); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	switch {
	case cmd == "serve":
		if err := fakeServe(); err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		return 0
	case cmd == "version":
		fmt.Fprintln(stdout, "gatehouse fake-1.0")
		return 0
	case cmd == `user create bench --password-stdin --scopes read write --json`:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil || strings.TrimSpace(line) == "" {
			fmt.Fprintln(stderr, "Error: no password on stdin")
			return 1
		}
		fmt.Fprintln(stdout, `{"id":"u1","username":"bench","scopes":["read","write"],"admin":false}`)
		return 0
	case cmd == "apikey create --user bench --json":
		fmt.Fprintf(stdout, `{"id":"k1","key":%q,"name":"","user":"bench","scopes":["read","write"],"expires_at":null}`+"\n", fakeKey)
		return 0
	case cmd == "client create --name bench --grant client_credentials --json" && os.Getenv(envFakeNoClient) != "1":
		fmt.Fprintf(stdout, `{"client_id":%q,"client_secret":%q,"name":"bench","grant_types":["client_credentials"]}`+"\n", fakeClientID, fakeSecret)
		return 0
	}
	fmt.Fprintf(stderr, "Error: unknown command %q\nRun 'gatehouse --help' for usage.\n", cmd)
	return 1
}

// fakeLogDB appends what (a command's first word, or an event) and
// GATEHOUSE_DATABASE_URL to the file named by envFakeDBLog, if set.
func fakeLogDB(what string) error {
	path := os.Getenv(envFakeDBLog)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", what, os.Getenv("GATEHOUSE_DATABASE_URL")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fakeServe() error {
	if os.Getenv(envFakeBadServe) == "1" {
		return errors.New("fake serve: refusing to start")
	}
	secret, err := hex.DecodeString(os.Getenv("GATEHOUSE_SECRET"))
	if err != nil || len(secret) != 32 {
		return fmt.Errorf("GATEHOUSE_SECRET is not 64 hex characters")
	}
	var pg *pgx.Conn // open while serving, as a real server's pool would be
	switch dbURL := os.Getenv("GATEHOUSE_DATABASE_URL"); {
	case strings.HasPrefix(dbURL, "sqlite:"):
	case strings.HasPrefix(dbURL, "postgres://"):
		if pg, err = fakeCheckPostgres(dbURL); err != nil {
			return err
		}
		defer pg.Close(context.Background())
	default:
		return fmt.Errorf("GATEHOUSE_DATABASE_URL %q is neither sqlite: nor postgres://", dbURL)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /users/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fakeJWT && r.Header.Get("X-API-Key") != fakeKey {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"id":"u1","username":"bench"}`)
	})
	clientOK := func(r *http.Request) bool {
		id, secret, ok := r.BasicAuth()
		return ok && id == "client%3A1" && secret == "s3cret%2F%2B%3D"
	}
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case r.FormValue("grant_type") == "password" && r.FormValue("username") == "bench" && r.FormValue("password") != "":
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer"}`, fakeJWT)
		case r.FormValue("grant_type") == "client_credentials" && clientOK(r):
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer"}`, fakeCCToken)
		default:
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		}
	})
	mux.HandleFunc("POST /oauth2/introspect", func(w http.ResponseWriter, r *http.Request) {
		if !clientOK(r) || r.FormValue("token") != fakeCCToken {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"active":true}`)
	})
	if err := fakeListen(os.Getenv("GATEHOUSE_ADDR"), mux); err != nil {
		return err
	}
	if pg != nil {
		// The load test must drop the database only after the server stopped.
		event := "stopped-with-db"
		if err := pg.Ping(context.Background()); err != nil {
			event = "stopped-without-db"
		}
		if err := fakeLogDB(event); err != nil {
			return err
		}
	}
	if mark := os.Getenv(envFakeMark); mark != "" {
		return os.WriteFile(mark, []byte("stopped"), 0o600)
	}
	return nil
}

// fakeBare stands in for bench/bare: GET /users/me and /healthz on addr
// until SIGTERM. It refuses to start with a GATEHOUSE_ variable in its
// environment: the load test must not pass the caller's on.
func fakeBare(addr string) error {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") {
			return fmt.Errorf("started with %s", kv)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /users/me", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id":"u1","username":"bench"}`) })
	return fakeListen(addr, mux)
}

// fakeListen serves h on addr until SIGTERM or Ctrl-C.
func fakeListen(addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return srv.Shutdown(context.Background())
}

// fakeCheckPostgres connects to dbURL and checks that it reaches the
// database its path names, and that the database is empty. It returns the
// open connection.
func fakeCheckPostgres(dbURL string) (*pgx.Conn, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), proc.PGTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("fake serve: %w", err)
	}
	var name string
	var tables int
	if err := conn.QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("fake serve: %w", err)
	}
	if "/"+name != u.Path || tables != 0 {
		conn.Close(ctx)
		return nil, fmt.Errorf("fake serve: connected to %s with %d tables, want the empty %s", name, tables, u.Path)
	}
	return conn, nil
}

// fakeRun runs the whole program against the fake gatehouse with a
// private TMPDIR, checks that the temp dir was removed, and returns the
// exit status, stdout, stderr and whether the server saw SIGTERM.
func fakeRun(t *testing.T, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string, stopped bool) {
	t.Helper()
	tmp := t.TempDir()
	mark := t.TempDir() + "/stopped"
	t.Setenv("TMPDIR", tmp)
	t.Setenv(envFake, "1")
	// A -race binary otherwise sleeps a second at exit, and the CLI runs
	// one process per command.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	t.Setenv(envFakeMark, mark)
	t.Setenv("GATEHOUSE_SECRET", "not-for-the-benchmark") // must not leak through
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut strings.Builder
	code = run(ctx, append([]string{"-bin", os.Args[0], "-bare-bin", os.Args[0]}, args...), &out, &errOut)
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatalf("read TMPDIR: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("run() left %d entries in TMPDIR, want none: %v", len(left), left[0].Name())
	}
	b, _ := os.ReadFile(mark)
	return code, out.String(), errOut.String(), string(b) == "stopped"
}

// jsonReport mirrors the JSON the program writes, for the tests.
type jsonReport struct {
	Gatehouse string `json:"gatehouse_version"`
	Database  string `json:"database"`
	Scenarios []struct {
		Scenario string   `json:"scenario"`
		Skipped  string   `json:"skipped"`
		Notes    []string `json:"notes"`
		Results  []struct {
			Name       string         `json:"name"`
			Requests   int            `json:"requests"`
			Errors     int            `json:"errors"`
			Unexpected int            `json:"unexpected"`
			Statuses   map[string]int `json:"statuses"`
			Ratio      float64        `json:"ratio"`
		} `json:"results"`
		Floods []floodReport `json:"floods"`
	} `json:"scenarios"`
}

func TestRunAgainstFakeGatehouse(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantSkipped  map[string]string // scenario → part of the message
		wantTargets  map[string][]string
		wantMarkdown []string
	}{
		{
			name: "every scenario",
			wantTargets: map[string][]string{
				"auth":   {nameHealthz, nameMeBearer, nameMeAPIKey},
				"bare":   {nameBare, nameHealthz, nameMeBearer, nameMeAPIKey},
				"token":  {nameHealthz, nameTokenCC, nameIntrospect},
				"limits": {nameLimitsOffBearer, nameLimitsOnBearer, nameLimitsOffAPIKey, nameLimitsOnAPIKey},
				"flood":  {nameMeAlone, nameMeRate, nameFloodRate, nameMeClosed, nameFloodClose},
			},
			wantMarkdown: []string{"# gatehouse load test", "CPUs · ", " · gatehouse fake-1.0 · SQLite  \n", "## auth", "## bare", "vs bare", "me-bearer / healthz = ", "## token", "## limits", "## flood", "| me-apikey |", "p99 of /users/me", "me-bearer-limits-on / me-bearer-limits-off = "},
		},
		{
			name:        "client create not there yet",
			env:         map[string]string{envFakeNoClient: "1"},
			wantSkipped: map[string]string{"token": `gatehouse client create --name bench --grant client_credentials --json: exit status 1: Error: unknown command`},
			wantTargets: map[string][]string{
				"auth":   {nameHealthz, nameMeBearer, nameMeAPIKey},
				"bare":   {nameBare, nameHealthz, nameMeBearer, nameMeAPIKey},
				"limits": {nameLimitsOffBearer, nameLimitsOnBearer, nameLimitsOffAPIKey, nameLimitsOnAPIKey},
				"flood":  {nameMeAlone, nameMeRate, nameFloodRate, nameMeClosed, nameFloodClose},
			},
			wantMarkdown: []string{"## token", "Skipped: cannot create a client"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := t.TempDir() + "/out.md"
			// 300ms over 2 rounds: each measured slice lasts 150ms. With
			// 40ms, a CI machine busy starting a browser once stalled the
			// test process for a whole 20ms slice and /users/me under the
			// flood completed no request at all.
			code, stdout, stderr, stopped := fakeRun(t, t.Context(), tc.env,
				"-scenario", "flood,auth,limits,token,bare", "-duration", "300ms", "-rounds", "2",
				"-concurrency", "2", "-flood-workers", "2", "-me-rate", "500", "-flood-rate", "500", "-json", "-out", md)
			if code != exitOK {
				t.Fatalf("run() = %d, want %d; stderr:\n%s", code, exitOK, stderr)
			}
			if !stopped {
				t.Errorf("the server did not get SIGTERM")
			}
			var rep jsonReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("run() -json output is not JSON: %v\n%s", err, stdout)
			}
			if rep.Gatehouse != "gatehouse fake-1.0" {
				t.Errorf("gatehouse_version = %q, want the output of `gatehouse version`", rep.Gatehouse)
			}
			if rep.Database != proc.BackendSQLite {
				t.Errorf("database = %q, want %q", rep.Database, proc.BackendSQLite)
			}
			var order []string
			for _, sec := range rep.Scenarios {
				order = append(order, sec.Scenario)
				if want, ok := tc.wantSkipped[sec.Scenario]; ok {
					if !strings.Contains(sec.Skipped, want) || len(sec.Results) != 0 {
						t.Errorf("%s: skipped %q with %d results, want skipped with %q", sec.Scenario, sec.Skipped, len(sec.Results), want)
					}
					continue
				}
				if sec.Skipped != "" || (len(sec.Notes) != 0 && sec.Scenario != "limits" && sec.Scenario != "bare") {
					t.Errorf("%s: skipped %q, notes %q; want neither", sec.Scenario, sec.Skipped, sec.Notes)
				}
				var names []string
				for _, r := range sec.Results {
					names = append(names, r.Name)
					if r.Requests == 0 || r.Errors != 0 {
						t.Errorf("%s/%s: %d requests, %d errors; want some requests and no errors", sec.Scenario, r.Name, r.Requests, r.Errors)
					}
					if r.Name != nameFloodRate && r.Name != nameFloodClose && r.Unexpected != 0 {
						t.Errorf("%s/%s: %d unexpected statuses %v, want none", sec.Scenario, r.Name, r.Unexpected, r.Statuses)
					}
				}
				if want := tc.wantTargets[sec.Scenario]; !slices.Equal(names, want) {
					t.Errorf("%s: targets %v, want %v", sec.Scenario, names, want)
				}
				if sec.Scenario == "flood" {
					if len(sec.Floods) != 2 {
						t.Fatalf("flood reports = %+v, want 2 (rate, closed)", sec.Floods)
					}
					for _, f := range sec.Floods {
						if f.Requests == 0 || f.Statuses["400"] != f.Requests || f.Sources != 2 || f.MeErrors != 0 || f.MeUnexpected != 0 {
							t.Errorf("flood report = %+v, want requests all answered 400 from 2 addresses, /users/me all 200", f)
						}
					}
					if f := sec.Floods[1]; f.Shape != "closed" || f.Workers != 2 {
						t.Errorf("closed flood report = %+v, want 2 workers", f)
					}
				}
			}
			if want := []string{"auth", "bare", "token", "limits", "flood"}; !slices.Equal(order, want) {
				t.Errorf("scenarios ran in order %v, want %v", order, want)
			}
			b, err := os.ReadFile(md)
			if err != nil {
				t.Fatalf("-out file: %v", err)
			}
			for _, want := range tc.wantMarkdown {
				if !strings.Contains(string(b), want) {
					t.Errorf("-out file does not contain %q:\n%s", want, b)
				}
			}
		})
	}
}

func TestRunTextOutput(t *testing.T) {
	code, stdout, stderr, _ := fakeRun(t, t.Context(), nil, "-duration", "20ms", "-rounds", "1", "-concurrency", "1")
	if code != exitOK {
		t.Fatalf("run() = %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	for _, want := range []string{"== auth:", "vs healthz", "\nme-bearer ", "\nme-apikey ", "gatehouse fake-1.0 · SQLite\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "== flood") {
		t.Errorf("stdout has the flood scenario, which was not asked for:\n%s", stdout)
	}
}

func TestRunFailures(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		env        map[string]string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{
			name:       "server exits at once",
			ctx:        t.Context(),
			env:        map[string]string{envFakeBadServe: "1"},
			wantCode:   exitFailed,
			wantStderr: "fake serve: refusing to start",
		},
		{
			name:       "interrupted",
			ctx:        cancelled,
			wantCode:   exitInterrupted,
			wantStderr: "interrupted",
		},
		{
			name:       "bad flags",
			ctx:        t.Context(),
			args:       []string{"-concurrency", "0"},
			wantCode:   exitUsage,
			wantStderr: "-concurrency 0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr, _ := fakeRun(t, tc.ctx, tc.env, tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("run() = %d with stderr\n%s\nwant %d and %q", code, stderr, tc.wantCode, tc.wantStderr)
			}
		})
	}
}
