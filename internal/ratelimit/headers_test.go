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
