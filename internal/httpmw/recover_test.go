package httpmw

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverPanicBeforeWrite(t *testing.T) {
	logger, logs := newTestLogger()
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "yes")
		panic("boom secret-value")
	}), RequestID, Recover(logger))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set(RequestIDHeader, "req-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	e := mustDecodeError(t, rec)
	if e.Error != "server_error" || e.ErrorDescription != "internal error" {
		t.Errorf("body = %+v, want server_error/internal error", e)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic value leaked to client: %q", rec.Body.String())
	}
	recs := logs.records(t)
	if len(recs) != 1 {
		t.Fatalf("got %d log records, want 1: %s", len(recs), logs)
	}
	r := recs[0]
	if r["request_id"] != "req-123" {
		t.Errorf("log request_id = %v, want req-123", r["request_id"])
	}
	if r["panic"] != "boom secret-value" {
		t.Errorf("log panic = %v", r["panic"])
	}
	if s, _ := r["stack"].(string); !strings.Contains(s, "TestRecoverPanicBeforeWrite") {
		t.Errorf("log stack does not show the panicking function: %q", s)
	}
}

func TestRecoverPanicAfterWriteAborts(t *testing.T) {
	logger, logs := newTestLogger()
	h := Recover(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic("late")
	}))
	rec := httptest.NewRecorder()
	v := catchPanic(func() { h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) })
	if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
		t.Fatalf("panic = %v, want http.ErrAbortHandler", v)
	}
	if rec.Body.String() != "partial" {
		t.Errorf("body = %q, want only the partial write", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "late") {
		t.Errorf("panic not logged: %s", logs)
	}
}

func TestRecoverRepanicsErrAbortHandler(t *testing.T) {
	logger, logs := newTestLogger()
	h := Recover(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	rec := httptest.NewRecorder()
	v := catchPanic(func() { h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) })
	if v != http.ErrAbortHandler {
		t.Fatalf("panic = %v, want http.ErrAbortHandler", v)
	}
	if logs.String() != "" {
		t.Errorf("ErrAbortHandler was logged: %s", logs)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("body written for ErrAbortHandler: %q", rec.Body.String())
	}
}

func TestRecoverNoPanic(t *testing.T) {
	logger, logs := newTestLogger()
	rec := httptest.NewRecorder()
	Recover(logger)(okHandler).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Errorf("got %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
	if logs.String() != "" {
		t.Errorf("unexpected log: %s", logs)
	}
}

func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
