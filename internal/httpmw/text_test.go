package httpmw

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStorableText(t *testing.T) {
	tests := []struct {
		name, target string
		want         int
	}{
		{"plain", "/api-keys?after=abc&limit=2", http.StatusOK},
		{"no query", "/api-keys", http.StatusOK},
		{"unicode", "/admin/users/%C3%A9mile?after=%E6%97%A5", http.StatusOK},
		{"NUL in a value", "/api-keys?after=%00", http.StatusBadRequest},
		{"invalid utf-8 in a value", "/api-keys?after=%ff", http.StatusBadRequest},
		{"invalid utf-8 in a name", "/api-keys?%ff=1", http.StatusBadRequest},
		{"NUL beside a part that does not parse", "/api-keys?after=%00&x=%zz", http.StatusBadRequest},
		{"invalid utf-8 beside a part that does not parse", "/api-keys?after=%ff&x=%zz", http.StatusBadRequest},
		{"bad escape alone", "/api-keys?x=%zz", http.StatusBadRequest},
		{"semicolon separator", "/api-keys?a=1;b=2", http.StatusBadRequest},
		{"NUL in the path", "/api-keys/a%00b", http.StatusBadRequest},
		{"invalid utf-8 in the path", "/api-keys/%ff", http.StatusBadRequest},
	}
	h := StorableText(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tc.target, nil))
			if w.Code != tc.want {
				t.Errorf("GET %s = %d %s, want %d", tc.target, w.Code, w.Body, tc.want)
			}
			if tc.want == http.StatusBadRequest && w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("GET %s Content-Type = %q, want JSON", tc.target, w.Header().Get("Content-Type"))
			}
		})
	}
}
