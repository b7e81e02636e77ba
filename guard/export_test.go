package guard

import "time"

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
