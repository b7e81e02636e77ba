package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultStatus(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{InvalidRequest, 400},
		{InvalidClient, 401},
		{InvalidGrant, 400},
		{UnauthorizedClient, 400},
		{UnsupportedGrantType, 400},
		{InvalidScope, 400},
		{AccessDenied, 400},
		{UnsupportedResponseType, 400},
		{ServerError, 500},
		{TemporarilyUnavailable, 503},
		{InvalidToken, 401},
		{InsufficientScope, 403},
		{UnsupportedTokenType, 400},
		{"made_up", 400},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			if got := DefaultStatus(tc.code); got != tc.want {
				t.Errorf("DefaultStatus(%q) = %d, want %d", tc.code, got, tc.want)
			}
			if got := Errorf(tc.code, "x").Status; got != tc.want {
				t.Errorf("Errorf(%q).Status = %d, want %d", tc.code, got, tc.want)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	e := Errorf(InvalidGrant, "code %s expired %d s ago", "abc", 5)
	if e.Code != InvalidGrant || e.Description != "code abc expired 5 s ago" {
		t.Errorf("Errorf = %+v", e)
	}
	if e.Unwrap() != nil {
		t.Errorf("Unwrap() = %v, want nil", e.Unwrap())
	}
}

func TestErrorWrap(t *testing.T) {
	cause := errors.New("db down")
	orig := Errorf(ServerError, "cannot issue token")
	wrapped := orig.Wrap(cause)

	if orig.Unwrap() != nil {
		t.Errorf("Wrap changed the original: Unwrap() = %v", orig.Unwrap())
	}
	if !errors.Is(wrapped, cause) {
		t.Errorf("errors.Is(wrapped, cause) = false")
	}
	if got, want := wrapped.Error(), "server_error: cannot issue token: db down"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := orig.Error(), "server_error: cannot issue token"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Code: InvalidScope}).Error(), "invalid_scope"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorIs(t *testing.T) {
	e := Errorf(InvalidGrant, "code expired").Wrap(errors.New("cause"))
	outer := fmt.Errorf("handle: %w", e)
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same code", e, &Error{Code: InvalidGrant}, true},
		{"same code through wrapping", outer, Errorf(InvalidGrant, "other description"), true},
		{"other code", e, &Error{Code: InvalidClient}, false},
		{"plain error target", e, errors.New("invalid_grant"), false},
		{"nil *Error target", e, (*Error)(nil), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
	var got *Error
	if !errors.As(outer, &got) || got.Code != InvalidGrant {
		t.Errorf("errors.As(outer) = %v, want the invalid_grant error", got)
	}
}

func TestErrorStatusCode(t *testing.T) {
	tests := []struct {
		name string
		e    *Error
		want int
	}{
		{"zero status uses default", &Error{Code: InvalidClient}, 401},
		{"explicit status", &Error{Code: InvalidGrant, Status: 429}, 429},
		{"2xx status ignored", &Error{Code: InvalidGrant, Status: 200}, 400},
		{"out of range ignored", &Error{Code: ServerError, Status: 999}, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.StatusCode(); got != tc.want {
				t.Errorf("StatusCode() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestErrorValues(t *testing.T) {
	e := Errorf(AccessDenied, `the user said "no"`)
	e.URI = "https://docs.example/errors#denied"
	want := url.Values{
		"error":             {"access_denied"},
		"error_description": {"the user said 'no'"},
		"error_uri":         {"https://docs.example/errors#denied"},
	}
	if diff := cmp.Diff(want, e.Values()); diff != "" {
		t.Errorf("Values() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(url.Values{"error": {"access_denied"}}, (&Error{Code: AccessDenied}).Values()); diff != "" {
		t.Errorf("Values() of a bare error mismatch (-want +got):\n%s", diff)
	}
}

type response struct {
	Status int
	Header map[string]string
	Body   map[string]string
}

// mustRecord runs write against a recorder and returns the status, the
// headers named in headers ("" when absent) and the JSON body.
func mustRecord(t testing.TB, write func(http.ResponseWriter), headers ...string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	write(rec)
	res := response{Status: rec.Code, Header: map[string]string{}}
	for _, h := range headers {
		res.Header[h] = strings.Join(rec.Header().Values(h), ", ")
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.Body); err != nil {
		t.Fatalf("response body %q is not a JSON object of strings: %v", rec.Body.String(), err)
	}
	return res
}

func TestWriteError(t *testing.T) {
	headers := []string{"Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate", "Retry-After"}
	common := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{"WWW-Authenticate": "", "Retry-After": ""}
		for k, v := range common {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	basic := Errorf(InvalidClient, "client authentication failed")
	basic.UseBasic = true
	basicBadRequest := Errorf(InvalidRequest, "two methods")
	basicBadRequest.UseBasic = true
	withURI := Errorf(InvalidScope, "scope not allowed: admin")
	withURI.URI = "https://docs.example/scopes"
	throttled := Errorf(InvalidGrant, "too many failed logins")
	throttled.Status = http.StatusTooManyRequests
	throttled.RetryAfter = 1500 * time.Millisecond
	busy := Errorf(TemporarilyUnavailable, "busy")
	busy.RetryAfter = 2 * time.Second

	tests := []struct {
		name string
		err  error
		want response
	}{
		{
			name: "invalid_grant",
			err:  Errorf(InvalidGrant, "code expired"),
			want: response{400, with(nil), map[string]string{"error": "invalid_grant", "error_description": "code expired"}},
		},
		{
			name: "invalid_client without Basic",
			err:  Errorf(InvalidClient, "client authentication failed"),
			want: response{401, with(nil), map[string]string{"error": "invalid_client", "error_description": "client authentication failed"}},
		},
		{
			name: "invalid_client after Basic",
			err:  basic,
			want: response{401, with(map[string]string{"WWW-Authenticate": `Basic realm="gatehouse"`}),
				map[string]string{"error": "invalid_client", "error_description": "client authentication failed"}},
		},
		{
			name: "UseBasic on a 400 adds no challenge",
			err:  basicBadRequest,
			want: response{400, with(nil), map[string]string{"error": "invalid_request", "error_description": "two methods"}},
		},
		{
			name: "error_uri",
			err:  withURI,
			want: response{400, with(nil), map[string]string{"error": "invalid_scope",
				"error_description": "scope not allowed: admin", "error_uri": "https://docs.example/scopes"}},
		},
		{
			name: "rate limited rounds Retry-After up",
			err:  throttled,
			want: response{429, with(map[string]string{"Retry-After": "2"}),
				map[string]string{"error": "invalid_grant", "error_description": "too many failed logins"}},
		},
		{
			name: "temporarily unavailable",
			err:  busy,
			want: response{503, with(map[string]string{"Retry-After": "2"}),
				map[string]string{"error": "temporarily_unavailable", "error_description": "busy"}},
		},
		{
			name: "wrapped *Error keeps its code",
			err:  fmt.Errorf("grant: %w", Errorf(InvalidGrant, "replayed").Wrap(errors.New("secret cause"))),
			want: response{400, with(nil), map[string]string{"error": "invalid_grant", "error_description": "replayed"}},
		},
		{
			name: "plain error becomes a generic server_error",
			err:  errors.New("pq: password authentication failed for user root"),
			want: response{500, with(nil), map[string]string{"error": "server_error", "error_description": genericServerError}},
		},
		{
			name: "nil error",
			err:  nil,
			want: response{500, with(nil), map[string]string{"error": "server_error", "error_description": genericServerError}},
		},
		{
			name: "typed nil *Error",
			err:  (*Error)(nil),
			want: response{500, with(nil), map[string]string{"error": "server_error", "error_description": genericServerError}},
		},
		{
			name: "invalid_token gets a Bearer challenge",
			err:  Errorf(InvalidToken, "token expired"),
			want: response{401, with(map[string]string{"WWW-Authenticate": `Bearer realm="gatehouse", error="invalid_token", error_description="token expired"`}),
				map[string]string{"error": "invalid_token", "error_description": "token expired"}},
		},
		{
			name: "insufficient_scope",
			err:  Errorf(InsufficientScope, `needs "admin"`),
			want: response{403, with(map[string]string{"WWW-Authenticate": `Bearer realm="gatehouse", error="insufficient_scope", error_description="needs 'admin'"`}),
				map[string]string{"error": "insufficient_scope", "error_description": "needs 'admin'"}},
		},
		{
			name: "forbidden characters in the description are replaced",
			err:  Errorf(InvalidRequest, "grant_type %q \\ é\n", "x"),
			want: response{400, with(nil), map[string]string{"error": "invalid_request", "error_description": "grant_type 'x' ? ??"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustRecord(t, func(w http.ResponseWriter) { WriteError(w, tc.err) }, headers...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WriteError(%v) mismatch (-want +got):\n%s", tc.err, diff)
			}
		})
	}
}

func TestWriteErrorDoesNotLeakCause(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, Errorf(InvalidGrant, "bad code").Wrap(errors.New("SECRET-CAUSE")))
	WriteError(rec, errors.New("SECRET-PLAIN"))
	if body := rec.Body.String(); strings.Contains(body, "SECRET") {
		t.Errorf("response body %q contains the cause", body)
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantLogged bool
	}{
		{"protocol error", Errorf(InvalidClient, "client authentication failed"), http.StatusUnauthorized, false},
		{"wrapped protocol error", fmt.Errorf("token: %w", Errorf(InvalidGrant, "expired")), http.StatusBadRequest, false},
		{"internal error", errors.New("database is down"), http.StatusInternalServerError, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			w := httptest.NewRecorder()
			Fail(w, httptest.NewRequest("POST", "/oauth2/token", nil), slog.New(slog.NewTextHandler(&logged, nil)), "token", tc.err)
			if w.Code != tc.wantStatus {
				t.Errorf("Fail(%v) status = %d, want %d", tc.err, w.Code, tc.wantStatus)
			}
			if got := strings.Contains(logged.String(), "level=ERROR msg=token"); got != tc.wantLogged {
				t.Errorf("Fail(%v) logged %q, want logged %v", tc.err, logged.String(), tc.wantLogged)
			}
			if strings.Contains(w.Body.String(), "database") {
				t.Errorf("Fail(%v) body %q shows the cause", tc.err, w.Body.String())
			}
		})
	}
	// A nil logger logs nothing and still writes.
	w := httptest.NewRecorder()
	Fail(w, httptest.NewRequest("POST", "/", nil), nil, "x", errors.New("boom"))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("Fail(nil logger) status = %d, want 500", w.Code)
	}
}

func TestWriteJSON(t *testing.T) {
	got := mustRecord(t, func(w http.ResponseWriter) {
		if err := WriteJSON(w, http.StatusOK, map[string]string{"access_token": "t", "token_type": "Bearer"}); err != nil {
			t.Errorf("WriteJSON() error = %v", err)
		}
	}, "Content-Type", "Cache-Control", "Pragma")
	want := response{
		Status: 200,
		Header: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"},
		Body:   map[string]string{"access_token": "t", "token_type": "Bearer"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteJSON mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteJSONMarshalError(t *testing.T) {
	var err error
	got := mustRecord(t, func(w http.ResponseWriter) {
		err = WriteJSON(w, http.StatusOK, map[string]any{"bad": make(chan int)})
	}, "Cache-Control")
	if err == nil {
		t.Errorf("WriteJSON(chan) error = nil, want the marshal error")
	}
	if got.Status != 500 || got.Body["error"] != ServerError || got.Header["Cache-Control"] != "no-store" {
		t.Errorf("WriteJSON(chan) wrote %+v, want a no-store server_error", got)
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text: ok!", "plain text: ok!"},
		{`say "hi"`, "say 'hi'"},
		{`back\slash`, "back?slash"},
		{"tab\there", "tab?here"},
		{"caf\u00e9", "caf?"},
		{"bad \xff byte", "bad ? byte"},
		{"del\x7f", "del?"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := safeText(tc.in); got != tc.want {
				t.Errorf("safeText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
