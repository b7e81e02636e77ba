package guard_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// denyT0 is .7 s into a second: the "issued at or before" rules compare
// whole seconds.
var denyT0 = time.Date(2030, 5, 6, 12, 0, 0, 700_000_000, time.UTC)

// bearer returns the principal of an access token of user1 through
// client1, issued a minute before denyT0, as mod changes it.
func bearer(mod func(*guard.Principal)) *guard.Principal {
	p := &guard.Principal{
		Subject:      "user1",
		ClientID:     "client1",
		Method:       guard.MethodBearer,
		TokenID:      "fam1.tok1",
		IssuedAt:     denyT0.Add(-time.Minute).Truncate(time.Second),
		ExpiresAt:    denyT0.Add(time.Hour),
		SigningKeyID: "kid1",
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func apiKeyPrincipal(id string) *guard.Principal {
	return &guard.Principal{Subject: "user1", Method: guard.MethodAPIKey, KeyID: id, IssuedAt: denyT0.Add(-time.Hour)}
}

func TestDenyListKinds(t *testing.T) {
	exp := denyT0.Add(time.Hour)
	tests := []struct {
		name    string
		entry   guard.FeedEntry
		revoked []*guard.Principal
		allowed []*guard.Principal
	}{
		{
			name:    "jti",
			entry:   guard.FeedEntry{Kind: guard.RevokeToken, Value: "fam1.tok1"},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.TokenID = "fam1.tok2" }),
				bearer(func(p *guard.Principal) { p.TokenID = "tok1" }),
			},
		},
		{
			name:  "family",
			entry: guard.FeedEntry{Kind: guard.RevokeFamily, Value: "fam1"},
			revoked: []*guard.Principal{
				bearer(nil),
				bearer(func(p *guard.Principal) { p.TokenID = "fam1.other" }),
			},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.TokenID = "fam2.tok1" }),
				bearer(func(p *guard.Principal) { p.TokenID = "fam1" }), // no family part
				bearer(func(p *guard.Principal) { p.TokenID = "fam10.tok1" }),
			},
		},
		{
			name:    "api key",
			entry:   guard.FeedEntry{Kind: guard.RevokeAPIKey, Value: "key1"},
			revoked: []*guard.Principal{apiKeyPrincipal("key1")},
			allowed: []*guard.Principal{
				apiKeyPrincipal("key2"),
				// a bearer whose jti happens to equal the key id
				bearer(func(p *guard.Principal) { p.TokenID = "key1" }),
			},
		},
		{
			name:    "signing key",
			entry:   guard.FeedEntry{Kind: guard.RevokeKey, Value: "kid1"},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.SigningKeyID = "kid2" }),
				apiKeyPrincipal("kid1"),
			},
		},
		{
			name:  "user",
			entry: guard.FeedEntry{Kind: guard.RevokeUser, Value: "user1", At: denyT0},
			revoked: []*guard.Principal{
				bearer(nil),
				bearer(func(p *guard.Principal) { p.IssuedAt = time.Time{} }),
			},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.Subject = "user2" }),
				bearer(func(p *guard.Principal) { p.IssuedAt = denyT0.Add(time.Second) }),
				// API keys outlive "log out everywhere"; disabling the
				// owner is checked by the key verifier.
				apiKeyPrincipal("key1"),
			},
		},
		{
			name:    "client",
			entry:   guard.FeedEntry{Kind: guard.RevokeClient, Value: "client1", At: denyT0},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.ClientID = "client2" }),
				bearer(func(p *guard.Principal) { p.IssuedAt = denyT0.Add(2 * time.Second) }),
			},
		},
		{
			name:    "unknown kind",
			entry:   guard.FeedEntry{Kind: "future", Value: "user1", At: denyT0},
			allowed: []*guard.Principal{bearer(nil), apiKeyPrincipal("user1")},
		},
		{
			name:    "event",
			entry:   guard.FeedEntry{Kind: guard.RevokeEvent, Value: "fam1.tok1", At: denyT0},
			allowed: []*guard.Principal{bearer(nil), apiKeyPrincipal("fam1.tok1")},
		},
		{
			name:    "empty value",
			entry:   guard.FeedEntry{Kind: guard.RevokeToken, Value: ""},
			allowed: []*guard.Principal{bearer(func(p *guard.Principal) { p.TokenID = "" })},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := guard.NewDenyList(newClock(denyT0).Now)
			for _, p := range append(tc.revoked, tc.allowed...) {
				if d.Revoked(p) {
					t.Fatalf("empty list: Revoked(%+v) = true", p)
				}
			}
			tc.entry.ExpiresAt = exp
			tc.entry.Seq = 7
			d.Apply(tc.entry)
			for _, p := range tc.revoked {
				if !d.Revoked(p) {
					t.Errorf("Revoked(%+v) = false, want true", p)
				}
			}
			for _, p := range tc.allowed {
				if d.Revoked(p) {
					t.Errorf("Revoked(%+v) = true, want false", p)
				}
			}
			if got, want := d.Len(), min(len(tc.revoked), 1); got != want {
				t.Errorf("Len() = %d, want %d", got, want)
			}
			if got := d.Cursor(); got != 7 {
				t.Errorf("Cursor() = %d, want 7", got)
			}
		})
	}
}

