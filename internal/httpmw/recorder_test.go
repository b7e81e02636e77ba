package httpmw

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecorderFlushThroughChain(t *testing.T) {
	logger, _ := newTestLogger()
	var isFlusher bool
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher = w.(http.Flusher)
		_, _ = w.Write([]byte("data: 1\n\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
	}), RequestID, Recover(logger), AccessLog(logger), NewMetrics(nil).Middleware)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !isFlusher {
		t.Error("wrapped writer is not an http.Flusher")
	}
	if !rec.Flushed {
		t.Error("underlying recorder was not flushed")
	}
}

func TestRecorderUnwrapReachesConnection(t *testing.T) {
	var deadlineErr error
	logger, _ := newTestLogger()
	h := AccessLog(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// SetWriteDeadline is only reachable through Unwrap.
		deadlineErr = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if deadlineErr != nil {
		t.Errorf("SetWriteDeadline through recorder: %v", deadlineErr)
	}
}

// TestRecorderStreams proves events reach the client before the handler
// returns: the handler waits for the client to have read the first event.
func TestRecorderStreams(t *testing.T) {
	logger, _ := newTestLogger()
	read := make(chan struct{})
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: first\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-read:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte("data: second\n\n"))
	}), RequestID, Recover(logger), AccessLog(logger), SecurityHeaders, NewMetrics(nil).Middleware)
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read first event: %v (not flushed?)", err)
	}
	if strings.TrimSpace(line) != "data: first" {
		t.Fatalf("first line = %q", line)
	}
	close(read)
	rest, _ := br.ReadString(0)
	if !strings.Contains(rest, "data: second") {
		t.Errorf("rest = %q, want second event", rest)
	}
}

func TestRecorderStatus(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBytes  int64
	}{
		{name: "nothing written", handler: func(http.ResponseWriter, *http.Request) {}, wantStatus: 200},
		{name: "write implies 200", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("abc")) }, wantStatus: 200, wantBytes: 3},
		{name: "explicit", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418) }, wantStatus: 418},
		{name: "first wins", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404); w.WriteHeader(500) }, wantStatus: 404},
		{name: "early hints skipped", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("xy"))
		}, wantStatus: 202, wantBytes: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// httptest.ResponseRecorder treats 1xx as final, so count on a
			// writer that accepts everything.
			rec := recorderFor(&nopWriter{h: http.Header{}})
			tc.handler(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Status() != tc.wantStatus || rec.bytes != tc.wantBytes {
				t.Errorf("status, bytes = %d, %d; want %d, %d", rec.Status(), rec.bytes, tc.wantStatus, tc.wantBytes)
			}
			if recorderFor(rec) != rec {
				t.Error("recorderFor does not reuse an existing recorder")
			}
		})
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}
