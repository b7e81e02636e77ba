package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newTestThrottle(t *testing.T, cfg ThrottleConfig) (*Throttle, *fakeNow) {
	t.Helper()
	clock := newFakeNow()
	return NewThrottle(NewMemoryCounters(clock.Now), cfg), clock
}

func mustBegin(t *testing.T, th *Throttle, account, ip string) (*Attempt, Decision) {
	t.Helper()
	a, d, err := th.Begin(t.Context(), account, ip)
	if err != nil {
		t.Fatalf("Begin(%q, %q) error = %v", account, ip, err)
	}
	if (a == nil) != (d.Wait > 0) {
		t.Fatalf("Begin(%q, %q) = %v, %+v: want an attempt or a wait, not both or neither", account, ip, a, d)
	}
	return a, d
}

// probe reports whether an attempt would be refused now, and leaves no
// trace: an attempt it is given is cancelled.
func probe(t *testing.T, th *Throttle, account, ip string) Decision {
	t.Helper()
	a, d := mustBegin(t, th, account, ip)
	a.Cancel(t.Context())
	return d
}

// mustFail records n failed attempts for account from ip, waiting out (on
// the fake clock) any slow-down in between.
func mustFail(t *testing.T, th *Throttle, clock *fakeNow, account, ip string, n int) {
	t.Helper()
	for i := 0; i < n; {
		a, d := mustBegin(t, th, account, ip)
		if errors.Is(d.Reason, ErrSlowDown) {
			clock.Advance(d.Wait)
			continue
		}
		if a == nil {
			t.Fatalf("failure %d of %q from %q: refused %+v", i+1, account, ip, d)
		}
		if _, err := a.Fail(t.Context()); err != nil {
			t.Fatalf("Fail() error = %v", err)
		}
		i++
	}
}

func TestThrottleDefaults(t *testing.T) {
	got := NewThrottle(NewMemoryCounters(nil), ThrottleConfig{}).Config()
	want := ThrottleConfig{
		MaxFailures: 10, LockFor: 15 * time.Minute, DelayAfter: 3, BaseDelay: time.Second,
		MaxDelay: time.Minute, PerIP: Limit{Rate: 100.0 / 60, Burst: 100}, KnownFor: 30 * 24 * time.Hour,
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
		mustFail(t, th, clock, "alice", "", 1)
		d := probe(t, th, "alice", "")
		if d.Wait != want {
			t.Errorf("after failure %d: wait = %v, want %v", n, d.Wait, want)
		}
		if want > 0 && !errors.Is(d.Reason, ErrSlowDown) {
			t.Errorf("after failure %d: reason = %v, want ErrSlowDown", n, d.Reason)
		}
		// Part of the wait passes: the rest remains.
		clock.Advance(want / 2)
		if d := probe(t, th, "alice", ""); d.Wait != want-want/2 {
			t.Errorf("after failure %d and %v: wait = %v, want %v", n, want/2, d.Wait, want-want/2)
		}
		clock.Advance(want - want/2)
		if d := probe(t, th, "alice", ""); d.Wait != 0 {
			t.Errorf("after failure %d and the full wait: wait = %v, want 0", n, d.Wait)
		}
	}
	mustFail(t, th, clock, "alice", "", 1) // the tenth
	d := probe(t, th, "alice", "")
	if d.Wait != 15*time.Minute || !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("after 10 failures: %+v, want locked for 15m", d)
	}
	clock.Advance(15*time.Minute - time.Second)
	if d := probe(t, th, "alice", ""); d.Wait != time.Second || !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("1s before the lock ends: %+v, want locked for 1s", d)
	}
	clock.Advance(time.Second)
	if d := probe(t, th, "alice", ""); d.Wait != 0 {
		t.Errorf("after the lock: %+v, want free", d)
	}
	// The run was forgotten with the lock.
	mustFail(t, th, clock, "alice", "", 1)
	if d := probe(t, th, "alice", ""); d.Wait != 0 {
		t.Errorf("first failure after the lock: %+v, want free", d)
	}
}

