package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// StatusError reports an unexpected HTTP status from one of the issuer's
// endpoints. A 401 or 403 — and any other 4xx but 408 and 429 — is a
// configuration error that retrying cannot heal: [NewRemote] returns it at
// once, and the feed follower logs it at error level.
type StatusError struct {
	Method   string // "GET" or "POST"
	URL      string // the endpoint
	ClientID string // the client the request authenticated as; "" for discovery and the JWKS
	Status   int
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: status %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.ClientID != "" {
		s += fmt.Sprintf(" for client %q", e.ClientID)
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			s += " (check ClientID and ClientSecret: a confidential client of the issuer)"
		}
	}
	return s
}

// errBadAnswer marks an answer the guard cannot use (not JSON, not an
// event stream, the wrong issuer): retrying it cannot heal.
var errBadAnswer = errors.New("unusable answer")

// badAnswer marks err as an unusable answer, unless the body was cut
// short, which a retry can heal.
func badAnswer(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("%w: %w", errBadAnswer, err)
}

// retryable reports whether trying again may succeed: network errors and
// 5xx, 408 and 429 answers can heal; any other status and an unusable
// answer cannot.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusRequestTimeout || se.Status == http.StatusTooManyRequests
	}
	return !errors.Is(err, errBadAnswer)
}

// The waits of every loop that talks to the issuer.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// backoff is the retry policy of the guard's loops: after an error that
// can heal the wait starts at minBackoff and doubles up to maxBackoff;
// after one that cannot it is maxBackoff at once, so a misconfigured guard
// does not spin. The zero value is ready to use.
type backoff struct{ d time.Duration }

// next returns the wait after err.
func (b *backoff) next(err error) time.Duration {
	switch {
	case !retryable(err):
		b.d = maxBackoff
	case b.d == 0:
		b.d = minBackoff
	default:
		b.d = min(2*b.d, maxBackoff)
	}
	return b.d
}

// reset starts the next wait at minBackoff again.
func (b *backoff) reset() { b.d = 0 }

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// untilHealed calls try until it succeeds, fails with an error that
// cannot heal, or ctx ends; it logs every retry.
func untilHealed(ctx context.Context, log *slog.Logger, what string, try func() error) error {
	var b backoff
	for {
		err := try()
		if err == nil || !retryable(err) {
			return err
		}
		d := b.next(err)
		log.Warn("guard: "+what+" failed; retrying", "err", err, "backoff", d)
		if !sleep(ctx, d) {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
	}
}
