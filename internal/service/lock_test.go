package service

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/changes"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

func mustFindUser(t *testing.T, m *Manager, name string) store.User {
	t.Helper()
	u, err := m.FindUser(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// unlockNotices returns the digests of the unlock notices on the feed.
func unlockNotices(t *testing.T, m *Manager) []string {
	t.Helper()
	rs, err := m.Store.ListRevocations(t.Context(), 0, m.now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if c, ok := changes.FromEntry(r); ok && c.Kind == changes.Unlock {
			out = append(out, c.ID)
		}
	}
	return out
}

// TestLoginRecordsLock: a failure that leaves the account throttled marks
// the user row (for the CLI and the admin API), not again while the mark
// is fresh, and never for an unknown name; a success clears it.
func TestLoginRecordsLock(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "gina", "read")
	th := &fakeThrottle{}
	m.Login(ctx, audit.CLI(), th, "gina", "wrong-password")
	if u := mustFindUser(t, m, "gina"); u.LockedUntil != nil {
		t.Errorf("after a free failure: LockedUntil = %v, want nil", u.LockedUntil)
	}
	th.lockedFor = 15 * time.Minute
	m.Login(ctx, audit.CLI(), th, "gina", "wrong-password")
	u := mustFindUser(t, m, "gina")
	want := store.Normalize(clk.Now().Add(15 * time.Minute))
	if u.LockedUntil == nil || !u.LockedUntil.Equal(want) {
		t.Fatalf("after a throttled failure: LockedUntil = %v, want %v", u.LockedUntil, want)
	}
	if got := LockedUntil(u, clk.Now()); got == nil || !got.Equal(want) {
		t.Errorf("LockedUntil(u, now) = %v, want %v", got, want)
	}
	clk.Advance(time.Minute)
	m.Login(ctx, audit.CLI(), th, "gina", "wrong-password")
	if u := mustFindUser(t, m, "gina"); !u.LockedUntil.Equal(want) {
		t.Errorf("a minute later: LockedUntil = %v, want still %v (no write while fresh)", u.LockedUntil, want)
	}
	clk.Advance(8 * time.Minute)
	m.Login(ctx, audit.CLI(), th, "gina", "wrong-password")
	if u := mustFindUser(t, m, "gina"); !u.LockedUntil.Equal(store.Normalize(clk.Now().Add(15 * time.Minute))) {
		t.Errorf("9 minutes later: LockedUntil = %v, want moved to 15m from now", u.LockedUntil)
	}
	if _, err := m.Login(ctx, audit.CLI(), th, "nobody-here", "wrong-password"); err == nil {
		t.Fatal("login of an unknown user succeeded")
	}
	if _, err := m.Login(ctx, audit.CLI(), th, "gina", "password-1"); err != nil {
		t.Fatal(err)
	}
	if u := mustFindUser(t, m, "gina"); u.LockedUntil != nil {
		t.Errorf("after a success: LockedUntil = %v, want nil", u.LockedUntil)
	}
	if got := LockedUntil(store.User{LockedUntil: &want}, want); got != nil {
		t.Errorf("LockedUntil at its own end = %v, want nil (run out)", got)
	}
}

// TestUnlock: unlock, enable and a password reset clear the lock, tell
// every replica to forget the account's failed logins, and audit it.
func TestUnlock(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "hank", "read")
	digest := ratelimit.SubjectDigest("hank")
	lock := func() {
		t.Helper()
		th := &fakeThrottle{lockedFor: 15 * time.Minute}
		m.Login(ctx, audit.CLI(), th, "hank", "wrong-password")
		if u := mustFindUser(t, m, "hank"); u.LockedUntil == nil {
			t.Fatal("not locked")
		}
	}
	steps := []struct {
		name   string
		do     func() (store.User, error)
		reason string
	}{
		{"unlock", func() (store.User, error) { return m.Unlock(ctx, audit.CLI(), "hank") }, ""},
		{"enable", func() (store.User, error) { return m.SetDisabled(ctx, audit.CLI(), "hank", false) }, "enabled"},
		{"password reset", func() (store.User, error) { return m.SetPassword(ctx, audit.CLI(), "hank", "password-2") }, "password_changed"},
	}
	for i, st := range steps {
		lock()
		u, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if u.LockedUntil != nil || mustFindUser(t, m, "hank").LockedUntil != nil {
			t.Errorf("%s: LockedUntil = %v, want nil", st.name, u.LockedUntil)
		}
		if got := unlockNotices(t, m); len(got) != i+1 || got[i] != digest {
			t.Errorf("%s: unlock notices %v, want %d for %s", st.name, got, i+1, digest)
		}
		evs, _ := m.Store.ListAudit(ctx, store.AuditFilter{Action: string(audit.UserUnlocked)})
		if len(evs) != i+1 || evs[i].Target != u.ID || evs[i].Reason != st.reason {
			t.Errorf("%s: user.unlocked events %+v, want a %d-th with reason %q", st.name, evs, i+1, st.reason)
		}
		clk.Advance(time.Second)
	}
	// Enabling a user who was not locked forgets the account's counts
	// anyway but audits no unlock.
	if _, err := m.SetDisabled(ctx, audit.CLI(), "hank", false); err != nil {
		t.Fatal(err)
	}
	if evs, _ := m.Store.ListAudit(ctx, store.AuditFilter{Action: string(audit.UserUnlocked)}); len(evs) != len(steps) {
		t.Errorf("%d user.unlocked events after enabling an unlocked user, want %d", len(evs), len(steps))
	}
	if _, err := m.Unlock(ctx, audit.CLI(), "nobody-here"); err == nil {
		t.Error("Unlock(unknown user) = nil, want not found")
	}
}
