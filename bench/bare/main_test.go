package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantKeys   []string
	}{
		{name: "me", method: http.MethodGet, path: "/users/me", wantStatus: http.StatusOK, wantKeys: []string{"id", "username", "scopes", "auth_method"}},
		{name: "healthz", method: http.MethodGet, path: "/healthz", wantStatus: http.StatusOK, wantKeys: []string{"status"}},
		{name: "unknown path", method: http.MethodGet, path: "/oauth2/token", wantStatus: http.StatusNotFound},
		{name: "wrong method", method: http.MethodPost, path: "/users/me", wantStatus: http.StatusMethodNotAllowed},
	}
	h := handler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("%s %s: status = %d, want %d", tc.method, tc.path, rec.Code, tc.wantStatus)
			}
			if tc.wantKeys == nil {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type = %q, want application/json", tc.method, tc.path, ct)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q is not JSON: %v", tc.method, tc.path, rec.Body, err)
			}
			for _, k := range tc.wantKeys {
				if _, ok := body[k]; !ok {
					t.Errorf("%s %s: body %s has no %q", tc.method, tc.path, rec.Body, k)
				}
			}
			// About the size of gatehouse's GET /users/me answer (105 bytes).
			if n := rec.Body.Len(); tc.path == "/users/me" && (n < 80 || n > 130) {
				t.Errorf("%s %s: body of %d bytes, want about 100 like gatehouse's", tc.method, tc.path, n)
			}
		})
	}
}