func TestDenyListNilPrincipal(t *testing.T) {
	if !guard.NewDenyList(nil).Revoked(nil) {
		t.Error("Revoked(nil) = false, want true (fail closed)")
	}
}

// TestDenyListSecondBoundary: iat has second precision, the revocation
// time microseconds. A token from the same second as the logout is
// refused, one from the next second is not.
func TestDenyListSecondBoundary(t *testing.T) {
	logout := time.Date(2030, 5, 6, 12, 0, 0, 999_999_000, time.UTC)
	sec := logout.Truncate(time.Second)
	tests := []struct {
		name string
		iat  time.Time
		want bool
	}{
		{"a second before", sec.Add(-time.Second), true},
		{"same second, before the logout", sec, true},
		{"same second, after the logout (unknowable from iat)", sec, true},
		{"iat with sub-second part after logout in same second", logout.Add(500 * time.Nanosecond).Truncate(time.Microsecond), true},
		{"next second", sec.Add(time.Second), false},
		{"long after", sec.Add(time.Hour), false},
	}
	for _, kind := range []string{guard.RevokeUser, guard.RevokeClient} {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				d := guard.NewDenyList(newClock(logout).Now)
				d.Apply(guard.FeedEntry{Kind: kind, Value: "id1", At: logout, ExpiresAt: logout.Add(time.Hour)})
				p := bearer(func(p *guard.Principal) {
					p.Subject, p.ClientID, p.IssuedAt = "other", "other", tc.iat
					if kind == guard.RevokeUser {
						p.Subject = "id1"
					} else {
						p.ClientID = "id1"
					}
				})
				if got := d.Revoked(p); got != tc.want {
					t.Errorf("Revoked(iat=%s) after revocation at %s = %v, want %v",
						tc.iat.Format(time.RFC3339Nano), logout.Format(time.RFC3339Nano), got, tc.want)
				}
			})
		}
	}
}

// TestDenyListSinceSpans: several "revoked before" times for one user
// keep the strongest in force until each expires.
func TestDenyListSinceSpans(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	// A late logout that is remembered briefly, and an earlier one
	// remembered long: neither covers the other.
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0.Add(10 * time.Second), ExpiresAt: denyT0.Add(time.Minute)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0, ExpiresAt: denyT0.Add(time.Hour)})
	// Covered by the first: changes nothing.
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0.Add(5 * time.Second), ExpiresAt: denyT0.Add(30 * time.Second)})
	if got := d.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2 (covered span dropped)", got)
	}
	p := func(iat time.Time) *guard.Principal {
		return bearer(func(p *guard.Principal) { p.Subject, p.IssuedAt = "u", iat.Truncate(time.Second) })
	}
	if !d.Revoked(p(denyT0.Add(8 * time.Second))) {
		t.Error("token issued between the two logouts: Revoked = false, want true")
	}
	c.Advance(2 * time.Minute) // the late logout expired
	if d.Revoked(p(denyT0.Add(8 * time.Second))) {
		t.Error("after the late logout expired: Revoked = true, want false")
	}
	if !d.Revoked(p(denyT0.Add(-time.Second))) {
		t.Error("token before the early logout: Revoked = false, want true")
	}
	// A logout covering everything replaces both.
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0.Add(time.Minute), ExpiresAt: denyT0.Add(2 * time.Hour)})
	if got := d.Len(); got != 1 {
		t.Errorf("Len() after covering logout = %d, want 1", got)
	}
}

