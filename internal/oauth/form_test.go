package oauth

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func newFormRequest(t testing.TB, method, target, contentType, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseForm(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		req        func(t testing.TB) *http.Request
		max        int64
		want       url.Values
		wantStatus int    // 0: success
		wantDesc   string // part of the error description
	}{
		{
			name: "simple",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token", form, "grant_type=password&username=al%20ice&scope=a+b")
			},
			want: url.Values{"grant_type": {"password"}, "username": {"al ice"}, "scope": {"a b"}},
		},
		{
			name: "content type with charset",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token", "Application/X-WWW-Form-URLEncoded; charset=UTF-8", "a=1")
			},
			want: url.Values{"a": {"1"}},
		},
		{
			name: "query string ignored",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token?client_secret=leak&grant_type=x", form, "grant_type=password")
			},
			want: url.Values{"grant_type": {"password"}},
		},
		{
			name: "empty body",
			req:  func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "") },
			want: url.Values{},
		},
		{
			name: "duplicates are kept for Single to reject",
			req:  func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "a=1&a=2") },
			want: url.Values{"a": {"1", "2"}},
		},
		{
			name: "body exactly at the limit",
			req:  func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "a=12345") },
			max:  7,
			want: url.Values{"a": {"12345"}},
		},
		{
			name:       "GET",
			wantDesc:   "POST",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "GET", "/token?a=1", "", "") },
			wantStatus: 400,
		},
		{
			name:     "JSON body",
			wantDesc: "content type",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token", "application/json", `{"a":1}`)
			},
			wantStatus: 400,
		},
		{
			name:       "no content type",
			wantDesc:   "content type",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", "", "a=1") },
			wantStatus: 400,
		},
		{
			name:       "malformed content type",
			wantDesc:   "content type",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form+"; charset", "a=1") },
			wantStatus: 400,
		},
		{
			name:     "two content types",
			wantDesc: "content type",
			req: func(t testing.TB) *http.Request {
				r := newFormRequest(t, "POST", "/token", form, "a=1")
				r.Header.Add("Content-Type", "application/json")
				return r
			},
			wantStatus: 400,
		},
		{
			name:     "latin-1 charset",
			wantDesc: "UTF-8",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token", form+"; charset=iso-8859-1", "a=1")
			},
			wantStatus: 400,
		},
		{
			name:       "body over the limit",
			wantDesc:   "too large",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "a=123456") },
			max:        7,
			wantStatus: 413,
		},
		{
			name:     "default limit",
			wantDesc: "too large",
			req: func(t testing.TB) *http.Request {
				return newFormRequest(t, "POST", "/token", form, "a="+strings.Repeat("x", DefaultMaxFormBytes))
			},
			wantStatus: 413,
		},
		{
			name:     "outer MaxBytesReader",
			wantDesc: "too large",
			req: func(t testing.TB) *http.Request {
				r := newFormRequest(t, "POST", "/token", form, "a=123456")
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 3)
				return r
			},
			wantStatus: 413,
		},
		{
			name:     "read error",
			wantDesc: "could not be read",
			req: func(t testing.TB) *http.Request {
				r := newFormRequest(t, "POST", "/token", form, "")
				r.Body = io.NopCloser(errReader{errors.New("connection reset")})
				return r
			},
			wantStatus: 400,
		},
		{
			name:       "bad percent escape",
			wantDesc:   "not a valid form",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "a=%zz") },
			wantStatus: 400,
		},
		{
			name:       "semicolon separator",
			wantDesc:   "not a valid form",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "a=1;b=2") },
			wantStatus: 400,
		},
		{
			name:       "invalid UTF-8 value",
			wantDesc:   "value is not valid UTF-8",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "username=%ff%fe") },
			wantStatus: 400,
		},
		{
			name:       "invalid UTF-8 name",
			wantDesc:   "name is not valid UTF-8",
			req:        func(t testing.TB) *http.Request { return newFormRequest(t, "POST", "/token", form, "%c3=1") },
			wantStatus: 400,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForm(tc.req(t), tc.max)
			if tc.wantStatus != 0 {
				if err == nil {
					t.Fatalf("ParseForm() = %v, nil; want an error with status %d", got, tc.wantStatus)
				}
				if err.Code != InvalidRequest || err.StatusCode() != tc.wantStatus {
					t.Errorf("ParseForm() error = %v (status %d), want invalid_request with status %d", err, err.StatusCode(), tc.wantStatus)
				}
				if !strings.Contains(err.Description, tc.wantDesc) {
					t.Errorf("ParseForm() error = %v, want a description containing %q", err, tc.wantDesc)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseForm() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseForm() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSingleAndRequired(t *testing.T) {
	form := url.Values{
		"one":       {"x"},
		"two":       {"x", "y"},
		"same":      {"x", "x"},
		"empty":     {""},
		"emptyplus": {"", "z"},
	}
	tests := []struct {
		name         string
		param        string
		want         string
		wantSingle   string // error description from Single, "" for none
		wantRequired string // error description from Required
	}{
		{name: "present", param: "one", want: "x"},
		{name: "absent", param: "none", wantRequired: "missing parameter: none"},
		{name: "empty counts as absent", param: "empty", wantRequired: "missing parameter: empty"},
		{name: "empty plus a value", param: "emptyplus", want: "z"},
		{name: "duplicate", param: "two", wantSingle: "duplicate parameter: two", wantRequired: "duplicate parameter: two"},
		{name: "duplicate with the same value", param: "same", wantSingle: "duplicate parameter: same", wantRequired: "duplicate parameter: same"},
	}
	check := func(t *testing.T, fn string, got string, err *Error, want, wantErr string) {
		t.Helper()
		if wantErr != "" {
			if err == nil || err.Code != InvalidRequest || err.Description != wantErr {
				t.Errorf("%s() = %q, %v; want invalid_request %q", fn, got, err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("%s() = %q, %v; want %q, nil", fn, got, err, want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Single(form, tc.param)
			check(t, "Single", got, err, tc.want, tc.wantSingle)
			got, err = Required(form, tc.param)
			check(t, "Required", got, err, tc.want, tc.wantRequired)
		})
	}
}

func TestParams(t *testing.T) {
	form := url.Values{"code": {"c"}, "state": {"s1", "s2"}, "scope": {"a"}}

	p := NewParams(form)
	if got := p.Required("code"); got != "c" {
		t.Errorf("Required(code) = %q, want %q", got, "c")
	}
	if got := p.Get("redirect_uri"); got != "" {
		t.Errorf("Get(redirect_uri) = %q, want empty", got)
	}
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v before any failure", err)
	}
	p.Get("state")
	p.Required("missing")
	if got := p.Get("scope"); got != "" {
		t.Errorf("Get(scope) after an error = %q, want empty", got)
	}
	err := p.Err()
	if err == nil || err.Description != "duplicate parameter: state" {
		t.Errorf("Err() = %v, want the first error (duplicate state)", err)
	}
}
