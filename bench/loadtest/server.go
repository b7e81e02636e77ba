package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
)

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

// startServer starts bin serve with a fresh database from dbs (a SQLite
// file in dir, or a PostgreSQL database), a random master secret, its log
// in dir, and the extra environment env (such as benchLimits). The caller
// must call Stop (nil-safe), even when startServer fails after the start,
// and drop dbs after that.
func startServer(ctx context.Context, bin, dir string, dbs *proc.Databases, env ...string) (*proc.Server, error) {
	dbURL, err := dbs.Fresh(ctx, dir)
	if err != nil {
		return nil, err
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	return proc.StartServer(proc.ServerConfig{Bin: bin, Dir: dir, DatabaseURL: dbURL, Addr: addr, Secret: proc.RandomHex(32), Env: env})
}

// startSecondServer starts another server with a fresh database from dbs,
// the directory name under tmp and the extra environment env. The caller
// must call Stop on the result (nil-safe) whatever the error.
func startSecondServer(ctx context.Context, bin, tmp string, dbs *proc.Databases, name, what string, client *http.Client, progress io.Writer, env ...string) (*proc.Server, error) {
	dir := filepath.Join(tmp, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s dir: %w", name, err)
	}
	fmt.Fprintf(progress, "starting another gatehouse serve %s …\n", what)
	srv, err := startServer(ctx, bin, dir, dbs, env...)
	if err != nil {
		return srv, err
	}
	return srv, srv.WaitHealthy(ctx, client)
}

// startBare starts the bare net/http baseline, bin or else one built from
// bench/bare into tmp, and waits until it answers. The caller must call
// Stop on the result (nil-safe) whatever the error.
func startBare(ctx context.Context, bin, tmp string, client *http.Client, progress io.Writer) (*proc.Process, error) {
	if bin == "" {
		var err error
		if bin, err = proc.BuildBare(ctx, tmp, progress); err != nil {
			return nil, err
		}
	}
	fmt.Fprintln(progress, "starting the bare net/http handler …")
	p, err := proc.StartBare(bin, tmp)
	if err != nil {
		return p, err
	}
	return p, p.WaitHealthy(ctx, client)
}
