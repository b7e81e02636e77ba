package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// The header names in their canonical form (as http.Header.Set would store
// them and as they go on the wire), so that they can be written and read by
// direct map access without canonicalising each time.
const (
	HeaderLimit      = "Ratelimit-Limit"
	HeaderRemaining  = "Ratelimit-Remaining"
	HeaderReset      = "Ratelimit-Reset"
	HeaderRetryAfter = "Retry-After"
)

// SetHeaders writes the rate-limit headers of draft-ietf-httpapi-ratelimit-
// headers (the separate-field form of its earlier revisions):
// RateLimit-Limit (the burst), RateLimit-Remaining and RateLimit-Reset
// (seconds until the full burst is back), and, when r was denied,
// Retry-After (RFC 9110 §10.2.3) in whole seconds, at least 1. Seconds are
// rounded up so that a client that waits as told is not refused again. An
// unlimited result (Limit 0) writes nothing. It replaces earlier values of
// these headers, as http.Header.Set would.
//
// It runs on every limited request, so it allocates twice whatever the
// values: one string holding all the numbers and one backing array for the
// header values.
func SetHeaders(h http.Header, r Result) {
	if r.Limit <= 0 {
		return
	}
	var buf [80]byte
	b := strconv.AppendInt(buf[:0], int64(r.Limit), 10)
	i1 := len(b)
	b = strconv.AppendInt(b, int64(max(0, r.Remaining)), 10)
	i2 := len(b)
	b = strconv.AppendInt(b, ceilSeconds(r.Reset), 10)
	i3 := len(b)
	n := 3
	if !r.Allowed {
		b = strconv.AppendInt(b, max(1, ceilSeconds(r.RetryAfter)), 10)
		n = 4
	}
	s := string(b)
	v := make([]string, n)
	v[0], v[1], v[2] = s[:i1], s[i1:i2], s[i2:i3]
	// Full slice expressions: an Add to one header must not overwrite the
	// next one's value in the shared array.
	h[HeaderLimit], h[HeaderRemaining], h[HeaderReset] = v[0:1:1], v[1:2:2], v[2:3:3]
	if n == 4 {
		v[3] = s[i3:]
		h[HeaderRetryAfter] = v[3:4:4]
	}
}

// Remaining returns the RateLimit-Remaining value already in h (0 if it is
// not a number), and false when there is none.
func Remaining(h http.Header) (int, bool) {
	v := h[HeaderRemaining]
	if len(v) == 0 || v[0] == "" {
		return 0, false
	}
	n, _ := strconv.Atoi(v[0])
	return n, true
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