func TestDenyListExpiry(t *testing.T) {
	kinds := []struct {
		kind string
		p    *guard.Principal
	}{
		{guard.RevokeToken, bearer(nil)},
		{guard.RevokeFamily, bearer(nil)},
		{guard.RevokeAPIKey, apiKeyPrincipal("fam1")},
		{guard.RevokeKey, bearer(func(p *guard.Principal) { p.SigningKeyID = "fam1" })},
		{guard.RevokeUser, bearer(func(p *guard.Principal) { p.Subject = "fam1" })},
		{guard.RevokeClient, bearer(func(p *guard.Principal) { p.ClientID = "fam1" })},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			c := newClock(denyT0)
			d := guard.NewDenyList(c.Now)
			value := "fam1"
			if k.kind == guard.RevokeToken {
				value = k.p.TokenID
			}
			exp := denyT0.Add(time.Minute)
			d.Apply(guard.FeedEntry{Kind: k.kind, Value: value, At: denyT0, ExpiresAt: exp})
			if !d.Revoked(k.p) {
				t.Fatal("Revoked = false right after Apply")
			}
			c.Advance(time.Minute - time.Nanosecond)
			if !d.Revoked(k.p) {
				t.Fatal("Revoked = false 1ns before expiry")
			}
			c.Advance(time.Nanosecond)
			if d.Revoked(k.p) {
				t.Fatal("Revoked = true at ExpiresAt")
			}
			if got := d.Len(); got != 1 {
				t.Errorf("Len() before sweep = %d, want 1", got)
			}
			if got := d.Sweep(); got != 1 {
				t.Errorf("Sweep() = %d, want 1", got)
			}
			if got := d.Len(); got != 0 {
				t.Errorf("Len() after sweep = %d, want 0", got)
			}
			// An entry that arrives already expired is ignored.
			d.Apply(guard.FeedEntry{Kind: k.kind, Value: value, At: denyT0, ExpiresAt: exp})
			if d.Revoked(k.p) || d.Len() != 0 {
				t.Errorf("expired entry applied: Revoked = %v, Len = %d", d.Revoked(k.p), d.Len())
			}
		})
	}
}

// TestDenyListZeroExpiry: an entry without an expiry is in force for good
// (fail closed); gatehouse never sends one.
func TestDenyListZeroExpiry(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "j"})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0.Add(time.Minute)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u", At: denyT0, ExpiresAt: denyT0.Add(time.Minute)})
	c.Advance(24 * time.Hour)
	if got := d.Sweep(); got != 0 {
		t.Errorf("Sweep() = %d, want 0", got)
	}
	for _, p := range []*guard.Principal{
		bearer(func(p *guard.Principal) { p.TokenID = "j" }),
		bearer(func(p *guard.Principal) { p.Subject = "u" }),
	} {
		if !d.Revoked(p) {
			t.Errorf("Revoked(%+v) = false a day later, want true", p)
		}
	}
	if got, ok := d.LastCutoff("u", ""); !ok || got != denyT0.Unix() {
		t.Errorf("LastCutoff(%q, %q) = %d, %v; want %d, true", "u", "", got, ok, denyT0.Unix())
	}
	if got := d.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
}

func TestDenyListDuplicateKeepsLaterExpiry(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0.Add(time.Hour)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0.Add(time.Minute)})
	c.Advance(30 * time.Minute)
	p := bearer(func(p *guard.Principal) { p.TokenID = "j" })
	if !d.Revoked(p) {
		t.Error("shorter duplicate shortened the entry")
	}
	if got := d.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
}

// TestDenyListLenBounded: with a steady stream of short-lived entries,
// sweeping on insert keeps memory to the entries still in force.
func TestDenyListLenBounded(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	const perMinute = 100
	for minute := range 60 {
		for i := range perMinute {
			d.Apply(guard.FeedEntry{
				Kind: guard.RevokeToken, Value: fmt.Sprintf("m%d-%d", minute, i),
				ExpiresAt: c.Now().Add(2 * time.Minute),
			})
			c.Advance(time.Minute / perMinute)
		}
		if got := d.Len(); got > 3*perMinute {
			t.Fatalf("minute %d: Len() = %d, want <= %d", minute, got, 3*perMinute)
		}
	}
	c.Advance(3 * time.Minute)
	d.Sweep()
	if got := d.Len(); got != 0 {
		t.Errorf("Len() after everything expired = %d, want 0", got)
	}
}

