package httpmw

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// counts gathers reg and returns request counts and histogram sample counts
// keyed by "route|code".
func counts(t testing.TB, reg *prometheus.Registry) (requests, observed map[string]float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	requests, observed = map[string]float64{}, map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			key := labels["route"] + "|" + labels["code"]
			switch mf.GetName() {
			case "gatehouse_http_requests_total":
				requests[key] = m.GetCounter().GetValue()
			case "gatehouse_http_request_duration_seconds":
				observed[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return requests, observed
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "bad" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("thing"))
	})
	mux.HandleFunc("POST /boom", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	// The realistic chain: Metrics wraps the mux directly.
	logger, _ := newTestLogger()
	h := Chain(mux, RequestID, Recover(logger), AccessLog(logger), BodyLimit(1<<20), SecurityHeaders, m.Middleware)

	for _, req := range []struct{ method, path string }{
		{"GET", "/things/1"}, {"GET", "/things/2"}, {"GET", "/things/bad"},
		{"POST", "/boom"}, {"GET", "/nowhere/1"}, {"GET", "/nowhere/2"}, {"DELETE", "/things/1"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	requests, observed := counts(t, reg)
	want := map[string]float64{
		"GET /things/{id}|2xx": 2,
		"GET /things/{id}|4xx": 1,
		"POST /boom|5xx":       1,
		"other|4xx":            3, // two 404s and one 405
	}
	if diff := cmp.Diff(want, requests); diff != "" {
		t.Errorf("request counter mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, observed); diff != "" {
		t.Errorf("histogram counts mismatch (-want +got):\n%s", diff)
	}
}

func TestNewMetricsTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	a.Middleware(okHandler).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	b.Middleware(okHandler).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	requests, _ := counts(t, reg)
	if got := requests["other|2xx"]; got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}

func TestNewMetricsNilRegisterer(t *testing.T) {
	m := NewMetrics(nil)
	rec := httptest.NewRecorder()
	m.Middleware(okHandler).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Body.String() != "ok" {
		t.Errorf("body = %q, want ok", rec.Body.String())
	}
}

func TestStatusClass(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{101, "1xx"}, {200, "2xx"}, {204, "2xx"}, {302, "3xx"}, {404, "4xx"}, {429, "4xx"}, {500, "5xx"}, {999, "other"},
	}
	for _, tc := range tests {
		if got := statusClass(tc.status); got != tc.want {
			t.Errorf("statusClass(%d) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

func TestAllowFrom(t *testing.T) {
	allowed, err := ParseTrustedProxies("127.0.0.0/8, 10.0.0.0/8, fd00::/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string     // RemoteAddr
		ctxIP  netip.Addr // from IPResolver.Middleware, if valid
		want   int
	}{
		{name: "loopback peer", remote: "127.0.0.1:5000", want: 200},
		{name: "private peer", remote: "10.9.8.7:1", want: 200},
		{name: "single address", remote: "192.0.2.7:1", want: 200},
		{name: "neighbour of single address", remote: "192.0.2.8:1", want: 403},
		{name: "public peer", remote: "203.0.113.9:443", want: 403},
		{name: "ipv6 ula", remote: "[fd00::1]:80", want: 200},
		{name: "ipv6 public", remote: "[2001:db8::1]:80", want: 403},
		{name: "v4-mapped v6 peer", remote: "[::ffff:10.0.0.1]:80", want: 200},
		{name: "bare address", remote: "10.0.0.1", want: 200},
		{name: "garbage peer", remote: "nonsense", want: 403},
		{name: "empty peer", remote: "", want: 403},
		{name: "resolved client wins over the proxy peer", remote: "127.0.0.1:1", ctxIP: netip.MustParseAddr("203.0.113.9"), want: 403},
		{name: "resolved private client", remote: "203.0.113.1:1", ctxIP: netip.MustParseAddr("10.1.1.1"), want: 200},
	}
	h := AllowFrom(allowed)(okHandler)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = tc.remote
			if tc.ctxIP.IsValid() {
				req = req.WithContext(context.WithValue(req.Context(), clientIPKey{}, tc.ctxIP))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("AllowFrom: RemoteAddr %q, client %v: status %d, want %d", tc.remote, tc.ctxIP, rec.Code, tc.want)
			}
			if tc.want == 403 {
				var body map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] != "forbidden" {
					t.Errorf("body = %q (%v), want a JSON forbidden error", rec.Body.String(), err)
				}
			}
		})
	}
}

func TestAllowFromEmptyRefusesAll(t *testing.T) {
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	AllowFrom(nil)(okHandler).ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403", rec.Code)
	}
}

// TestMetricsSeriesShared: the middleware keeps the children it counts
// into, so they must be the registry's own series — the ones Gather reports
// and the ones another Metrics on the same registry (a second server in one
// process) counts into — not copies.
func TestMetricsSeriesShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /b", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	one, two := NewMetrics(reg).Middleware(mux), NewMetrics(reg).Middleware(mux)
	for i := range 5 {
		for _, h := range []http.Handler{one, two} {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a", nil))
			if i%2 == 0 {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/b", nil))
			}
		}
	}
	requests, observed := counts(t, reg)
	want := map[string]float64{"GET /a|2xx": 10, "GET /b|4xx": 6}
	if diff := cmp.Diff(want, requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, observed); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}
