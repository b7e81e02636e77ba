package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

// Names of the targets, as they appear in the tables.
const (
	nameHealthz    = "healthz"
	nameBare       = "bare" // GET /users/me on the bare net/http handler
	nameMeBearer   = "me-bearer"
	nameMeAPIKey   = "me-apikey"
	nameTokenCC    = "token-cc"
	nameIntrospect = "introspect"
	nameMeAlone    = "me-alone"
	nameMeRate     = "me-flood-rate" // /users/me under the fixed-rate flood

	nameLimitsOffBearer = "me-bearer-limits-off"
	nameLimitsOnBearer  = "me-bearer-limits-on"
	nameLimitsOffAPIKey = "me-apikey-limits-off"
	nameLimitsOnAPIKey  = "me-apikey-limits-on"
	nameFloodRate       = "login-flood-rate"
	nameMeClosed        = "me-flood-closed" // /users/me under the closed-loop flood
	nameFloodClose      = "login-flood-closed"
)

// Source addresses of the flood scenario (Linux routes all of 127.0.0.0/8
// to the loopback interface): the measured client on its own address, the
// flood clients on -flood-workers addresses after it, so that per-address
// limits tell them apart as they would real clients.
var (
	meSource    = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	floodSource = netip.AddrFrom4([4]byte{127, 0, 0, 10})
)

const formType = "application/x-www-form-urlencoded"

func healthzTarget(base string) load.Target {
	return load.Target{Name: nameHealthz, Method: http.MethodGet, URL: base + "/healthz", Expect: http.StatusOK}
}

// bareTarget is GET /users/me on the bare handler at base.
func bareTarget(base string) load.Target {
	return load.Target{Name: nameBare, Method: http.MethodGet, URL: base + "/users/me", Expect: http.StatusOK}
}

// meTarget is GET /users/me with the credential in header.
func meTarget(name, base string, header http.Header) load.Target {
	return load.Target{Name: name, Method: http.MethodGet, URL: base + "/users/me", Header: header, Expect: http.StatusOK}
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func apiKeyHeader(key string) http.Header {
	return http.Header{"X-Api-Key": {key}}
}

// formTarget is a POST of a fixed form with extra headers.
func formTarget(name, url string, form url.Values, header http.Header, expect int) load.Target {
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", formType)
	body := form.Encode()
	return load.Target{
		Name:   name,
		Method: http.MethodPost,
		URL:    url,
		Header: h,
		Body:   func() io.Reader { return strings.NewReader(body) },
		Expect: expect,
	}
}

func clientCredentialsTarget(base string, c clientCreds) load.Target {
	return formTarget(nameTokenCC, base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basicAuth(c), http.StatusOK)
}

func introspectTarget(base string, c clientCreds, token string) load.Target {
	return formTarget(nameIntrospect, base+"/oauth2/introspect", url.Values{"token": {token}}, basicAuth(c), http.StatusOK)
}

// loginFloodTarget posts password-grant requests for random users with
// random passwords: every one should fail with invalid_grant (400,
// RFC 6749 §5.2) unless a throttle answers first.
func loginFloodTarget(name, base string) load.Target {
	h := http.Header{"Content-Type": {formType}}
	return load.Target{
		Name:   name,
		Method: http.MethodPost,
		URL:    base + "/oauth2/token",
		Header: h,
		Body: func() io.Reader {
			form := url.Values{
				"grant_type": {"password"},
				"username":   {"flood-" + strconv.FormatUint(rand.Uint64(), 36)},
				"password":   {"wrong-" + strconv.FormatUint(rand.Uint64(), 36)},
			}
			return strings.NewReader(form.Encode())
		},
		Expect: http.StatusBadRequest,
	}
}

// section is the outcome of one scenario.
type section struct {
	Scenario string
	Title    string
	// Skipped says why nothing was measured; empty when something was.
	Skipped string
	// Notes explain targets left out and other caveats.
	Notes    []string
	Baseline string
	Results  []load.Result
	Floods   []floodReport
}

func (s *section) notef(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// runner runs scenarios against one server.
type runner struct {
	cfg      config
	base     string
	fx       *fixture
	client   *http.Client // for the measured targets
	progress io.Writer
	limited  *runner // the limits scenario's server with limits on
	bare     string  // the bare scenario's baseline, http://127.0.0.1:port
}

func (r *runner) opts() load.Options {
	return load.Options{Concurrency: r.cfg.concurrency, Duration: r.cfg.duration}
}

// scenario runs the named scenario. A skipped scenario is not an error;
// the error is for an interrupted run.
func (r *runner) scenario(ctx context.Context, name string) (section, error) {
	var sec section
	switch name {
	case "auth":
		sec = r.auth(ctx)
	case "bare":
		sec = r.againstBare(ctx)
	case "token":
		sec = r.token(ctx)
	case "limits":
		sec = r.limits(ctx)
	case "logins":
		sec = r.logins(ctx)
	case "flood":
		sec = r.flood(ctx)
	default:
		return section{}, fmt.Errorf("unknown scenario %q", name)
	}
	sec.Skipped = oneLine(sec.Skipped)
	for i, n := range sec.Notes {
		sec.Notes[i] = oneLine(n)
	}
	return sec, ctx.Err()
}

// oneLine folds a message (which may hold a command's multi-line stderr)
// onto one line of reasonable length for tables and notes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 400 {
		s = string(r[:400]) + " …"
	}
	return s
}