func TestThrottleMaxDelay(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 100, DelayAfter: 1, BaseDelay: time.Second, MaxDelay: 5 * time.Second})
	mustFail(t, th, clock, "bob", "", 50)
	if d := probe(t, th, "bob", ""); d.Wait != 5*time.Second {
		t.Errorf("wait after 50 failures = %v, want the 5s cap", d.Wait)
	}
}

func TestThrottleSuccessResetsAccount(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{MaxFailures: 5, DelayAfter: 2})
	mustFail(t, th, clock, "carol", "192.0.2.1", 4)
	a, d := mustBegin(t, th, "carol", "192.0.2.1") // the 5th attempt, after its wait
	if a == nil {
		clock.Advance(d.Wait)
		a, _ = mustBegin(t, th, "carol", "192.0.2.1")
	}
	if a == nil {
		t.Fatal("5th attempt refused after its wait")
	}
	if err := a.Succeed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := probe(t, th, "carol", "192.0.2.1"); d.Wait != 0 {
		t.Errorf("after success: %+v, want free", d)
	}
	mustFail(t, th, clock, "carol", "192.0.2.1", 2)
	if d := probe(t, th, "carol", "192.0.2.1"); d.Wait != 0 {
		t.Errorf("2 failures after a success: %+v, want free (a new run)", d)
	}
}

// TestThrottleAccountsIndependent checks that one account's lock does not
// touch another and that unknown names are counted like real ones (the
// throttle cannot tell them apart, so neither can an attacker).
func TestThrottleAccountsIndependent(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{})
	mustFail(t, th, clock, "no-such-user", "", 10)
	if d := probe(t, th, "no-such-user", ""); !errors.Is(d.Reason, ErrLocked) {
		t.Errorf("unknown account after 10 failures: %+v, want locked like any other", d)
	}
	if d := probe(t, th, "dave", ""); d.Wait != 0 {
		t.Errorf("other account: %+v, want free", d)
	}
}

func TestThrottlePerIP(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1, Burst: 5}}) // 5 failures per 5 s
	for i := range 5 {
		if d := probe(t, th, fmt.Sprint("user", i), "198.51.100.7"); d.Wait != 0 {
			t.Fatalf("attempt %d from the address: %+v, want free", i+1, d)
		}
		mustFail(t, th, clock, fmt.Sprint("user", i), "198.51.100.7", 1)
	}
	d := probe(t, th, "fresh-user", "198.51.100.7")
	if !errors.Is(d.Reason, ErrTooMany) || d.Wait != 5*time.Second {
		t.Errorf("after 5 failures from one address: %+v, want ErrTooMany for 5s", d)
	}
	if d := probe(t, th, "fresh-user", "198.51.100.8"); d.Wait != 0 {
		t.Errorf("another address: %+v, want free", d)
	}
	clock.Advance(5 * time.Second)
	if d := probe(t, th, "fresh-user", "198.51.100.7"); d.Wait != 0 {
		t.Errorf("after the window: %+v, want free", d)
	}
}

