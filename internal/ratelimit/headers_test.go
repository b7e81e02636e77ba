package ratelimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want http.Header
	}{
		{
			name: "allowed",
			r:    Result{Allowed: true, Limit: 10, Remaining: 7, Reset: 2500 * time.Millisecond},
			want: http.Header{"Ratelimit-Limit": {"10"}, "Ratelimit-Remaining": {"7"}, "Ratelimit-Reset": {"3"}},
		},
		{
			name: "denied rounds retry up",
			r:    Result{Limit: 10, Reset: 10 * time.Second, RetryAfter: 1001 * time.Millisecond},
			want: http.Header{"Ratelimit-Limit": {"10"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"10"}, "Retry-After": {"2"}},
		},
		{
			name: "denied retry at least one second",
			r:    Result{Limit: 1, Reset: time.Millisecond, RetryAfter: time.Microsecond},
			want: http.Header{"Ratelimit-Limit": {"1"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"1"}, "Retry-After": {"1"}},
		},
		{
			name: "full burst available",
			r:    Result{Allowed: true, Limit: 5, Remaining: 5},
			want: http.Header{"Ratelimit-Limit": {"5"}, "Ratelimit-Remaining": {"5"}, "Ratelimit-Reset": {"0"}},
		},
		{name: "unlimited writes nothing", r: Result{Allowed: true}, want: http.Header{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			SetHeaders(h, tc.r)
			if diff := cmp.Diff(tc.want, h); diff != "" {
				t.Errorf("SetHeaders(%+v) mismatch (-want +got):\n%s", tc.r, diff)
			}
		})
	}
}

func TestSetHeadersReplacesAndRemaining(t *testing.T) {
	h := http.Header{}
	if _, ok := Remaining(h); ok {
		t.Error("Remaining of empty headers: ok, want none")
	}
	SetHeaders(h, Result{Allowed: true, Limit: 1000, Remaining: 999, Reset: time.Second})
	SetHeaders(h, Result{Limit: 10, Reset: 3 * time.Second, RetryAfter: time.Second})
	want := http.Header{"Ratelimit-Limit": {"10"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"3"}, "Retry-After": {"1"}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("second SetHeaders mismatch (-want +got):\n%s", diff)
	}
	if n, ok := Remaining(h); !ok || n != 0 {
		t.Errorf("Remaining = %d, %v; want 0, true", n, ok)
	}
	// Adding to one header must not change another sharing the array.
	h.Add("Ratelimit-Limit", "x")
	if got := h.Get("Ratelimit-Remaining"); got != "0" {
		t.Errorf("after Add to RateLimit-Limit, RateLimit-Remaining = %q, want 0", got)
	}
}
