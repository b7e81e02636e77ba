package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// SetHeaders writes the rate-limit headers of draft-ietf-httpapi-ratelimit-
// headers (the separate-field form of its earlier revisions):
// RateLimit-Limit (the burst), RateLimit-Remaining and RateLimit-Reset
// (seconds until the full burst is back), and, when r was denied,
// Retry-After (RFC 9110 §10.2.3) in whole seconds, at least 1. Seconds are
// rounded up so that a client that waits as told is not refused again. An
// unlimited result (Limit 0) writes nothing.
func SetHeaders(h http.Header, r Result) {
	if r.Limit <= 0 {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(0, r.Remaining)))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(r.Reset), 10))
	if !r.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(r.RetryAfter)), 10))
	}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
