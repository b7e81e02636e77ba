package ratelimit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// attack makes n failed attempts at account, each from a fresh address
// (as a botnet would), waiting out every slow-down on the fake clock.
func attack(t *testing.T, th *Throttle, clock *fakeNow, account string, n int) {
	t.Helper()
	for i := range n {
		mustFail(t, th, clock, account, fmt.Sprintf("203.0.113.%d", i%250+1), 1)
	}
}

// TestThrottleLocksTheAddressNotTheAccount: MaxFailures failures from one
// address lock that address out of the account; another address may still
// try (and the account is only slowed).
func TestThrottleLocksTheAddressNotTheAccount(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 5, DelayAfter: 100})
	mustFail(t, th, clock, "alice", "198.51.100.1", 5)
	if d := probe(t, th, "alice", "198.51.100.1"); !errors.Is(d.Reason, ErrLocked) || d.Wait != 15*time.Minute {
		t.Errorf("the address that failed 5 times: %+v, want ErrLocked for 15m", d)
	}
	if d := probe(t, th, "alice", "198.51.100.2"); d.Wait != 0 {
		t.Errorf("another address at the same account: %+v, want free", d)
	}
	if d := probe(t, th, "bob", "198.51.100.1"); d.Wait != 0 {
		t.Errorf("the locked address at another account: %+v, want free", d)
	}
}

// TestThrottleSlowsButNeverLocksTheAccount: failures from many addresses
// slow the account down, with a growing delay capped at MaxDelay, but never
// lock it: whoever knows a username cannot keep its owner out for longer
// than MaxDelay at a time.
func TestThrottleSlowsButNeverLocksTheAccount(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{})
	attack(t, th, clock, "alice", 40)
	d := probe(t, th, "alice", "192.0.2.77")
	if errors.Is(d.Reason, ErrLocked) || d.Wait > time.Minute {
		t.Errorf("after 40 failures from 40 addresses: %+v, want at most the 1m slow-down, never a lock", d)
	}
	clock.Advance(d.Wait)
	if a, d := mustBegin(t, th, "alice", "192.0.2.77"); a == nil {
		t.Errorf("after waiting the slow-down: %+v, want an attempt", d)
	}
}

// TestThrottleKnownAddressSkipsSlowDown: an address that logged in to the
// account before is not slowed down by other addresses' failures (it still
// has its own limits).
func TestThrottleKnownAddressSkipsSlowDown(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 3})
	a, _ := mustBegin(t, th, "alice", "2001:db8:5:6::1")
	if err := a.Succeed(t.Context()); err != nil {
		t.Fatal(err)
	}
	attack(t, th, clock, "alice", 20)
	if d := probe(t, th, "alice", "192.0.2.99"); !errors.Is(d.Reason, ErrSlowDown) {
		t.Fatalf("a new address after the attack: %+v, want ErrSlowDown", d)
	}
	// Another address of the same /64 is the same known address.
	if d := probe(t, th, "alice", "2001:db8:5:6::abcd"); d.Wait != 0 {
		t.Errorf("the known address during the attack: %+v, want free", d)
	}
	mustFail(t, th, clock, "alice", "2001:db8:5:6::1", 3)
	if d := probe(t, th, "alice", "2001:db8:5:6::1"); !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("the known address after its own 3 failures: %+v, want ErrLocked (its own limit)", d)
	}
	clock.Advance(31 * 24 * time.Hour)
	attack(t, th, clock, "alice", 20)
	if d := probe(t, th, "alice", "2001:db8:5:6::1"); !errors.Is(d.Reason, ErrSlowDown) {
		t.Errorf("the address 31 days after its last login: %+v, want slowed like any other", d)
	}
}

// TestThrottleFailReportsThrottled: Fail says how long the account stays
// throttled once it is (slowed, or an address locked out), and 0 before.
func TestThrottleFailReportsThrottled(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 10, DelayAfter: 3})
	for i := 1; i <= 5; i++ {
		a, d := mustBegin(t, th, "alice", "198.51.100.4")
		if a == nil {
			clock.Advance(d.Wait)
			a, _ = mustBegin(t, th, "alice", "198.51.100.4")
		}
		got, err := a.Fail(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Duration(0); i > 3 {
			if got != 15*time.Minute {
				t.Errorf("Fail() after failure %d = %v, want 15m (throttled)", i, got)
			}
		} else if got != want {
			t.Errorf("Fail() after failure %d = %v, want 0 (free failures)", i, got)
		}
	}
}

// TestThrottleForget: forgetting an account (an admin's unlock) ends its
// slow-down and every address's lock at once; known addresses stay known.
func TestThrottleForget(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 3})
	mustFail(t, th, clock, "alice", "198.51.100.1", 3)
	attack(t, th, clock, "alice", 10)
	if d := probe(t, th, "alice", "198.51.100.1"); !errors.Is(d.Reason, ErrLocked) {
		t.Fatalf("before Forget: %+v, want ErrLocked", d)
	}
	if err := th.Forget(t.Context(), SubjectDigest("alice")); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"198.51.100.1", "192.0.2.200"} {
		if d := probe(t, th, "alice", ip); d.Wait != 0 {
			t.Errorf("after Forget, from %s: %+v, want free", ip, d)
		}
	}
	// A new run starts from zero: 3 free failures again.
	mustFail(t, th, clock, "alice", "198.51.100.1", 2)
	if d := probe(t, th, "alice", "198.51.100.1"); d.Wait != 0 {
		t.Errorf("2 failures after Forget: %+v, want free", d)
	}
	if err := th.Forget(t.Context(), "not a digest"); err == nil {
		t.Error("Forget(malformed digest) = nil, want an error")
	}
}