// TestThrottleSuccessKeepsAddressFailures: a success from an address gives
// back its own reservation but not the address's earlier failures.
func TestThrottleSuccessKeepsAddressFailures(t *testing.T) {
	th, clock := newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1.0 / 60, Burst: 3}})
	mustFail(t, th, clock, "user0", "198.51.100.7", 2)
	for range 5 { // successes do not count as failures of the address
		a, d := mustBegin(t, th, "user1", "198.51.100.7")
		if a == nil {
			t.Fatalf("login after 2 failures from the address: %+v, want allowed", d)
		}
		if err := a.Succeed(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	mustFail(t, th, clock, "user2", "198.51.100.7", 1)
	if d := probe(t, th, "user0", "198.51.100.7"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("after 3 failures and some successes from the address: %+v, want ErrTooMany", d)
	}
}

// TestThrottleConcurrentAttempts: attempts that start at once, before any
// has failed, are counted as they start. Of 40 attempts at one account,
// only as many as may fail get through; of 40 at 40 accounts from one
// address, only the address's limit; and an attempt given back (the
// password could not be checked) frees its place.
func TestThrottleConcurrentAttempts(t *testing.T) {
	begin := func(th *Throttle, n int, account func(int) string) []*Attempt {
		var mu sync.Mutex
		var got []*Attempt
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				a, _, err := th.Begin(t.Context(), account(i), "198.51.100.9")
				if err != nil {
					t.Errorf("Begin: %v", err)
				}
				if a != nil {
					mu.Lock()
					got = append(got, a)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return got
	}
	th, _ := newTestThrottle(t, ThrottleConfig{MaxFailures: 10, DelayAfter: 100})
	if got := begin(th, 40, func(int) string { return "erin" }); len(got) != 10 {
		t.Errorf("40 attempts at once at one account: %d admitted, want 10 (MaxFailures)", len(got))
	} else {
		got[0].Cancel(t.Context())
		if a, d := mustBegin(t, th, "erin", "198.51.100.9"); a == nil {
			t.Errorf("after one attempt was given back: %+v, want room for one more", d)
		}
	}
	th, _ = newTestThrottle(t, ThrottleConfig{DelayAfter: 3})
	if got := begin(th, 40, func(int) string { return "frank" }); len(got) != 4 {
		t.Errorf("40 attempts at once at one account with 3 free failures: %d admitted, want 4 (the 4th holds the slow-down)", len(got))
	}
	th, _ = newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1.0 / 60, Burst: 7}})
	if got := begin(th, 40, func(i int) string { return fmt.Sprint("user", i) }); len(got) != 7 {
		t.Errorf("40 attempts at once from one address: %d admitted, want 7 (PerIP burst)", len(got))
	}
}

func TestThrottleKeysHideAccounts(t *testing.T) {
	th, _ := newTestThrottle(t, ThrottleConfig{})
	k, err := th.keysFor(t.Context(), "alice@example.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if d := SubjectDigest("alice@example.com"); d == SubjectDigest("alice@example.co") || len(d) != 32 {
		t.Errorf("SubjectDigest = %q: want a fixed-length hash", d)
	}
	for _, key := range []string{k.pair, k.run, k.gate, k.known} {
		for _, s := range []string{"alice", "example"} {
			if contains(key, s) {
				t.Errorf("key %q contains %q", key, s)
			}
		}
	}
	if k.ip != "ip:192.0.2.1" {
		t.Errorf("address key = %q", k.ip)
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
	th, clock := newTestThrottle(t, ThrottleConfig{PerIP: Limit{Rate: 1.0 / 60, Burst: 3}})
	for i, ip := range []string{"2001:db8:a:b::1", "2001:db8:a:b:ffff::2", "2001:db8:a:b:1:2:3:4"} {
		mustFail(t, th, clock, fmt.Sprint("user", i), ip, 1)
	}
	if d := probe(t, th, "fresh", "2001:db8:a:b::99"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("fourth address of the /64 after 3 failures there: %+v, want ErrTooMany", d)
	}
	if d := probe(t, th, "fresh", "2001:db8:a:c::1"); d.Wait != 0 {
		t.Errorf("another /64: %+v, want free", d)
	}
	mustFail(t, th, clock, "v4", "198.51.100.1", 3)
	if d := probe(t, th, "fresh", "::ffff:198.51.100.1"); !errors.Is(d.Reason, ErrTooMany) {
		t.Errorf("IPv4-mapped form of a refused IPv4 address: %+v, want ErrTooMany", d)
	}
	if d := probe(t, th, "fresh", "198.51.100.2"); d.Wait != 0 {
		t.Errorf("the next IPv4 address: %+v, want free", d)
	}
}
