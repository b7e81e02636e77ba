package httpmw

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBodyLimit(t *testing.T) {
	tests := []struct {
		name          string
		limit         int64
		body          string
		contentLength int64 // -1 = unknown (chunked)
		wantStatus    int
		wantCalled    bool
		wantReadErr   bool
	}{
		{name: "under", limit: 10, body: "12345", contentLength: 5, wantStatus: 200, wantCalled: true},
		{name: "exact", limit: 5, body: "12345", contentLength: 5, wantStatus: 200, wantCalled: true},
		{name: "declared over", limit: 4, body: "12345", contentLength: 5, wantStatus: 413},
		{name: "chunked over", limit: 4, body: "12345", contentLength: -1, wantStatus: 200, wantCalled: true, wantReadErr: true},
		{name: "chunked under", limit: 10, body: "12345", contentLength: -1, wantStatus: 200, wantCalled: true},
		{name: "no limit", limit: 0, body: strings.Repeat("x", 1000), contentLength: 1000, wantStatus: 200, wantCalled: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			var readErr error
			var got []byte
			h := BodyLimit(tc.limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				got, readErr = io.ReadAll(r.Body)
			}))
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			req.ContentLength = tc.contentLength
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if called != tc.wantCalled {
				t.Errorf("handler called = %v, want %v", called, tc.wantCalled)
			}
			if tc.wantStatus == 413 {
				if e := mustDecodeError(t, rec); e.Error != "request_too_large" {
					t.Errorf("error = %q, want request_too_large", e.Error)
				}
			}
			if !tc.wantCalled {
				return
			}
			var mbe *http.MaxBytesError
			if tc.wantReadErr {
				if !errors.As(readErr, &mbe) || mbe.Limit != tc.limit {
					t.Errorf("read error = %v, want *http.MaxBytesError with limit %d", readErr, tc.limit)
				}
			} else if readErr != nil || string(got) != tc.body {
				t.Errorf("read = %q, %v; want %q", got, readErr, tc.body)
			}
		})
	}
}

func TestBodyLimitDoesNotModifyCallerRequest(t *testing.T) {
	req := httptest.NewRequest("POST", "/", strings.NewReader("abc"))
	orig := req.Body
	BodyLimit(10)(okHandler).ServeHTTP(httptest.NewRecorder(), req)
	if req.Body != orig {
		t.Error("BodyLimit replaced the body of the caller's request")
	}
}
