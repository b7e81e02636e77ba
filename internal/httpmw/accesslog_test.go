package httpmw

import (
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
		"path":       "/oauth2/token",
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