// auth compares GET /users/me by bearer JWT and by API key with /healthz.
func (r *runner) auth(ctx context.Context) section {
	sec := section{
		Scenario: "auth",
		Title:    "GET /users/me by bearer JWT and by X-API-Key, compared with GET /healthz",
		Baseline: nameHealthz,
	}
	r.interleave(ctx, &sec, r.authTargets(ctx, &sec))
	return sec
}

// authTargets are GET /healthz and GET /users/me by bearer JWT and by API
// key; a credential that cannot be had is left out with a note.
func (r *runner) authTargets(ctx context.Context, sec *section) []load.Target {
	targets := []load.Target{healthzTarget(r.base)}
	if tok, err := r.fx.userToken(ctx); err != nil {
		sec.notef("%s left out: %v", nameMeBearer, err)
	} else {
		targets = append(targets, meTarget(nameMeBearer, r.base, bearerHeader(tok)))
	}
	if key, err := r.fx.userAPIKey(ctx); err != nil {
		sec.notef("%s left out: %v", nameMeAPIKey, err)
	} else {
		targets = append(targets, meTarget(nameMeAPIKey, r.base, apiKeyHeader(key)))
	}
	return targets
}

// againstBare measures what the auth scenario measures next to a bare
// net/http handler in a process of its own (bench/bare), on loopback with
// the same workers: GET /users/me there is the baseline, so the ratios say
// what share of a bare handler's throughput gatehouse serves. Notes keep
// the ratios to /healthz of the auth scenario.
func (r *runner) againstBare(ctx context.Context) section {
	sec := section{
		Scenario: "bare",
		Title:    "GET /healthz and GET /users/me by bearer JWT and by X-API-Key, compared with GET /users/me on a bare net/http handler (bench/bare, its own process)",
		Baseline: nameBare,
	}
	if r.bare == "" {
		sec.Skipped = "no bare handler"
		return sec
	}
	r.interleave(ctx, &sec, append([]load.Target{bareTarget(r.bare)}, r.authTargets(ctx, &sec)...))
	sec.ratioNotes([2]string{nameMeBearer, nameHealthz}, [2]string{nameMeAPIKey, nameHealthz})
	return sec
}

// ratioNotes adds a note "a / b = ratio" for each pair of targets measured.
func (s *section) ratioNotes(pairs ...[2]string) {
	rps := map[string]float64{}
	for _, res := range s.Results {
		rps[res.Name] = res.RPS
	}
	for _, p := range pairs {
		if _, measured := rps[p[0]]; measured && rps[p[1]] > 0 {
			s.notef("%s / %s = %.3f", p[0], p[1], rps[p[0]]/rps[p[1]])
		}
	}
}

