package jsonerror

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name, code, description, want string
	}{
		{"quoted", "rate_limited", `slow "down"`, `{"error":"rate_limited","error_description":"slow \"down\""}` + "\n"},
		{"no description", "not_found", "", `{"error":"not_found"}` + "\n"},
		{"html", "invalid_request", "<script>", `{"error":"invalid_request","error_description":"\u003cscript\u003e"}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Length", "99")
			Write(rec, http.StatusTooManyRequests, tc.code, tc.description)
			if rec.Code != http.StatusTooManyRequests {
				t.Errorf("status = %d, want 429", rec.Code)
			}
			if got := rec.Body.String(); got != tc.want || !json.Valid(rec.Body.Bytes()) {
				t.Errorf("Write(%q, %q) body = %q, want %q", tc.code, tc.description, got, tc.want)
			}
			for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff", "Content-Length": ""} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
