package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
	"github.com/gatehouse/gatehouse/bench/load"
)

// scenarioOrder returns the scenarios in the order they run, whatever
// order -scenario names them: the flood goes last because it trips the
// login throttles.
func scenarioOrder() []string { return []string{"auth", "bare", "token", "limits", "logins", "flood"} }

// config is the parsed command line.
type config struct {
	bin          string
	bareBin      string
	scenarios    []string
	duration     time.Duration
	rounds       int
	concurrency  int
	floodWorkers int
	floodRate    float64 // wrong passwords per second of the fixed-rate flood
	meRate       float64 // GET /users/me per second while the flood scenario measures
	timeout      time.Duration
	json         bool
	out          string
	postgres     string // admin URL; "" runs every server on SQLite
}

// parseFlags parses args (without the program name). It returns
// flag.ErrHelp for -h, after printing the usage to stderr.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run -C bench ./loadtest [flags]\n\n"+
			"Starts gatehouse on loopback with a fresh SQLite database (with -postgres, a\n"+
			"fresh PostgreSQL database per server, dropped at the end) and measures it.\n"+
			"Scenarios: %s.\n\nFlags:\n", strings.Join(scenarioOrder(), ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.bin, "bin", "", "gatehouse binary to run (default: go build ./cmd/gatehouse into a temp dir)")
	fs.StringVar(&c.bareBin, "bare-bin", "", "bare net/http baseline to run for the bare scenario (default: go build ./bare of the bench module into a temp dir)")
	scenarios := fs.String("scenario", "auth", "comma-separated scenarios: "+strings.Join(scenarioOrder(), ", "))
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "measuring time per target (split across the rounds)")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved rounds per measurement")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrent workers per measured target")
	fs.IntVar(&c.floodWorkers, "flood-workers", 64, "flood clients, each from its own loopback address (127.0.0.10 on), and the workers of the closed-loop flood (flood scenario)")
	fs.Float64Var(&c.floodRate, "flood-rate", 800, "wrong passwords per second of the fixed-rate (open-loop) flood (flood scenario)")
	fs.Float64Var(&c.meRate, "me-rate", 40, "GET /users/me per second measured in the flood scenario, from 127.0.0.2; keep it under the default per-user limit (50/s)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout (timeouts are counted, not fatal)")
	fs.BoolVar(&c.json, "json", false, "print one JSON document instead of tables")
	fs.StringVar(&c.out, "out", "", "also write the results as a Markdown file")
	fs.StringVar(&c.postgres, "postgres", "", "admin `URL` of a PostgreSQL server (say postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable): "+
		"each server runs on a new database there, "+proc.PGNamePrefix+"<random>, dropped when the run ends (default: a SQLite file per server)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var scenErr error
	c.scenarios, scenErr = parseScenarios(*scenarios)
	if err := errors.Join(scenErr, c.validate()); err != nil {
		return config{}, err
	}
	return c, nil
}

// parseScenarios splits a comma list, rejects unknown names and returns the
// known ones once each, in scenarioOrder.
func parseScenarios(s string) ([]string, error) {
	var unknown []string
	seen := map[string]bool{}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
		case slices.Contains(scenarioOrder(), name):
			seen[name] = true
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown scenario %s (want %s)", strings.Join(unknown, ", "), strings.Join(scenarioOrder(), ", "))
	}
	var out []string
	for _, name := range scenarioOrder() {
		if seen[name] {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// validate collects every problem with the numeric flags and -postgres.
func (c config) validate() error {
	var errs []error
	if c.duration <= 0 || c.duration > load.MaxDuration {
		errs = append(errs, fmt.Errorf("-duration %v: want more than 0 and at most %v", c.duration, load.MaxDuration))
	}
	if c.rounds < 1 || c.rounds > load.MaxRounds {
		errs = append(errs, fmt.Errorf("-rounds %d: want 1 to %d", c.rounds, load.MaxRounds))
	} else if c.duration > 0 && c.duration/time.Duration(c.rounds) < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("-duration %v over -rounds %d: want at least 10ms per round", c.duration, c.rounds))
	}
	if c.concurrency < 1 || c.concurrency > load.MaxConcurrency {
		errs = append(errs, fmt.Errorf("-concurrency %d: want 1 to %d", c.concurrency, load.MaxConcurrency))
	}
	if c.floodWorkers < 1 || c.floodWorkers > load.MaxConcurrency {
		errs = append(errs, fmt.Errorf("-flood-workers %d: want 1 to %d", c.floodWorkers, load.MaxConcurrency))
	}
	if !(c.floodRate > 0) || c.floodRate > load.MaxRate {
		errs = append(errs, fmt.Errorf("-flood-rate %v: want more than 0 and at most %d", c.floodRate, load.MaxRate))
	}
	if !(c.meRate > 0) || c.meRate > load.MaxRate {
		errs = append(errs, fmt.Errorf("-me-rate %v: want more than 0 and at most %d", c.meRate, load.MaxRate))
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout %v: want more than 0", c.timeout))
	}
	if c.postgres != "" {
		if err := proc.CheckPostgresURL(c.postgres); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