// TestDenyListSweepIfDue: a poll sweeps once an entry has expired, at most
// once a second, without an Apply.
func TestDenyListSweepIfDue(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "short", ExpiresAt: denyT0.Add(time.Minute)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "long", ExpiresAt: denyT0.Add(time.Hour)})
	steps := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{"nothing expired", 30 * time.Second, 2},
		{"first expiry", 30 * time.Second, 1},
		{"everything expired", time.Hour, 0},
	}
	for _, st := range steps {
		c.Advance(st.advance)
		d.SweepIfDue()
		if got := d.Len(); got != st.want {
			t.Errorf("%s: Len() after SweepIfDue = %d, want %d", st.name, got, st.want)
		}
	}
	// Within a second of the last sweep, an expired entry waits.
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "brief", ExpiresAt: c.Now().Add(time.Millisecond)})
	c.Advance(2 * time.Millisecond)
	d.SweepIfDue()
	if got := d.Len(); got != 1 {
		t.Errorf("SweepIfDue within a second of the last sweep: Len() = %d, want 1", got)
	}
	c.Advance(time.Second)
	d.SweepIfDue()
	if got := d.Len(); got != 0 {
		t.Errorf("SweepIfDue a second later: Len() = %d, want 0", got)
	}
}

// TestDenyListEvents: an event is a notice for caches (the server's feed
// hands it on), not a revocation; it only moves the cursor.
func TestDenyListEvents(t *testing.T) {
	d := guard.NewDenyList(newClock(denyT0).Now)
	ev := guard.FeedEntry{Seq: 3, Kind: guard.RevokeEvent, Value: "keys", ExpiresAt: denyT0.Add(time.Hour)}
	d.Apply(ev)
	d.Apply(ev) // a re-read
	d.Apply(guard.FeedEntry{Kind: guard.RevokeEvent, Value: "local", ExpiresAt: denyT0.Add(time.Hour)})
	if d.Len() != 0 {
		t.Errorf("Len() = %d, events are not revocations", d.Len())
	}
	if d.Revoked(bearer(func(p *guard.Principal) { p.TokenID = "keys" })) {
		t.Error("an event revoked a token")
	}
	if d.Cursor() != 3 {
		t.Errorf("Cursor() = %d, want 3", d.Cursor())
	}
}

func TestDenyListCursorMonotonic(t *testing.T) {
	d := guard.NewDenyList(newClock(denyT0).Now)
	for _, seq := range []int64{5, 9, 2, 9, 0} {
		d.Apply(guard.FeedEntry{Seq: seq, Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0.Add(time.Hour)})
	}
	// Entries that change nothing still move it.
	d.Apply(guard.FeedEntry{Seq: 11, Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0})
	if got := d.Cursor(); got != 11 {
		t.Errorf("Cursor() = %d, want 11", got)
	}
}

func TestDenyListConcurrent(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	var (
		wg   sync.WaitGroup
		seen atomic.Int64
	)
	const writers, perWriter = 4, 500
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				v := fmt.Sprintf("w%d-%d", w, i)
				d.Apply(guard.FeedEntry{Seq: int64(w*perWriter + i + 1), Kind: guard.RevokeToken, Value: v, ExpiresAt: denyT0.Add(time.Hour)})
				d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: v, At: denyT0, ExpiresAt: denyT0.Add(time.Hour)})
				if i%100 == 0 {
					c.Advance(time.Second)
					d.Sweep()
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for i := range perWriter {
				p := bearer(func(p *guard.Principal) {
					p.TokenID = fmt.Sprintf("w%d-%d", r, i)
					p.Subject = p.TokenID
				})
				if d.Revoked(p) {
					seen.Add(1)
				}
				_ = d.Len()
				_, _ = d.LastCutoff(p.Subject, "")
			}
		})
	}
	wg.Wait()
	for w := range writers {
		for i := range perWriter {
			v := fmt.Sprintf("w%d-%d", w, i)
			if !d.Revoked(bearer(func(p *guard.Principal) { p.TokenID = v; p.Subject = "none" })) {
				t.Fatalf("jti %s not revoked after concurrent Apply", v)
			}
		}
	}
	if got, want := d.Len(), 2*writers*perWriter; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if got, want := d.Cursor(), int64(writers*perWriter); got != want {
		t.Errorf("Cursor() = %d, want %d", got, want)
	}
}

