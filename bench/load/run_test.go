package load_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

func TestOptionsBounded(t *testing.T) {
	caps := load.Options{Concurrency: 1, Duration: load.MaxDuration, MaxRequests: load.MaxRequests}
	tests := []struct {
		name string
		in   load.Options
		want load.Options
	}{
		{name: "zero means the caps", in: load.Options{}, want: caps},
		{name: "negative means the caps", in: load.Options{Concurrency: -3, Duration: -time.Second, MaxRequests: -1}, want: caps},
		{
			name: "too large is capped",
			in:   load.Options{Concurrency: 100000, Duration: time.Hour, MaxRequests: 1 << 40},
			want: load.Options{Concurrency: load.MaxConcurrency, Duration: load.MaxDuration, MaxRequests: load.MaxRequests},
		},
		{
			name: "sensible values are kept",
			in:   load.Options{Concurrency: 16, Duration: 5 * time.Second, MaxRequests: 1000},
			want: load.Options{Concurrency: 16, Duration: 5 * time.Second, MaxRequests: 1000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Bounded(); got != tc.want {
				t.Errorf("%+v.Bounded() = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// roundTripFunc lets a test stand in for the network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func okResponse(r *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}
}

func TestRunRefusesNonLoopbackWithoutSending(t *testing.T) {
	var sent atomic.Int64
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return okResponse(r), nil
	})}
	target := load.Target{Name: "remote", URL: "http://203.0.113.9/healthz"}
	r, err := load.Run(t.Context(), client, target, load.Options{MaxRequests: 5})
	if !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("Run() error = %v, want ErrNotLoopback", err)
	}
	if r.Requests != 0 || sent.Load() != 0 {
		t.Errorf("Run() sent %d requests (result %d), want none", sent.Load(), r.Requests)
	}
	_, err = load.Interleave(t.Context(), client, []load.Target{{Name: "ok", URL: "http://127.0.0.1/"}, target}, load.Options{MaxRequests: 5}, 2)
	if !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("Interleave() error = %v, want ErrNotLoopback", err)
	}
	if sent.Load() != 0 {
		t.Errorf("Interleave() sent %d requests, want none", sent.Load())
	}
}

func TestRunAgainstServerCounts(t *testing.T) {
	var hits, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("X-Test") != "yes" || string(body) != "hello" {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/flaky" && n%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	tests := []struct {
		name           string
		path           string
		wantUnexpected int
		wantStatuses   map[int]int
	}{
		{name: "all as expected", path: "/ok", wantStatuses: map[int]int{200: 100}},
		{name: "every other one unexpected", path: "/flaky", wantUnexpected: 50, wantStatuses: map[int]int{200: 50, 503: 50}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			target := load.Target{
				Name:   "t",
				Method: http.MethodPost,
				URL:    srv.URL + tc.path,
				Header: http.Header{"X-Test": {"yes"}},
				Body:   func() io.Reader { return strings.NewReader("hello") },
				Expect: http.StatusOK,
			}
			r, err := load.Run(t.Context(), load.NewClient(4, 0), target, load.Options{Concurrency: 4, MaxRequests: 100})
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if r.Requests != 100 || r.Errors != 0 || r.Unexpected != tc.wantUnexpected {
				t.Errorf("Run() Requests/Errors/Unexpected = %d/%d/%d, want 100/0/%d", r.Requests, r.Errors, r.Unexpected, tc.wantUnexpected)
			}
			if !reflect.DeepEqual(r.Statuses, tc.wantStatuses) {
				t.Errorf("Run() Statuses = %v, want %v", r.Statuses, tc.wantStatuses)
			}
			if got := hits.Load(); got != 100 {
				t.Errorf("server saw %d requests, want 100", got)
			}
			if r.Latency.Count() != 100 || r.RPS <= 0 || r.Max < r.P99 || r.P99 < r.P50 {
				t.Errorf("Run() latency count %d, RPS %v, P50 %v P99 %v Max %v: want 100 latencies, RPS > 0, ordered percentiles",
					r.Latency.Count(), r.RPS, r.P50, r.P99, r.Max)
			}
		})
	}
	if bad.Load() != 0 {
		t.Errorf("server got %d requests without the target's method, header or body", bad.Load())
	}
}