// limits compares GET /users/me on the server without request limits (the
// baseline) with the same request on r.limited, whose limits are all
// checked but never reached: what the checks and the RateLimit-* headers
// cost end to end.
func (r *runner) limits(ctx context.Context) section {
	sec := section{
		Scenario: "limits",
		Title:    "GET /users/me with request limits off (baseline) and on (checked, never reached), by bearer JWT and by API key",
		Baseline: nameLimitsOffBearer,
	}
	if r.limited == nil {
		sec.Skipped = "no server with limits on"
		return sec
	}
	var targets []load.Target
	for _, side := range []struct {
		r              *runner
		bearer, apiKey string
	}{{r, nameLimitsOffBearer, nameLimitsOffAPIKey}, {r.limited, nameLimitsOnBearer, nameLimitsOnAPIKey}} {
		tok, err := side.r.fx.userToken(ctx)
		if err != nil {
			sec.Skipped = fmt.Sprintf("cannot get a token: %v", err)
			return sec
		}
		key, err := side.r.fx.userAPIKey(ctx)
		if err != nil {
			sec.Skipped = fmt.Sprintf("cannot create an API key: %v", err)
			return sec
		}
		targets = append(targets, meTarget(side.bearer, side.r.base, bearerHeader(tok)), meTarget(side.apiKey, side.r.base, apiKeyHeader(key)))
	}
	// Baseline first: off-bearer, on-bearer, off-key, on-key.
	targets = []load.Target{targets[0], targets[2], targets[1], targets[3]}
	r.interleave(ctx, &sec, targets)
	sec.ratioNotes([2]string{nameLimitsOnBearer, nameLimitsOffBearer}, [2]string{nameLimitsOnAPIKey, nameLimitsOffAPIKey})
	return sec
}

// token compares the client-credentials grant and introspection with
// /healthz.
func (r *runner) token(ctx context.Context) section {
	sec := section{
		Scenario: "token",
		Title:    "POST /oauth2/token (client_credentials) and POST /oauth2/introspect, compared with GET /healthz",
		Baseline: nameHealthz,
	}
	c, err := r.fx.clientCredentials(ctx)
	if err != nil {
		sec.Skipped = fmt.Sprintf("cannot create a client: %v", err)
		return sec
	}
	targets := []load.Target{healthzTarget(r.base), clientCredentialsTarget(r.base, c)}
	if tok, err := r.fx.clientToken(ctx); err != nil {
		sec.notef("%s left out: %v", nameIntrospect, err)
	} else {
		targets = append(targets, introspectTarget(r.base, c, tok))
	}
	r.interleave(ctx, &sec, targets)
	return sec
}

// interleave checks the targets, warms them up, and measures them in
// rounds; targets[0] is the baseline and must work.
func (r *runner) interleave(ctx context.Context, sec *section, targets []load.Target) {
	targets = r.usable(ctx, sec, targets)
	if sec.Skipped != "" {
		return
	}
	if len(targets) < 2 {
		sec.Skipped = "nothing to compare with " + sec.Baseline + ": " + strings.Join(sec.Notes, "; ")
		sec.Notes = nil
		return
	}
	r.warmUp(ctx, targets...)
	fmt.Fprintf(r.progress, "%s: measuring %d targets, %v each over %d rounds …\n", sec.Scenario, len(targets), r.cfg.duration, r.cfg.rounds)
	rs, err := load.Interleave(ctx, r.client, targets, r.opts(), r.cfg.rounds)
	if err != nil {
		sec.notef("interrupted: %v", err)
	}
	sec.Results = rs
}

// usable sends each target once and keeps those that answer as expected;
// a feature the server does not have yet would otherwise be measured as a
// fast stream of 404s. If the first target fails the section is skipped.
func (r *runner) usable(ctx context.Context, sec *section, targets []load.Target) []load.Target {
	var ok []load.Target
	for i, t := range targets {
		if err := r.preflight(ctx, t); err != nil {
			if i == 0 {
				sec.Skipped = fmt.Sprintf("baseline %s does not work: %v", t.Name, err)
				return nil
			}
			sec.notef("%s left out: %v", t.Name, err)
			continue
		}
		ok = append(ok, t)
	}
	return ok
}

// preflight sends t once and checks its status.
func (r *runner) preflight(ctx context.Context, t load.Target) error {
	var body io.Reader
	if t.Body != nil {
		body = t.Body()
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header = t.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", t.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if t.Expect != 0 && resp.StatusCode != t.Expect {
		return fmt.Errorf("%s %s: status %d, want %d: %s", t.Method, req.URL.Path, resp.StatusCode, t.Expect, snippet(b))
	}
	return nil
}

// warmUp runs each target briefly so that connections are open and caches
// are warm before measuring; its results are dropped.
func (r *runner) warmUp(ctx context.Context, targets ...load.Target) {
	o := load.Options{
		Concurrency: r.cfg.concurrency,
		Duration:    min(time.Second, r.cfg.duration/time.Duration(r.cfg.rounds)),
		MaxRequests: 4 * r.cfg.concurrency,
	}
	for _, t := range targets {
		load.Run(ctx, r.client, t, o)
	}
}

