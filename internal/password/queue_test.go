package password

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/argon2"
)

// slowHashes makes every argon2 computation of h take d on the clock (the
// fake clock of a synctest bubble).
func slowHashes(h *Hasher, d time.Duration) {
	h.idKey = func(pw, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
		time.Sleep(d)
		return argon2.IDKey(pw, salt, t, m, p, keyLen)
	}
}

// TestBurstQueuesWithinWaitBudget: with hashes that take 50 ms and one
// slot, a burst of 40 logins is queued, not refused (40 × 50 ms is the
// 2 s wait budget), and served; the 41st, which would wait longer than the
// budget, gets ErrBusy at once with the expected wait as its retry hint.
func TestBurstQueuesWithinWaitBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTestHasher(t, func(c *Config) { c.MaxConcurrent = 1 })
		slowHashes(h, 50*time.Millisecond)
		for range 3 { // the hasher learns what a hash costs
			mustHash(t, h, "password123")
		}
		h.slots <- struct{}{} // hold the only slot
		const burst = 40
		errs := make(chan error, burst)
		for range burst {
			go func() {
				_, _, err := h.Verify(context.Background(), "", "password123")
				errs <- err
			}()
		}
		synctest.Wait()
		if got := h.QueueDepth(); got != burst {
			t.Errorf("QueueDepth() = %d after a burst of %d within the wait budget, want all %d queued", got, burst, burst)
		}
		start := time.Now()
		_, _, err := h.Verify(t.Context(), "", "password123")
		var be *BusyError
		if !errors.Is(err, ErrBusy) || !errors.As(err, &be) || be.RetryAfter != 2050*time.Millisecond {
			t.Errorf("Verify() beyond the wait budget error = %v (%+v), want a *BusyError with RetryAfter 2.05s", err, be)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("refusal took %v, want an answer at once", waited)
		}
		<-h.slots
		for range burst {
			if err := <-errs; err != nil {
				t.Errorf("queued Verify() error = %v", err)
			}
		}
	})
}

func TestWaitEstimate(t *testing.T) {
	var e waitEstimate
	if got := e.mean(); got != initialHashTime {
		t.Errorf("mean before any hash = %v, want the prior %v", got, initialHashTime)
	}
	e.observe(40 * time.Millisecond)
	if got := e.mean(); got != 40*time.Millisecond {
		t.Errorf("mean after the first hash = %v, want that hash's 40ms", got)
	}
	e.observe(120 * time.Millisecond) // moves the mean by an eighth of the difference
	if got := e.mean(); got != 50*time.Millisecond {
		t.Errorf("mean after 40ms, 120ms = %v, want 50ms", got)
	}
	tests := []struct {
		name           string
		position, slot int64
		want           time.Duration
	}{
		{"first in line, one slot", 1, 1, 50 * time.Millisecond},
		{"tenth, one slot", 10, 1, 500 * time.Millisecond},
		{"tenth, four slots", 10, 4, 125 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := e.wait(tc.position, tc.slot); got != tc.want {
			t.Errorf("%s: wait(%d, %d) = %v, want %v", tc.name, tc.position, tc.slot, got, tc.want)
		}
	}
}
