package httpmw

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

var mintedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string // header values; nil = none
		keep     bool
	}{
		{name: "none", incoming: nil},
		{name: "sane", incoming: []string{"abc-DEF_1.2"}, keep: true},
		{name: "max length", incoming: []string{strings.Repeat("a", 64)}, keep: true},
		{name: "too long", incoming: []string{strings.Repeat("a", 65)}},
		{name: "empty", incoming: []string{""}},
		{name: "space", incoming: []string{"a b"}},
		{name: "newline injection", incoming: []string{"abc\nlevel=ERROR"}},
		{name: "unicode", incoming: []string{"äbc"}},
		{name: "quote", incoming: []string{`a"b`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var inCtx string
			h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inCtx = RequestIDFrom(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			for _, v := range tc.incoming {
				req.Header.Add(RequestIDHeader, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(RequestIDHeader)
			if got != inCtx {
				t.Errorf("response id %q != context id %q", got, inCtx)
			}
			if tc.keep {
				if got != tc.incoming[0] {
					t.Errorf("id = %q, want incoming %q kept", got, tc.incoming[0])
				}
			} else if !mintedID.MatchString(got) {
				t.Errorf("id = %q, want a fresh 32-hex id", got)
			}
		})
	}
}

func TestRequestIDUnique(t *testing.T) {
	seen := map[string]bool{}
	h := RequestID(okHandler)
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		id := rec.Header().Get(RequestIDHeader)
		if seen[id] {
			t.Fatalf("duplicate request id %q", id)
		}
		seen[id] = true
	}
}

func TestRequestIDFromEmptyContext(t *testing.T) {
	if got := RequestIDFrom(t.Context()); got != "" {
		t.Errorf("RequestIDFrom(empty) = %q, want empty", got)
	}
}