// floodReport is one flood shape of the flood scenario.
type floodReport struct {
	// Shape is "rate" (open loop, Rate per second) or "closed" (Workers
	// closed-loop workers, as fast as the server answers).
	Shape        string         `json:"shape"`
	Rate         float64        `json:"rate,omitempty"`
	Workers      int            `json:"workers"`
	Sources      int            `json:"sources"`
	P99AloneMs   float64        `json:"p99_alone_ms"`
	P99FloodedMs float64        `json:"p99_flooded_ms"`
	P99Ratio     float64        `json:"p99_ratio"`
	MeTimeouts   int            `json:"me_timeouts"`
	MeErrors     int            `json:"me_errors"`
	MeUnexpected int            `json:"me_unexpected"`
	Requests     int            `json:"flood_requests"`
	FloodRPS     float64        `json:"flood_rps"`
	Dropped      int            `json:"flood_dropped,omitempty"`
	Status429    int            `json:"flood_429"`
	Status503    int            `json:"flood_503"`
	Timeouts     int            `json:"flood_timeouts"`
	Errors       int            `json:"flood_errors"`
	Statuses     map[string]int `json:"flood_statuses,omitempty"`
}

// summarizeFlood compares the p99 latency of the protected endpoint alone
// and under one flood shape, and counts how the flood was answered.
func summarizeFlood(alone, flooded, flood load.Result, workers int) floodReport {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	rep := floodReport{
		Workers:      workers,
		P99AloneMs:   ms(alone.P99),
		P99FloodedMs: ms(flooded.P99),
		MeTimeouts:   alone.Timeouts + flooded.Timeouts,
		MeErrors:     alone.Errors + flooded.Errors,
		MeUnexpected: alone.Unexpected + flooded.Unexpected,
		Requests:     flood.Requests,
		FloodRPS:     float64(int(flood.RPS + 0.5)),
		Dropped:      flood.Dropped,
		Status429:    flood.Statuses[http.StatusTooManyRequests],
		Status503:    flood.Statuses[http.StatusServiceUnavailable],
		Timeouts:     flood.Timeouts,
		Errors:       flood.Errors,
	}
	if alone.P99 > 0 {
		rep.P99Ratio = float64(int(float64(flooded.P99)/float64(alone.P99)*1000+0.5)) / 1000
	}
	if len(flood.Statuses) > 0 {
		rep.Statuses = make(map[string]int, len(flood.Statuses))
		for code, n := range flood.Statuses {
			rep.Statuses[strconv.Itoa(code)] = n
		}
	}
	return rep
}