func TestRunCountsTransportErrorsAndTimeouts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			<-r.Context().Done() // until the client gives up
		case "/drop":
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}
	}))
	defer srv.Close()
	tests := []struct {
		name         string
		path         string
		client       *http.Client
		wantTimeouts int
	}{
		{name: "connection dropped", path: "/drop", client: load.NewClient(1, 0)},
		{name: "client timeout", path: "/hang", client: load.NewClient(2, 20*time.Millisecond), wantTimeouts: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := load.Target{Name: "t", Method: http.MethodPost, URL: srv.URL + tc.path, Expect: http.StatusOK}
			r, err := load.Run(t.Context(), tc.client, target, load.Options{Concurrency: 2, MaxRequests: 4})
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if r.Requests != 4 || r.Errors != 4 || r.Timeouts != tc.wantTimeouts || r.Latency.Count() != 0 {
				t.Errorf("Run() Requests/Errors/Timeouts/latencies = %d/%d/%d/%d, want 4/4/%d/0",
					r.Requests, r.Errors, r.Timeouts, r.Latency.Count(), tc.wantTimeouts)
			}
		})
	}
}

// TestRunTimeCap runs with zero options against a fake network in a
// synctest bubble: the run must stop at MaxDuration of (fake) time.
func TestRunTimeCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			select {
			case <-time.After(10 * time.Millisecond):
				return okResponse(r), nil
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		})}
		start := time.Now()
		r, err := load.Run(t.Context(), client, load.Target{Name: "t", URL: "http://127.0.0.1/"}, load.Options{})
		if err != nil {
			t.Fatalf("Run() error = %v", err)
		}
		if took := time.Since(start); took != load.MaxDuration {
			t.Errorf("Run(zero options) took %v of fake time, want %v", took, load.MaxDuration)
		}
		const most = int(load.MaxDuration / (10 * time.Millisecond))
		if r.Requests < most-1 || r.Requests > most || r.Errors != 0 {
			t.Errorf("Run() Requests/Errors = %d/%d, want %d (or one fewer)/0", r.Requests, r.Errors, most)
		}
	})
}

func TestRunRequestCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int64
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			time.Sleep(time.Millisecond)
			return okResponse(r), nil
		})}
		r, err := load.Run(t.Context(), client, load.Target{Name: "t", URL: "http://localhost/"},
			load.Options{Concurrency: 3, Duration: time.Hour, MaxRequests: 7})
		if err != nil {
			t.Fatalf("Run() error = %v", err)
		}
		if r.Requests != 7 || sent.Load() != 7 {
			t.Errorf("Run(MaxRequests 7) Requests = %d, sent %d, want 7 and 7", r.Requests, sent.Load())
		}
	})
}

func TestRunStopsWhenContextDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			time.Sleep(time.Second)
			return okResponse(r), nil
		})}
		ctx, cancel := context.WithTimeout(t.Context(), 5500*time.Millisecond)
		defer cancel()
		r, err := load.Run(ctx, client, load.Target{Name: "t", URL: "http://127.0.0.1/"}, load.Options{})
		if err != nil {
			t.Fatalf("Run() error = %v", err)
		}
		if r.Requests != 5 {
			t.Errorf("Run() until the context is done Requests = %d, want 5", r.Requests)
		}
	})
}

func TestInterleaveAlternatesTargets(t *testing.T) {
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, strings.TrimPrefix(r.URL.Path, "/"))
		mu.Unlock()
	}))
	defer srv.Close()
	targets := []load.Target{
		{Name: "a", URL: srv.URL + "/a", Expect: http.StatusOK},
		{Name: "b", URL: srv.URL + "/b", Expect: http.StatusOK},
		{Name: "c", URL: srv.URL + "/c", Expect: http.StatusOK},
	}
	rs, err := load.Interleave(t.Context(), load.NewClient(1, 0), targets, load.Options{Concurrency: 1, MaxRequests: 6}, 3)
	if err != nil {
		t.Fatalf("Interleave() error = %v", err)
	}
	want := strings.Fields("a a b b c c a a b b c c a a b b c c")
	if !reflect.DeepEqual(order, want) {
		t.Errorf("server saw %v, want %v", order, want)
	}
	if len(rs) != 3 {
		t.Fatalf("Interleave() returned %d results, want 3", len(rs))
	}
	for i, r := range rs {
		if r.Name != targets[i].Name || r.Requests != 6 || r.Unexpected != 0 || r.Latency.Count() != 6 {
			t.Errorf("result %d: Name %q Requests %d Unexpected %d latencies %d, want %q 6 0 6",
				i, r.Name, r.Requests, r.Unexpected, r.Latency.Count(), targets[i].Name)
		}
	}
}

func TestInterleaveCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs, err := load.Interleave(ctx, nil, []load.Target{{Name: "a", URL: "http://127.0.0.1:1/"}}, load.Options{}, 3)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Interleave(cancelled) error = %v, want context.Canceled", err)
	}
	if len(rs) != 1 || rs[0].Name != "a" || rs[0].Requests != 0 {
		t.Errorf("Interleave(cancelled) = %+v, want one empty result named a", rs)
	}
}

