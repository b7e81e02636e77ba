package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

// loginLevels are the numbers of concurrent closed-loop clients of the
// logins scenario.
var loginLevels = []int{1, 4, 32}

// loginLimitsOff turns off every limit a burst of successful logins from one
// address could reach, on top of benchLimits: the logins scenario measures
// the hashing queue, not the limits.
var loginLimitsOff = append(append([]string(nil), benchLimits...),
	"GATEHOUSE_RATE_LIMIT_TOKEN=unlimited", "GATEHOUSE_LOGIN_IP_LIMIT=unlimited")

func loginTargetName(clients int) string { return fmt.Sprintf("login-c%d", clients) }

// loginTarget posts the bench user's right password to the token endpoint.
func loginTarget(name, base, password string) load.Target {
	form := url.Values{"grant_type": {"password"}, "username": {benchUser}, "password": {password}}
	return formTarget(name, base+"/oauth2/token", form, nil, http.StatusOK)
}

// logins measures successful password logins per second with 1, 4 and 32
// concurrent closed-loop clients (each sends its next login as soon as
// the last one is answered, 503 or not), with real argon2id parameters and
// every limit off, alternating the three in rounds. What counts is the rate
// of 200 answers: a burst the server refuses (503) instead of queueing
// shows up as a lower rate with 32 clients than with 4.
func (r *runner) logins(ctx context.Context) section {
	sec := section{
		Scenario: "logins",
		Title:    "POST /oauth2/token (password grant, right password) from 1, 4 and 32 closed-loop clients; every limit off",
		Baseline: loginTargetName(loginLevels[0]),
	}
	if _, err := r.fx.userToken(ctx); err != nil {
		sec.Skipped = fmt.Sprintf("the bench user cannot log in: %v", err)
		return sec
	}
	clients := make([]*http.Client, len(loginLevels))
	targets := make([]load.Target, len(loginLevels))
	for i, n := range loginLevels {
		clients[i] = load.NewClient(n, r.cfg.timeout)
		defer clients[i].CloseIdleConnections()
		targets[i] = loginTarget(loginTargetName(n), r.base, r.fx.password)
	}
	slice := max(r.cfg.duration/time.Duration(r.cfg.rounds), time.Millisecond)
	fmt.Fprintf(r.progress, "logins: measuring %v clients, %v each over %d rounds …\n", loginLevels, r.cfg.duration, r.cfg.rounds)
	// A short warm-up (dropped): the server's estimate of a hash's cost
	// and the connections.
	load.Run(ctx, clients[1], targets[1], load.Options{Concurrency: loginLevels[1], Duration: min(time.Second, slice)})
	parts := make([][]load.Result, len(loginLevels))
	for range r.cfg.rounds {
		for i, n := range loginLevels {
			if ctx.Err() != nil {
				break
			}
			res, _ := load.Run(ctx, clients[i], targets[i], load.Options{Concurrency: n, Duration: slice})
			parts[i] = append(parts[i], res)
		}
	}
	if err := ctx.Err(); err != nil {
		sec.notef("interrupted: %v", err)
	}
	ok := make([]float64, len(loginLevels))
	var rates []string
	for i, n := range loginLevels {
		res := load.Merge(targets[i].Name, parts[i]...)
		sec.Results = append(sec.Results, res)
		ok[i] = successRate(res)
		rates = append(rates, fmt.Sprintf("%d clients %.1f/s (%d × 503)", n, ok[i], res.Statuses[http.StatusServiceUnavailable]))
	}
	sec.notef("successful logins: %s", strings.Join(rates, ", "))
	if ok[1] > 0 {
		sec.notef("successful logins with 32 clients / with 4 = %.2f", ok[2]/ok[1])
	}
	return sec
}

// successRate is the number of 200 answers per second of res.
func successRate(res load.Result) float64 {
	if res.Elapsed <= 0 {
		return 0
	}
	return float64(res.Statuses[http.StatusOK]) / res.Elapsed.Seconds()
}
