package token

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// TestWriteResponseMatchesWriteJSON compares writeResponse with the
// reflection-based oauth.WriteJSON it replaces: status, headers and body,
// byte for byte.
func TestWriteResponseMatchesWriteJSON(t *testing.T) {
	awkward := []string{"", "plain", `q"uote`, `back\slash`, "<&>", "ctl\x00\x1f\x7f\t\n", "héllo 日本 😀",
		"\u2028\u2029", "bad \xff utf8", "\xe2\x82"}
	var cases []Response
	cases = append(cases,
		Response{AccessToken: "eyJ.eyJ.sig", TokenType: "Bearer", ExpiresIn: 900, Scope: "read write"},
		Response{AccessToken: "a", TokenType: "Bearer", ExpiresIn: 0, RefreshToken: "grt_x", IDToken: "eyJ.id.sig", Scope: ""},
		Response{ExpiresIn: -5},
		Response{AccessToken: "a", ExpiresIn: 1 << 62, RefreshToken: "r"},
	)
	for _, s := range awkward {
		cases = append(cases, Response{AccessToken: s, TokenType: s, ExpiresIn: 3600, RefreshToken: s, IDToken: s, Scope: s})
	}
	r := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		var b strings.Builder
		for n := r.IntN(10); n > 0; n-- {
			if r.IntN(3) == 0 {
				b.WriteByte(byte(r.IntN(256)))
			} else {
				b.WriteRune(rune(r.IntN(0x800)))
			}
		}
		return b.String()
	}
	for range 1000 {
		cases = append(cases, Response{AccessToken: str(), TokenType: str(), ExpiresIn: r.Int64() - 1<<62,
			RefreshToken: str(), IDToken: str(), Scope: str()})
	}
	for _, resp := range cases {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		// As in the server, SecurityHeaders has set a few headers already.
		got.Header().Set("X-Frame-Options", "DENY")
		want.Header().Set("X-Frame-Options", "DENY")
		writeResponse(got, &resp)
		if err := oauth.WriteJSON(want, http.StatusOK, &resp); err != nil {
			t.Fatal(err)
		}
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
			t.Fatalf("%+v:\n got %d %v %q\nwant %d %v %q", resp, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}

// TestWriteResponseHeadersIndependent checks that the shared backing array
// of the header values does not let one header's change reach another.
func TestWriteResponseHeadersIndependent(t *testing.T) {
	w := httptest.NewRecorder()
	writeResponse(w, &Response{AccessToken: "a", TokenType: "Bearer"})
	h := w.Header()
	h.Add("Content-Type", "x")
	h.Add("Cache-Control", "y")
	if got := h.Values("Cache-Control"); !reflect.DeepEqual(got, []string{"no-store", "y"}) {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := h.Values("Pragma"); !reflect.DeepEqual(got, []string{"no-cache"}) {
		t.Errorf("Pragma = %q", got)
	}
	if got := h.Values("Content-Type"); !reflect.DeepEqual(got, []string{"application/json", "x"}) {
		t.Errorf("Content-Type = %q", got)
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func benchResponse() *Response {
	return &Response{AccessToken: strings.Repeat("eyJhbGciOiJFUzI1NiJ9", 27), TokenType: "Bearer", ExpiresIn: 900, Scope: "read write"}
}

func BenchmarkWriteResponse(b *testing.B) {
	resp := benchResponse()
	b.ReportAllocs()
	for b.Loop() {
		writeResponse(&discardWriter{h: http.Header{"X-Request-Id": {"x"}}}, resp)
	}
}

// BenchmarkWriteJSONResponse is the reflection-based encoding it replaced.
func BenchmarkWriteJSONResponse(b *testing.B) {
	resp := benchResponse()
	b.ReportAllocs()
	for b.Loop() {
		_ = oauth.WriteJSON(&discardWriter{h: http.Header{"X-Request-Id": {"x"}}}, http.StatusOK, resp)
	}
}

// TestResponseOmitsEmptyScope: a token granted no scope has no "scope"
// member (RFC 6749 §5.1), rather than "scope":"".
func TestResponseOmitsEmptyScope(t *testing.T) {
	for scope, want := range map[string]bool{"": false, "read": true} {
		rec := httptest.NewRecorder()
		writeResponse(rec, &Response{AccessToken: "a", TokenType: "Bearer", ExpiresIn: 60, Scope: scope})
		if got := strings.Contains(rec.Body.String(), `"scope"`); got != want {
			t.Errorf("scope %q: body %s, has scope member = %v, want %v", scope, rec.Body, got, want)
		}
	}
}