func TestMergeAndRatio(t *testing.T) {
	a := load.Result{Requests: 100, Errors: 1, Timeouts: 1, Unexpected: 2, Elapsed: time.Second,
		Statuses: map[int]int{200: 97, 429: 2}, Latency: mustHistogram(t, time.Millisecond, 3*time.Millisecond)}
	b := load.Result{Requests: 300, Unexpected: 1, Elapsed: time.Second,
		Statuses: map[int]int{200: 299, 503: 1}, Latency: mustHistogram(t, 2*time.Millisecond)}
	m := load.Merge("x", a, b, load.Result{})
	if m.Name != "x" || m.Requests != 400 || m.Errors != 1 || m.Timeouts != 1 || m.Unexpected != 3 || m.Elapsed != 2*time.Second {
		t.Errorf("Merge() counts = %+v, want x 400/1/1/3 over 2s", m)
	}
	if want := map[int]int{200: 396, 429: 2, 503: 1}; !reflect.DeepEqual(m.Statuses, want) {
		t.Errorf("Merge() Statuses = %v, want %v", m.Statuses, want)
	}
	if m.RPS != 200 || !within(m.P50, 2*time.Millisecond, 0.008) || m.Max != 3*time.Millisecond {
		t.Errorf("Merge() RPS %v P50 %v Max %v, want 200, 2ms ± 0.8%%, 3ms", m.RPS, m.P50, m.Max)
	}
	if a.Statuses[200] != 97 {
		t.Errorf("Merge() modified its input: %v", a.Statuses)
	}

	tests := []struct {
		name string
		a, b float64
		want float64
	}{
		{"half", 50, 100, 0.5},
		{"double", 200, 100, 2},
		{"baseline without throughput", 50, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := load.Ratio(load.Result{RPS: tc.a}, load.Result{RPS: tc.b}); got != tc.want {
				t.Errorf("Ratio(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestRunRateKeepsTheRateAndDropsOverflow(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if r.URL.Path == "/slow" {
			<-release
		}
	}))
	defer srv.Close()
	defer close(release)

	// A fast server: about rate × duration requests, none dropped.
	r, err := load.RunRate(t.Context(), nil, load.Target{Name: "fast", URL: srv.URL + "/fast", Expect: 200},
		load.RateOptions{Rate: 200, Duration: 250 * time.Millisecond, MaxInFlight: 8})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests < 20 || r.Requests > 51 || r.Dropped != 0 || r.Errors != 0 || r.Statuses[200] != r.Requests {
		t.Errorf("fast: %+v, want about 50 requests answered 200 and none dropped", r)
	}

	// A server that never answers: MaxInFlight are sent, the rest dropped.
	r, err = load.RunRate(t.Context(), nil, load.Target{Name: "slow", URL: srv.URL + "/slow"},
		load.RateOptions{Rate: 200, Duration: 200 * time.Millisecond, MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Dropped < 10 || r.Requests != 0 {
		t.Errorf("slow: %d dropped, %d completed; want most dropped and none completed (cut short)", r.Dropped, r.Requests)
	}

	if _, err := load.RunRate(t.Context(), nil, load.Target{Name: "x", URL: srv.URL}, load.RateOptions{}); err == nil {
		t.Error("RunRate with rate 0: no error")
	}
	if _, err := load.RunRate(t.Context(), nil, load.Target{Name: "x", URL: "http://192.0.2.1/"}, load.RateOptions{Rate: 1}); !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("RunRate to a remote host: %v, want ErrNotLoopback", err)
	}
}

func TestNewClientFromUsesEachAddress(t *testing.T) {
	var mu sync.Mutex
	hosts := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		mu.Lock()
		hosts[host] = true
		mu.Unlock()
	}))
	defer srv.Close()
	from, err := load.LoopbackRange(netip.MustParseAddr("127.0.0.20"), 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := load.NewClientFrom(1, time.Second, from)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections() // the next request dials again
	}
	want := map[string]bool{"127.0.0.20": true, "127.0.0.21": true, "127.0.0.22": true}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("server saw clients %v, want %v", hosts, want)
	}
	if _, err := load.NewClientFrom(1, 0, []netip.Addr{netip.MustParseAddr("192.0.2.1")}); !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("NewClientFrom(192.0.2.1): %v, want ErrNotLoopback", err)
	}
	if _, err := load.LoopbackRange(netip.MustParseAddr("127.255.255.254"), 3); !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("LoopbackRange past 127/8: %v, want ErrNotLoopback", err)
	}
}
