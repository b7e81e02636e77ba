package ratelimit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func newTestThrottle(t *testing.T, cfg ThrottleConfig) (*Throttle, *fakeNow) {
	t.Helper()
	clock := newFakeNow()
	return NewThrottle(NewMemoryCounters(clock.Now), cfg), clock
}

func mustDecide(t *testing.T, th *Throttle, account, ip string) Decision {
	t.Helper()
	d, err := th.Decide(t.Context(), account, ip)
	if err != nil {
		t.Fatalf("Decide(%q, %q) error = %v", account, ip, err)
	}
	return d
}

func mustFail(t *testing.T, th *Throttle, account, ip string, n int) {
	t.Helper()
	for range n {
		if err := th.Failure(t.Context(), account, ip); err != nil {
			t.Fatalf("Failure(%q, %q) error = %v", account, ip, err)
		}
	}
}

func TestThrottleDefaults(t *testing.T) {
	got := NewThrottle(NewMemoryCounters(nil), ThrottleConfig{}).Config()
	want := ThrottleConfig{
		MaxFailures: 10, LockFor: 15 * time.Minute, DelayAfter: 3, BaseDelay: time.Second,
		MaxDelay: time.Minute, PerIP: Limit{Rate: 100.0 / 60, Burst: 100},
	}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if got.PerIP.Rate*60 < 100 {
		t.Errorf("per-IP default allows fewer than 100 failed logins a minute: %v", got.PerIP)
	}
}

// TestThrottleGrowingDelay follows an account through the default policy:
// three free failures, then waits of 1, 2, 4 … seconds after each further
// failure, capped at a minute, then a 15-minute lock after the tenth.
func TestThrottleGrowingDelay(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{})
	wantWait := []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second}
	for i, want := range wantWait {
		n := i + 1
		mustFail(t, th, "alice", "", 1)
		d := mustDecide(t, th, "alice", "")
		if d.Wait != want {
			t.Errorf("after failure %d: wait = %v, want %v", n, d.Wait, want)
		}
		if want > 0 && !errors.Is(d.Reason, ErrSlowDown) {
			t.Errorf("after failure %d: reason = %v, want ErrSlowDown", n, d.Reason)
		}
		// Part of the wait passes: the rest remains.
		clock.Advance(want / 2)
		if d := mustDecide(t, th, "alice", ""); d.Wait != want-want/2 {
			t.Errorf("after failure %d and %v: wait = %v, want %v", n, want/2, d.Wait, want-want/2)
		}
		clock.Advance(want - want/2)
		if d := mustDecide(t, th, "alice", ""); d.Wait != 0 {
			t.Errorf("after failure %d and the full wait: wait = %v, want 0", n, d.Wait)
		}
	}
	mustFail(t, th, "alice", "", 1) // the tenth
	d := mustDecide(t, th, "alice", "")
	if d.Wait != 15*time.Minute || !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("after 10 failures: %+v, want locked for 15m", d)
	}
	clock.Advance(15*time.Minute - time.Second)
	if d := mustDecide(t, th, "alice", ""); d.Wait != time.Second || !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("1s before the lock ends: %+v, want locked for 1s", d)
	}
	clock.Advance(time.Second)
	if d := mustDecide(t, th, "alice", ""); d.Wait != 0 {
		t.Errorf("after the lock: %+v, want free", d)
	}
	// The run was forgotten with the lock.
	mustFail(t, th, "alice", "", 1)
	if d := mustDecide(t, th, "alice", ""); d.Wait != 0 {
		t.Errorf("first failure after the lock: %+v, want free", d)
	}
}

func TestThrottleMaxDelay(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{MaxFailures: 100, DelayAfter: 1, BaseDelay: time.Second, MaxDelay: 5 * time.Second})
	mustFail(t, th, "bob", "", 50)
	if d := mustDecide(t, th, "bob", ""); d.Wait != 5*time.Second {
		t.Errorf("wait after 50 failures = %v, want the 5s cap", d.Wait)
	}
}

func TestThrottleSuccessResetsAccount(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{MaxFailures: 3})
	mustFail(t, th, "carol", "192.0.2.1", 3)
	if d := mustDecide(t, th, "carol", "192.0.2.1"); !errors.Is(d.Reason, ErrLocked) {
		t.Fatalf("after 3 failures: %+v, want locked", d)
	}
	if err := th.Success(t.Context(), "carol", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if d := mustDecide(t, th, "carol", "192.0.2.1"); d.Wait != 0 {
		t.Errorf("after success: %+v, want free", d)
	}
}

