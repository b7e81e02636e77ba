package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Hard limits that apply whatever the caller asks for, so that a mistyped
// flag cannot turn a benchmark into an unbounded flood.
const (
	// MaxDuration is the longest a single [Run] lasts; it is also what a
	// zero [Options.Duration] means.
	MaxDuration = 60 * time.Second
	// MaxRequests is the most requests a single [Run] issues; it is also
	// what a zero [Options.MaxRequests] means.
	MaxRequests = 2_000_000
	// MaxConcurrency is the most concurrent workers of a single [Run].
	MaxConcurrency = 256
	// MaxRounds is the most rounds [Interleave] runs.
	MaxRounds = 100
)

// maxDrain bounds how much of a response body is read before the
// connection is given up rather than reused.
const maxDrain = 1 << 20

// Target is one kind of request to measure.
type Target struct {
	// Name labels the target in results and tables.
	Name string
	// Method is the HTTP method; empty means GET.
	Method string
	// URL must be on loopback; see [CheckLoopback].
	URL string
	// Header is sent with every request; it is cloned, never modified.
	Header http.Header
	// Body returns a fresh body for each request; nil means no body. It is
	// called concurrently from several workers.
	Body func() io.Reader
	// Expect is the status every response should have; a response with
	// another status counts in [Result.Unexpected]. Zero accepts any status.
	Expect int
}

// Options bound a [Run]. Zero values mean the hard caps, not "unlimited".
type Options struct {
	// Concurrency is the number of workers, each with one request in flight
	// at a time (a closed loop). Zero or less means 1; at most
	// [MaxConcurrency].
	Concurrency int
	// Duration is how long to send requests. Zero, negative or more than
	// [MaxDuration] means MaxDuration.
	Duration time.Duration
	// MaxRequests stops the run after this many requests have been started.
	// Zero, negative or more than [MaxRequests] means MaxRequests.
	MaxRequests int
}

// Bounded returns o with the defaults and hard caps applied: what [Run]
// actually uses.
func (o Options) Bounded() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	o.Concurrency = min(o.Concurrency, MaxConcurrency)
	if o.Duration <= 0 || o.Duration > MaxDuration {
		o.Duration = MaxDuration
	}
	if o.MaxRequests <= 0 || o.MaxRequests > MaxRequests {
		o.MaxRequests = MaxRequests
	}
	return o
}

// Result is what one target did during a [Run], or during all rounds of an
// [Interleave].
type Result struct {
	// Name is the [Target.Name].
	Name string
	// Requests counts completed requests: every response, plus every
	// transport error. Requests cut short because the run ended are not
	// counted.
	Requests int
	// Errors counts requests that got no response (refused, reset,
	// timed out).
	Errors int
	// Timeouts counts the Errors that were timeouts of the client.
	Timeouts int
	// Dropped counts requests of an open loop ([RunRate]) that were due
	// but not sent because too many were already in flight; they are not
	// in Requests.
	Dropped int
	// Unexpected counts responses whose status differs from
	// [Target.Expect].
	Unexpected int
	// Statuses counts responses by status code.
	Statuses map[int]int
	// Elapsed is the wall time the run took.
	Elapsed time.Duration
	// RPS is Requests per second of Elapsed.
	RPS float64
	// P50, P90, P99 and Max summarize the latency of the responses
	// (transport errors have no latency); see [Histogram.Quantile].
	P50, P90, P99, Max time.Duration
	// Latency holds every response latency; it is what [Merge] combines.
	Latency *Histogram
}

// worker holds one goroutine's tallies, merged after the run so that the
// hot loop shares nothing but the request counter.
type worker struct {
	requests, errors, timeouts, unexpected int
	statuses                               map[int]int
	hist                                   Histogram
}

