package httpmw

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestAccessLog(t *testing.T) {
	logger, logs := newTestLogger()
	resolver := IPResolver{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("hello"))
	}), RequestID, Recover(logger), resolver.Middleware, AccessLog(logger))

	req := httptest.NewRequest("POST", "/oauth2/token?code=SECRETCODE&password=hunter2", nil)
	req.RemoteAddr = "10.1.2.3:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("Authorization", "Bearer SECRETTOKEN")
	req.Header.Set("X-API-Key", "gk_SECRETKEY")
	req.Header.Set(RequestIDHeader, "rid-1")
	h.ServeHTTP(httptest.NewRecorder(), req)

	for _, secret := range []string{"SECRETCODE", "hunter2", "SECRETTOKEN", "SECRETKEY", "Authorization"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q: %s", secret, logs)
		}
	}
	recs := logs.records(t)
	if len(recs) != 1 {
		t.Fatalf("got %d log records, want 1: %s", len(recs), logs)
	}
	r := recs[0]
	want := map[string]any{
		"method":     "POST",
		"route":      "other", // no Metrics in this chain: the route is unknown
		"status":     float64(201),
		"bytes":      float64(5),
		"request_id": "rid-1",
		"ip":         "203.0.113.9",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("log %s = %v, want %v", k, r[k], v)
		}
	}
	if _, ok := r["duration"]; !ok {
		t.Error("log has no duration")
	}
	if _, ok := r["path"]; ok {
		t.Errorf("log has a path: %v", r)
	}
}

// TestAccessLogRouteNotPath pastes a credential into a path and a method:
// the log names the pattern that matched, never what the client wrote,
// also when the handler panics and when no route matched.
func TestAccessLogRouteNotPath(t *testing.T) {
	const key = "gk_abcdefghijkl_SECRETSECRETSECRETSECRETSECRETSECRETSECRET1abcdef"
	mux := http.NewServeMux()
	mux.HandleFunc("DELETE /api-keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("POST /admin/users/{user}/disable", func(http.ResponseWriter, *http.Request) { panic("boom") })
	logger, logs := newTestLogger()
	// As the server's chain: a middleware that passes on a copy of the
	// request sits between AccessLog and Metrics.
	copyRequest := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := *r
			next.ServeHTTP(w, &r2)
		})
	}
	h := Chain(mux, RequestID, Recover(logger), AccessLog(logger), copyRequest, NewMetrics(nil).Middleware)
	for _, tc := range []struct {
		method, path, route string
		status              int
	}{
		{"DELETE", "/api-keys/" + key, "/api-keys/{id}", 404},
		{"POST", "/admin/users/" + key + "/disable", "/admin/users/{user}/disable", 500},
		{"GET", "/no/such/" + key, "other", 404},
		{key, "/api-keys/" + key, "other", 405},
	} {
		logs.buf.Reset()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path+"?token="+key, nil))
		if strings.Contains(logs.String(), "SECRET") {
			t.Errorf("%s %s: the log holds the key: %s", tc.method, tc.path, logs)
		}
		var access map[string]any
		for _, r := range logs.records(t) {
			if r["msg"] == "http request" {
				access = r
			}
			if r["msg"] == "handler panic" && r["route"] != tc.route {
				t.Errorf("%s: panic log route = %v, want %q", tc.route, r["route"], tc.route)
			}
		}
		if access == nil || access["route"] != tc.route || access["status"] != float64(tc.status) {
			t.Errorf("access log = %v, want route %q, status %d", access, tc.route, tc.status)
		}
	}
}

func TestAccessLogWithoutResolverUsesPeer(t *testing.T) {
	logger, logs := newTestLogger()
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "[2001:db8::1]:443"
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	AccessLog(logger)(okHandler).ServeHTTP(httptest.NewRecorder(), req)
	recs := logs.records(t)
	if len(recs) != 1 || recs[0]["ip"] != "2001:db8::1" || recs[0]["status"] != float64(200) {
		t.Errorf("log = %v, want ip 2001:db8::1 status 200", recs)
	}
}

func TestAccessLogPanicLogged500(t *testing.T) {
	logger, logs := newTestLogger()
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") }),
		Recover(logger), AccessLog(logger))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/p", nil))
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	var access map[string]any
	for _, r := range logs.records(t) {
		if r["msg"] == "http request" {
			access = r
		}
	}
	if access == nil || access["status"] != float64(500) || access["level"] != "ERROR" {
		t.Errorf("access log = %v, want status 500 at ERROR", access)
	}
}

// TestAccessLogLevels: a served request is logged at debug, a refused one
// at info, a failed one at error; a logger at info therefore gets the
// refusals and failures and no line for what was served.
func TestAccessLogLevels(t *testing.T) {
	for _, tc := range []struct {
		status int
		level  string
	}{
		{200, "DEBUG"}, {204, "DEBUG"}, {302, "DEBUG"}, {304, "DEBUG"},
		{400, "INFO"}, {401, "INFO"}, {429, "INFO"},
		{500, "ERROR"}, {503, "ERROR"},
	} {
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) })
		debug, all := newTestLogger()
		AccessLog(debug)(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		recs := all.records(t)
		if len(recs) != 1 || recs[0]["level"] != tc.level {
			t.Errorf("status %d: records %v, want one at %s", tc.status, recs, tc.level)
		}

		info := &logBuffer{}
		AccessLog(slog.New(slog.NewJSONHandler(info, nil)))(h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if got, want := len(info.records(t)), map[bool]int{true: 0, false: 1}[tc.level == "DEBUG"]; got != want {
			t.Errorf("status %d at level info: %d records, want %d", tc.status, got, want)
		}
	}
}