// TestThrottleAccountsIndependent checks that one account's lock does not
// touch another and that unknown names are counted like real ones (the
// throttle cannot tell them apart, so neither can an attacker).
func TestThrottleAccountsIndependent(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{})
	mustFail(t, th, "no-such-user", "", 10)
	if d := mustDecide(t, th, "no-such-user", ""); !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("unknown account after 10 failures: %+v, want locked like any other", d)
	}
	if d := mustDecide(t, th, "dave", ""); d.Wait != 0 {
		t.Errorf("other account: %+v, want free", d)
	}
}

func TestThrottlePerIP(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1, Burst: 5}}) // 5 failures per 5 s
	for i := range 5 {
		if d := mustDecide(t, th, fmt.Sprint("user", i), "198.51.100.7"); d.Wait != 0 {
			t.Fatalf("attempt %d from the address: %+v, want free", i+1, d)
		}
		mustFail(t, th, fmt.Sprint("user", i), "198.51.100.7", 1)
	}
	d := mustDecide(t, th, "fresh-user", "198.51.100.7")
	if !errors.Is(d.Reason, ErrTooMany) || d.Wait != 5*time.Second {
		t.Errorf("after 5 failures from one address: %+v, want ErrTooMany for 5s", d)
	}
	if d := mustDecide(t, th, "fresh-user", "198.51.100.8"); d.Wait != 0 {
		t.Errorf("another address: %+v, want free", d)
	}
	// A success from the address does not reset its count.
	if err := th.Success(t.Context(), "user0", "198.51.100.7"); err != nil {
		t.Fatal(err)
	}
	if d := mustDecide(t, th, "user0", "198.51.100.7"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("after a success from the address: %+v, want still ErrTooMany", d)
	}
	clock.Advance(5 * time.Second)
	if d := mustDecide(t, th, "fresh-user", "198.51.100.7"); d.Wait != 0 {
		t.Errorf("after the window: %+v, want free", d)
	}
}

func TestThrottleLongestWaitWins(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{MaxFailures: 2, PerIP: Limit{Rate: 1.0 / 60, Burst: 2}})
	mustFail(t, th, "erin", "203.0.113.1", 2)
	d := mustDecide(t, th, "erin", "203.0.113.1")
	if !errors.Is(d.Reason, ErrLocked) || d.Wait != 15*time.Minute {
		t.Errorf("locked account and limited address: %+v, want the 15m lock", d)
	}
}

func TestThrottleCheckMatchesDecide(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{MaxFailures: 1})
	mustFail(t, th, "frank", "", 1)
	wait, err := th.Check(t.Context(), "frank", "")
	if err != nil || wait != 15*time.Minute {
		t.Errorf("Check = %v, %v; want 15m, nil (refusal is a wait, not an error)", wait, err)
	}
}

func TestThrottleKeysHideAccounts(t *testing.T) {
	k := accountKey("alice@example.com")
	if k == accountKey("alice@example.co") || len(k) != len("acct:")+32 {
		t.Errorf("accountKey = %q: want a fixed-length hash", k)
	}
	for _, s := range []string{"alice", "example"} {
		if contains(k, s) {
			t.Errorf("accountKey %q contains %q", k, s)
		}
	}
	if got := ipKey("192.0.2.1"); got != "ip:192.0.2.1" {
		t.Errorf("ipKey = %q", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestThrottlePerIPGroupsIPv6: failures count per IPv6 /64 (as every
// per-address limit does), IPv4 and IPv4-mapped addresses per address.
func TestThrottlePerIPGroupsIPv6(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1.0 / 60, Burst: 3}})
	for i, ip := range []string{"2001:db8:a:b::1", "2001:db8:a:b:ffff::2", "2001:db8:a:b:1:2:3:4"} {
		mustFail(t, th, fmt.Sprint("user", i), ip, 1)
	}
	if d := mustDecide(t, th, "fresh", "2001:db8:a:b::99"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("fourth address of the /64 after 3 failures there: %+v, want ErrTooMany", d)
	}
	if d := mustDecide(t, th, "fresh", "2001:db8:a:c::1"); d.Wait != 0 {
		t.Errorf("another /64: %+v, want free", d)
	}
	mustFail(t, th, "v4", "198.51.100.1", 3)
	if d := mustDecide(t, th, "fresh", "::ffff:198.51.100.1"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("IPv4-mapped form of a refused IPv4 address: %+v, want ErrTooMany", d)
	}
	if d := mustDecide(t, th, "fresh", "198.51.100.2"); d.Wait != 0 {
		t.Errorf("the next IPv4 address: %+v, want free", d)
	}
}
