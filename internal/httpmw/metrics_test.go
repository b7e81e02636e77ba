package httpmw

import (
	"net/http"
	"net/http/httptest"
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