func TestDenyListRevokedDoesNotAllocate(t *testing.T) {
	d := guard.NewDenyList(func() time.Time { return denyT0 })
	for i := range 1000 {
		d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: fmt.Sprintf("j%d", i), ExpiresAt: denyT0.Add(time.Hour)})
		d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: fmt.Sprintf("u%d", i), At: denyT0, ExpiresAt: denyT0.Add(time.Hour)})
	}
	p := bearer(func(p *guard.Principal) { p.TokenID = "fam.j5"; p.Subject = "u5" })
	if allocs := testing.AllocsPerRun(100, func() { d.Revoked(p) }); allocs != 0 {
		t.Errorf("Revoked allocates %v times per call, want 0", allocs)
	}
}

func TestNewDenyListUsesClock(t *testing.T) {
	c := newClock(denyT0)
	d := guard.NewDenyList(c.Now)
	d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: "j", ExpiresAt: denyT0.Add(time.Minute)})
	p := bearer(func(p *guard.Principal) { p.TokenID = "j" })
	if !d.Revoked(p) {
		t.Fatal("Revoked = false before expiry")
	}
	c.Advance(time.Minute)
	if d.Revoked(p) {
		t.Error("Revoked = true after expiry on the injected clock")
	}
}

// TestDenyListLastCutoff: the latest "issued at or before" second in
// force for a user or a client, which an issuer must not mint a token in.
func TestDenyListLastCutoff(t *testing.T) {
	t0 := time.Date(2030, 5, 6, 12, 0, 0, 400_000_000, time.UTC)
	c := newClock(t0)
	d := guard.NewDenyList(c.Now)
	if _, ok := d.LastCutoff("u1", "c1"); ok {
		t.Fatal("LastCutoff on an empty list reports a cutoff")
	}
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u1", At: t0, ExpiresAt: t0.Add(time.Hour)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "u1", At: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeClient, Value: "c1", At: t0.Add(3 * time.Second), ExpiresAt: t0.Add(2 * time.Second)})
	d.Apply(guard.FeedEntry{Kind: guard.RevokeClient, Value: "c2", At: t0.Add(2 * time.Second), ExpiresAt: t0.Add(time.Hour)})
	tests := []struct {
		name, user, client string
		want               int64
		ok                 bool
	}{
		{"the user's latest", "u1", "", t0.Unix(), true},
		{"user or client, whichever is later", "u1", "c2", t0.Add(2 * time.Second).Unix(), true},
		{"client only", "", "c2", t0.Add(2 * time.Second).Unix(), true},
		{"an expired entry does not count", "", "c1", 0, false},
		{"an unrelated user", "u2", "", 0, false},
		{"ids are not shared between kinds", "c2", "u1", 0, false},
	}
	c.Advance(2100 * time.Millisecond) // c1 expired at t0+2s
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := d.LastCutoff(tc.user, tc.client)
			if got != tc.want || ok != tc.ok {
				t.Errorf("LastCutoff(%q, %q) = %d, %v; want %d, %v", tc.user, tc.client, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// BenchmarkDenyListRevoked checks a token that is not listed (every
// lookup runs) against n listed tokens.
func BenchmarkDenyListRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			d := guard.NewDenyList(func() time.Time { return testNow })
			for i := range n {
				d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: fmt.Sprintf("f%d.t%d", i, i), ExpiresAt: testNow.Add(time.Hour)})
			}
			p := &guard.Principal{Method: guard.MethodBearer, TokenID: "fam.tok", Subject: "u", ClientID: "c", SigningKeyID: "k", IssuedAt: testNow}
			benchRevoked(b, d, p)
		})
	}
}

// BenchmarkDenyListRevokedSpans is BenchmarkDenyListRevoked with another
// user logged out, so that the "issued at or before" maps are not empty.
func BenchmarkDenyListRevokedSpans(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("jti=%d", n), func(b *testing.B) {
			d := guard.NewDenyList(func() time.Time { return denyT0 })
			for i := range n {
				d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: fmt.Sprintf("g%d.t%d", i, i), ExpiresAt: denyT0.Add(time.Hour)})
			}
			d.Apply(guard.FeedEntry{Kind: guard.RevokeUser, Value: "someone-else", At: denyT0, ExpiresAt: denyT0.Add(time.Hour)})
			benchRevoked(b, d, bearer(nil))
		})
	}
}

func benchRevoked(b *testing.B, d *guard.DenyList, p *guard.Principal) {
	b.ReportAllocs()
	for b.Loop() {
		if d.Revoked(p) {
			b.Fatal("revoked")
		}
	}
}