// Run sends requests to t from opts.Concurrency workers until
// opts.Duration has passed, opts.MaxRequests have been started, or ctx is
// done, whichever comes first, and returns what happened. Requests still in
// flight when the time is up are cancelled and not counted. A nil client
// means [NewClient](opts.Concurrency, 0).
//
// Run returns an error, and sends nothing, when t.URL is not on loopback
// (see [CheckLoopback]) or a request cannot be built from t. Failed
// requests are not errors of Run: they are counted in the Result.
func Run(ctx context.Context, client *http.Client, t Target, opts Options) (Result, error) {
	opts = opts.Bounded()
	if err := validate(t); err != nil {
		return Result{Name: t.Name}, err
	}
	if client == nil {
		client = NewClient(opts.Concurrency, 0)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()

	var started atomic.Int64
	workers := make([]*worker, opts.Concurrency)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range workers {
		w := &worker{statuses: make(map[int]int)}
		workers[i] = w
		wg.Go(func() {
			for ctx.Err() == nil && started.Add(1) <= int64(opts.MaxRequests) {
				w.do(ctx, client, t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)

	r := mergeWorkers(t.Name, workers)
	// The workers ran side by side, not one after another.
	r.Elapsed = elapsed
	r.RPS = rate(r.Requests, elapsed)
	return r, nil
}

func validate(t Target) error {
	if err := CheckLoopback(t.URL); err != nil {
		return fmt.Errorf("target %q: %w", t.Name, err)
	}
	if _, err := http.NewRequest(t.Method, t.URL, nil); err != nil {
		return fmt.Errorf("target %q: %w", t.Name, err)
	}
	return nil
}

// do sends one request and tallies it.
func (w *worker) do(ctx context.Context, client *http.Client, t Target) {
	w.doAt(ctx, client, t, time.Time{})
}

// doAt sends one request and tallies its latency from due (zero: from
// now): an open loop measures from when the request was due, so that a
// late send counts against the server's latency rather than vanishing.
func (w *worker) doAt(ctx context.Context, client *http.Client, t Target, due time.Time) {
	var body io.Reader
	if t.Body != nil {
		body = t.Body()
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, body)
	if err != nil {
		// validate built the same request; only a broken Body gets here.
		w.requests++
		w.errors++
		return
	}
	if t.Header != nil {
		req.Header = t.Header.Clone()
	}
	start := due
	if start.IsZero() {
		start = time.Now()
	}
	resp, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		resp.Body.Close()
	}
	latency := time.Since(start)
	if ctx.Err() != nil {
		return // the run ended under this request; it measures nothing
	}
	w.requests++
	if resp == nil {
		w.errors++
		if isTimeout(err) {
			w.timeouts++
		}
		return
	}
	if err != nil {
		// The status arrived but the body broke off: a failed request.
		w.errors++
		if isTimeout(err) {
			w.timeouts++
		}
		return
	}
	w.hist.Record(latency)
	w.statuses[resp.StatusCode]++
	if t.Expect != 0 && resp.StatusCode != t.Expect {
		w.unexpected++
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Merge combines results of the same target measured one after another
// (for example the rounds of [Interleave]) into one named name: counts and
// elapsed times add up, latency histograms merge, and RPS and the
// percentiles are computed afresh from the sums.
func Merge(name string, rs ...Result) Result {
	out := Result{Name: name, Statuses: make(map[int]int), Latency: NewHistogram()}
	for _, r := range rs {
		out.Requests += r.Requests
		out.Errors += r.Errors
		out.Timeouts += r.Timeouts
		out.Dropped += r.Dropped
		out.Unexpected += r.Unexpected
		out.Elapsed += r.Elapsed
		for code, n := range r.Statuses {
			out.Statuses[code] += n
		}
		out.Latency.Merge(r.Latency)
	}
	out.RPS = rate(out.Requests, out.Elapsed)
	out.P50 = out.Latency.Quantile(0.50)
	out.P90 = out.Latency.Quantile(0.90)
	out.P99 = out.Latency.Quantile(0.99)
	out.Max = out.Latency.Max()
	return out
}

// Interleave measures several targets alternately, in rounds: A B C, A B C,
// and so on, each slice lasting opts.Duration/rounds and sending at most
// opts.MaxRequests/rounds (rounded up) requests, and returns one merged
// Result per target in the order of targets. Each target thus gets the
// same total budget as a single [Run] with opts, but spread over the whole
// measurement, so that a burst of machine noise hits every target rather
// than only the one that happened to be running.
//
// rounds below 1 means 1 and is at most [MaxRounds]. Interleave checks
// every target before sending anything. If ctx is done part-way, it returns
// what was measured so far with ctx's error.
func Interleave(ctx context.Context, client *http.Client, targets []Target, opts Options, rounds int) ([]Result, error) {
	for _, t := range targets {
		if err := validate(t); err != nil {
			return nil, err
		}
	}
	rounds = min(max(rounds, 1), MaxRounds)
	opts = opts.Bounded()
	if client == nil {
		client = NewClient(opts.Concurrency, 0)
	}
	slice := opts
	slice.Duration = max(opts.Duration/time.Duration(rounds), time.Millisecond)
	slice.MaxRequests = (opts.MaxRequests + rounds - 1) / rounds

	parts := make([][]Result, len(targets))
	var err error
rounds:
	for range rounds {
		for i, t := range targets {
			if err = ctx.Err(); err != nil {
				break rounds
			}
			r, runErr := Run(ctx, client, t, slice)
			if runErr != nil {
				return nil, runErr // cannot happen: validated above
			}
			parts[i] = append(parts[i], r)
		}
	}
	out := make([]Result, len(targets))
	for i, t := range targets {
		out[i] = Merge(t.Name, parts[i]...)
	}
	return out, err
}

// Ratio returns a.RPS / b.RPS: how a's throughput compares with b's, for
// example an authenticated endpoint with /healthz measured in the same run.
// It returns 0 when b has no throughput.
func Ratio(a, b Result) float64 {
	if b.RPS <= 0 {
		return 0
	}
	return a.RPS / b.RPS
}

// MaxRate is the highest rate [RunRate] sends at, in requests per second.
const MaxRate = 20_000

// RateOptions bound a [RunRate].
type RateOptions struct {
	// Rate is how many requests per second to start, evenly spaced,
	// whatever the answers; at most [MaxRate].
	Rate float64
	// Duration is how long to send requests; zero, negative or more than
	// [MaxDuration] means MaxDuration.
	Duration time.Duration
	// MaxInFlight bounds the requests in flight; a request due while this
	// many are outstanding is not sent and counts in [Result.Dropped].
	// Zero or less, or more than [MaxConcurrency], means MaxConcurrency.
	MaxInFlight int
}

// RunRate sends requests to t at a fixed rate (an open loop, as many
// independent clients would) until opts.Duration has passed or ctx is
// done, and returns what happened. Unlike [Run], a slow server does not
// slow the sender down: requests keep coming on schedule, latency counts
// from when each request was due, and requests beyond opts.MaxInFlight
// are dropped and counted. At most [MaxRequests] are sent. A nil client
// means [NewClient](opts.MaxInFlight, 0).
//
// The same checks as [Run] apply: a target that is not on loopback or
// cannot be built is an error and nothing is sent.
func RunRate(ctx context.Context, client *http.Client, t Target, opts RateOptions) (Result, error) {
	if err := validate(t); err != nil {
		return Result{Name: t.Name}, err
	}
	if !(opts.Rate > 0) {
		return Result{Name: t.Name}, fmt.Errorf("target %q: rate %v: want more than 0", t.Name, opts.Rate)
	}
	perSecond := min(opts.Rate, MaxRate)
	bounded := Options{Concurrency: opts.MaxInFlight, Duration: opts.Duration}.Bounded()
	if opts.MaxInFlight <= 0 {
		bounded.Concurrency = MaxConcurrency
	}
	if client == nil {
		client = NewClient(bounded.Concurrency, 0)
	}
	ctx, cancel := context.WithTimeout(ctx, bounded.Duration)
	defer cancel()

	// A fixed pool of senders, each with its own tallies; the scheduler
	// queues each due time unless MaxInFlight are queued or running, in
	// which case it drops it.
	due := make(chan time.Time, bounded.Concurrency)
	var inFlight atomic.Int64
	workers := make([]*worker, bounded.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{statuses: make(map[int]int)}
		workers[i] = w
		wg.Go(func() {
			for at := range due {
				w.doAt(ctx, client, t, at)
				inFlight.Add(-1)
			}
		})
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	begin := time.Now()
	dropped := 0
	timer := time.NewTimer(0)
	<-timer.C
schedule:
	for i := 0; i < bounded.MaxRequests; i++ {
		at := begin.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				break schedule
			}
		}
		if ctx.Err() != nil {
			break
		}
		if inFlight.Load() >= int64(bounded.Concurrency) {
			dropped++
			continue
		}
		inFlight.Add(1) // only this loop adds, so the bound holds
		due <- at       // never blocks: at most Concurrency are queued or running
	}
	timer.Stop()
	close(due)
	wg.Wait()
	elapsed := time.Since(begin)

	r := mergeWorkers(t.Name, workers)
	r.Dropped = dropped
	r.Elapsed = elapsed
	r.RPS = rate(r.Requests, elapsed)
	return r, nil
}

// mergeWorkers merges what each worker counted into one Result named name.
func mergeWorkers(name string, workers []*worker) Result {
	rs := make([]Result, len(workers))
	for i, w := range workers {
		rs[i] = Result{
			Requests:   w.requests,
			Errors:     w.errors,
			Timeouts:   w.timeouts,
			Unexpected: w.unexpected,
			Statuses:   w.statuses,
			Latency:    &w.hist,
		}
	}
	return Merge(name, rs...)
}