// flood measures GET /users/me alone and under two floods of failing
// logins, alternating in rounds like Interleave does: a fixed-rate flood
// (open loop, -flood-rate per second, as many independent attackers would
// send whatever the answers) and a closed-loop one (-flood-workers
// workers sending as fast as they are answered). The server runs with its
// default limits (measure starts it); the flood comes from -flood-workers
// loopback addresses and /users/me from its own, at -me-rate per second,
// an open loop too, under the default per-user and per-address limits.
func (r *runner) flood(ctx context.Context) section {
	sec := section{
		Scenario: "flood",
		Title: fmt.Sprintf("GET /users/me (bearer, %g/s from %s) alone, under %g wrong passwords/s and under %d closed-loop workers posting wrong passwords to POST /oauth2/token, from %d addresses; default limits",
			r.cfg.meRate, meSource, r.cfg.floodRate, r.cfg.floodWorkers, r.cfg.floodWorkers),
		Baseline: nameMeAlone,
	}
	tok, err := r.fx.userToken(ctx)
	if err != nil {
		sec.Skipped = fmt.Sprintf("no bearer token: %v", err)
		return sec
	}
	sources, err := load.LoopbackRange(floodSource, r.cfg.floodWorkers)
	if err != nil {
		sec.Skipped = err.Error()
		return sec
	}
	meClient, err := load.NewClientFrom(64, r.cfg.timeout, []netip.Addr{meSource})
	if err != nil {
		sec.Skipped = err.Error()
		return sec
	}
	defer meClient.CloseIdleConnections()
	me := meTarget(nameMeAlone, r.base, bearerHeader(tok))
	mr := &runner{cfg: r.cfg, base: r.base, fx: r.fx, client: meClient, progress: r.progress}
	if mr.usable(ctx, &sec, []load.Target{me}); sec.Skipped != "" {
		return sec
	}
	fmt.Fprintf(r.progress, "flood: measuring /users/me alone, under %g wrong passwords/s and under %d closed-loop workers, %v each over %d rounds …\n",
		r.cfg.floodRate, r.cfg.floodWorkers, r.cfg.duration, r.cfg.rounds)
	slice := max(r.cfg.duration/time.Duration(r.cfg.rounds), time.Millisecond)
	meOpts := load.RateOptions{Rate: r.cfg.meRate, Duration: slice, MaxInFlight: 64}
	// A short warm-up (dropped), paced like the measurement.
	load.RunRate(ctx, meClient, me, load.RateOptions{Rate: r.cfg.meRate, Duration: min(time.Second, slice), MaxInFlight: 64})
	var alone, meRate, floodRate, meClosed, floodClosed []load.Result
	for range r.cfg.rounds {
		if ctx.Err() != nil {
			break
		}
		a, _ := load.RunRate(ctx, meClient, me, meOpts) // the target was checked
		alone = append(alone, a)
		m, f := r.underFlood(ctx, meClient, me, meOpts, sources, "rate")
		meRate, floodRate = append(meRate, m), append(floodRate, f)
		m, f = r.underFlood(ctx, meClient, me, meOpts, sources, "closed")
		meClosed, floodClosed = append(meClosed, m), append(floodClosed, f)
	}
	if err := ctx.Err(); err != nil {
		sec.notef("interrupted: %v", err)
	}
	sec.Results = []load.Result{
		load.Merge(nameMeAlone, alone...),
		load.Merge(nameMeRate, meRate...),
		load.Merge(nameFloodRate, floodRate...),
		load.Merge(nameMeClosed, meClosed...),
		load.Merge(nameFloodClose, floodClosed...),
	}
	rate := summarizeFlood(sec.Results[0], sec.Results[1], sec.Results[2], 0)
	rate.Shape, rate.Rate, rate.Sources = "rate", r.cfg.floodRate, len(sources)
	closed := summarizeFlood(sec.Results[0], sec.Results[3], sec.Results[4], r.cfg.floodWorkers)
	closed.Shape, closed.Sources = "closed", len(sources)
	sec.Floods = []floodReport{rate, closed}
	return sec
}

// underFlood measures t (open loop, o) while a login flood of the given
// shape ("rate" or "closed") runs from sources, and returns both.
func (r *runner) underFlood(ctx context.Context, client *http.Client, t load.Target, o load.RateOptions, sources []netip.Addr, shape string) (measured, flood load.Result) {
	// Its own client, so that the flood's connections do not compete with
	// the measured ones for idle slots; each new connection takes the next
	// source address.
	conns := r.cfg.floodWorkers
	if shape == "rate" {
		conns = load.MaxConcurrency
	}
	floodClient, err := load.NewClientFrom(conns, r.cfg.timeout, sources)
	if err != nil {
		return load.Result{Name: t.Name}, load.Result{} // cannot happen: sources were checked
	}
	defer floodClient.CloseIdleConnections()
	floodCtx, stop := context.WithCancel(ctx)
	defer stop()
	ramp := min(500*time.Millisecond, o.Duration/5)
	done := make(chan load.Result, 1)
	go func() {
		d := ramp + o.Duration + r.cfg.timeout
		var res load.Result
		if shape == "rate" {
			res, _ = load.RunRate(floodCtx, floodClient, loginFloodTarget(nameFloodRate, r.base), load.RateOptions{Rate: r.cfg.floodRate, Duration: d, MaxInFlight: conns})
		} else {
			res, _ = load.Run(floodCtx, floodClient, loginFloodTarget(nameFloodClose, r.base), load.Options{Concurrency: conns, Duration: d})
		}
		done <- res
	}()
	// Let the flood reach a steady state before measuring.
	rampTimer := time.NewTimer(ramp)
	select {
	case <-rampTimer.C:
	case <-ctx.Done():
		rampTimer.Stop()
	}
	measured, _ = load.RunRate(ctx, client, t, o)
	stop()
	return measured, <-done
}
