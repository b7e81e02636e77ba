package guard

import (
	"net/http"
	"time"
)

// WellFormedKey is the credential format check, for the table test.
var WellFormedKey = wellFormedKey

// Backoffs returns the waits the guard's retry policy gives after each of
// errs in turn.
func Backoffs(errs ...error) []time.Duration {
	var b backoff
	out := make([]time.Duration, len(errs))
	for i, err := range errs {
		out[i] = b.next(err)
	}
	return out
}

// NewTestIntrospector returns an Introspector of the issuer
// https://issuer.test that asks through rt on the clock now and keeps at
// most size answers.
func NewTestIntrospector(rt http.RoundTripper, now func() time.Time, size int) *Introspector {
	return &Introspector{
		issuer: "https://issuer.test", endpoint: "https://issuer.test/introspect", prefix: defaultAPIKeyPrefix,
		clientID: "rs", secret: "rs-secret", client: &http.Client{Transport: rt},
		positiveTTL: 10 * time.Second, negTTL: 2 * time.Second, now: now,
		maxEntries: size, cache: make(map[string]introEntry),
	}
}

// IsB64Token is the bearer token syntax check (RFC 6750 §2.1).
var IsB64Token = isB64Token
