package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
	"github.com/gatehouse/gatehouse/bench/load"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // the server could not be run, or nothing was measured
	exitUsage       = 2
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program with its inputs and outputs injected; it
// returns the exit status. Everything it starts or creates (processes,
// files, PostgreSQL databases) is stopped or removed before it returns,
// also when ctx is cancelled; a database it could not drop is named in a
// warning on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return exitUsage
	}
	code, err := measure(ctx, cfg, stdout, stderr)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "loadtest: interrupted; server stopped and temporary files removed")
		return exitInterrupted
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
	}
	return code
}

// measure starts the server, runs the scenarios and writes the report.
func measure(ctx context.Context, cfg config, stdout, progress io.Writer) (code int, err error) {
	tmp, err := os.MkdirTemp("", "gatehouse-loadtest-")
	if err != nil {
		return exitFailed, fmt.Errorf("create temp dir: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			fmt.Fprintf(progress, "loadtest: remove %s: %v\n", tmp, rmErr)
		}
	}()

	// Registered before any server starts, so it runs after they stopped.
	dbs := proc.NewDatabases(cfg.postgres, progress)
	defer dbs.DropAll()

	bin := cfg.bin
	if bin == "" {
		if bin, err = proc.BuildGatehouse(ctx, tmp, progress); err != nil {
			return exitFailed, err
		}
	}
	fmt.Fprintln(progress, "starting gatehouse serve …")
	srv, err := startServer(ctx, bin, tmp, dbs, benchLimits...)
	if err != nil {
		return exitFailed, err
	}
	defer func() {
		if stopErr := srv.Stop(); stopErr != nil {
			fmt.Fprintf(progress, "loadtest: %v\n", stopErr)
		}
	}()
	setupClient := load.NewClient(2, 30*time.Second)
	defer setupClient.CloseIdleConnections()
	if err := srv.WaitHealthy(ctx, setupClient); err != nil {
		return exitFailed, err
	}
	fmt.Fprintf(progress, "gatehouse is up at %s\n", srv.Base)

	rep := report{
		Started:  time.Now().UTC().Truncate(time.Second),
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:     runtime.NumCPU(),
		Database: dbs.Backend(),
		Settings: settingsOf(cfg),
	}
	if out, err := srv.CLI(ctx, "", "version"); err == nil {
		ver, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if ver != "" && !strings.HasPrefix(strings.ToLower(ver), "gatehouse") {
			ver = "gatehouse " + ver
		}
		rep.Gatehouse = ver
	}
	if !cfg.json {
		fmt.Fprintln(stdout, rep.header())
	}

	// Room for idle connections to two servers (limits, bare), so that
	// alternating between them does not re-dial every round.
	client := load.NewClient(2*cfg.concurrency, cfg.timeout)
	defer client.CloseIdleConnections()
	r := &runner{cfg: cfg, base: srv.Base, fx: newFixture(srv.Base, srv.CLI, setupClient), client: client, progress: progress}
	// Scenarios that need a server of their own get one, stopped before
	// the first (this defer runs before srv's); so does the bare handler.
	var others []interface{ Stop() error }
	defer func() {
		for _, o := range others {
			if stopErr := o.Stop(); stopErr != nil {
				fmt.Fprintf(progress, "loadtest: %v\n", stopErr)
			}
		}
	}()
	runnerOn := func(name, what string, env ...string) (*runner, error) {
		o, err := startSecondServer(ctx, bin, tmp, dbs, name, what, setupClient, progress, env...)
		others = append(others, o)
		if err != nil {
			return nil, err
		}
		return &runner{cfg: cfg, base: o.Base, fx: newFixture(o.Base, o.CLI, setupClient), client: client, progress: progress}, nil
	}
	measured := false
	for _, name := range cfg.scenarios {
		rr := r
		var err error
		switch name {
		case "flood":
			// Its own server with the default limits (see benchLimits).
			rr, err = runnerOn("flood", "with the default limits for the flood")
		case "logins":
			// Its own server: real hashing, every limit off.
			rr, err = runnerOn("logins", "with every limit off for the logins", loginLimitsOff...)
		case "limits":
			// A second server like the first but with the limits checked.
			r.limited, err = runnerOn("limits", "with every request limit checked (far above the load)", checkedLimits...)
		case "bare":
			// The bare net/http handler beside the first server.
			var bare *proc.Process
			bare, err = startBare(ctx, cfg.bareBin, tmp, setupClient, progress)
			others = append(others, bare)
			if err == nil {
				r.bare = bare.Base
			}
		}
		if err != nil {
			return exitFailed, err
		}
		sec, err := rr.scenario(ctx, name)
		if err != nil {
			return exitFailed, err
		}
		rep.Scenarios = append(rep.Scenarios, sec)
		measured = measured || sec.Skipped == ""
		if !cfg.json {
			if err := writeText(stdout, sec); err != nil {
				return exitFailed, fmt.Errorf("write results: %w", err)
			}
		}
	}
	if cfg.json {
		if err := writeJSON(stdout, rep); err != nil {
			return exitFailed, fmt.Errorf("write results: %w", err)
		}
	}
	if cfg.out != "" {
		if err := writeMarkdownFile(cfg.out, rep); err != nil {
			return exitFailed, err
		}
	}
	if !measured {
		return exitFailed, errors.New("every scenario was skipped; nothing was measured")
	}
	return exitOK, nil
}

func writeMarkdownFile(path string, rep report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeMarkdown(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
