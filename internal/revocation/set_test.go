package revocation

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2030, 5, 6, 12, 0, 0, 700_000_000, time.UTC) // .7 s into a second

func newTestSet(c *clock) *Set { return &Set{Now: c.Now} }

func bearer(mod func(*guard.Principal)) *guard.Principal {
	p := &guard.Principal{
		Subject:      "user1",
		ClientID:     "client1",
		Method:       guard.MethodBearer,
		TokenID:      "fam1.tok1",
		IssuedAt:     t0.Add(-time.Minute).Truncate(time.Second),
		ExpiresAt:    t0.Add(time.Hour),
		SigningKeyID: "kid1",
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func apiKey(id string) *guard.Principal {
	return &guard.Principal{Subject: "user1", Method: guard.MethodAPIKey, KeyID: id, IssuedAt: t0.Add(-time.Hour)}
}

func TestSetKinds(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name    string
		entry   store.Revocation
		revoked []*guard.Principal
		allowed []*guard.Principal
	}{
		{
			name:    "jti",
			entry:   store.Revocation{Kind: store.RevokeToken, Value: "fam1.tok1"},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.TokenID = "fam1.tok2" }),
				bearer(func(p *guard.Principal) { p.TokenID = "tok1" }),
			},
		},
		{
			name:  "family",
			entry: store.Revocation{Kind: store.RevokeFamily, Value: "fam1"},
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
			entry:   store.Revocation{Kind: store.RevokeAPIKey, Value: "key1"},
			revoked: []*guard.Principal{apiKey("key1")},
			allowed: []*guard.Principal{
				apiKey("key2"),
				// a bearer whose jti happens to equal the key id
				bearer(func(p *guard.Principal) { p.TokenID = "key1" }),
			},
		},
		{
			name:    "signing key",
			entry:   store.Revocation{Kind: store.RevokeKey, Value: "kid1"},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.SigningKeyID = "kid2" }),
				apiKey("kid1"),
			},
		},
		{
			name:  "user",
			entry: store.Revocation{Kind: store.RevokeUser, Value: "user1", At: t0},
			revoked: []*guard.Principal{
				bearer(nil),
				bearer(func(p *guard.Principal) { p.IssuedAt = time.Time{} }),
			},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.Subject = "user2" }),
				bearer(func(p *guard.Principal) { p.IssuedAt = t0.Add(time.Second) }),
				// API keys outlive "log out everywhere"; disabling the
				// owner is checked by the key verifier.
				apiKey("key1"),
			},
		},
		{
			name:    "client",
			entry:   store.Revocation{Kind: store.RevokeClient, Value: "client1", At: t0},
			revoked: []*guard.Principal{bearer(nil)},
			allowed: []*guard.Principal{
				bearer(func(p *guard.Principal) { p.ClientID = "client2" }),
				bearer(func(p *guard.Principal) { p.IssuedAt = t0.Add(2 * time.Second) }),
			},
		},
		{
			name:    "unknown kind",
			entry:   store.Revocation{Kind: "future", Value: "user1", At: t0},
			allowed: []*guard.Principal{bearer(nil), apiKey("user1")},
		},
		{
			name:    "empty value",
			entry:   store.Revocation{Kind: store.RevokeToken, Value: ""},
			allowed: []*guard.Principal{bearer(func(p *guard.Principal) { p.TokenID = "" })},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSet(newClock(t0))
			for _, p := range append(tc.revoked, tc.allowed...) {
				if s.Revoked(p) {
					t.Fatalf("empty set: Revoked(%+v) = true", p)
				}
			}
			tc.entry.ExpiresAt = exp
			tc.entry.Seq = 7
			s.Apply(tc.entry)
			for _, p := range tc.revoked {
				if !s.Revoked(p) {
					t.Errorf("Revoked(%+v) = false, want true", p)
				}
			}
			for _, p := range tc.allowed {
				if s.Revoked(p) {
					t.Errorf("Revoked(%+v) = true, want false", p)
				}
			}
			if got := s.Cursor(); got != 7 {
				t.Errorf("Cursor() = %d, want 7", got)
			}
		})
	}
}

func TestSetNilPrincipal(t *testing.T) {
	if !(&Set{}).Revoked(nil) {
		t.Error("Revoked(nil) = false, want true (fail closed)")
	}
}

// TestSetSecondBoundary: iat has second precision, the revocation time
// microseconds. A token from the same second as the logout is refused, one
// from the next second is not.
func TestSetSecondBoundary(t *testing.T) {
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
	for _, kind := range []string{store.RevokeUser, store.RevokeClient} {
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				s := newTestSet(newClock(logout))
				s.Apply(store.Revocation{Kind: kind, Value: "id1", At: logout, ExpiresAt: logout.Add(time.Hour)})
				p := bearer(func(p *guard.Principal) {
					p.Subject, p.ClientID, p.IssuedAt = "other", "other", tc.iat
					if kind == store.RevokeUser {
						p.Subject = "id1"
					} else {
						p.ClientID = "id1"
					}
				})
				if got := s.Revoked(p); got != tc.want {
					t.Errorf("Revoked(iat=%s) after revocation at %s = %v, want %v",
						tc.iat.Format(time.RFC3339Nano), logout.Format(time.RFC3339Nano), got, tc.want)
				}
			})
		}
	}
}

// TestSetLaterLogoutWins: several "revoked before" times for one user keep
// the strongest in force until each expires.
func TestSetSinceSpans(t *testing.T) {
	c := newClock(t0)
	s := newTestSet(c)
	// A late logout that is remembered briefly, and an earlier one
	// remembered long: neither covers the other.
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u", At: t0.Add(10 * time.Second), ExpiresAt: t0.Add(time.Minute)})
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u", At: t0, ExpiresAt: t0.Add(time.Hour)})
	// Covered by the first: changes nothing.
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u", At: t0.Add(5 * time.Second), ExpiresAt: t0.Add(30 * time.Second)})
	if got := s.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2 (covered span dropped)", got)
	}
	p := func(iat time.Time) *guard.Principal {
		return bearer(func(p *guard.Principal) { p.Subject, p.IssuedAt = "u", iat.Truncate(time.Second) })
	}
	if !s.Revoked(p(t0.Add(8 * time.Second))) {
		t.Error("token issued between the two logouts: Revoked = false, want true")
	}
	c.Advance(2 * time.Minute) // the late logout expired
	if s.Revoked(p(t0.Add(8 * time.Second))) {
		t.Error("after the late logout expired: Revoked = true, want false")
	}
	if !s.Revoked(p(t0.Add(-time.Second))) {
		t.Error("token before the early logout: Revoked = false, want true")
	}
	// A logout covering everything replaces both.
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u", At: t0.Add(time.Minute), ExpiresAt: t0.Add(2 * time.Hour)})
	if got := s.Len(); got != 1 {
		t.Errorf("Len() after covering logout = %d, want 1", got)
	}
}

func TestSetExpiry(t *testing.T) {
	kinds := []struct {
		kind string
		p    *guard.Principal
	}{
		{store.RevokeToken, bearer(nil)},
		{store.RevokeFamily, bearer(nil)},
		{store.RevokeAPIKey, apiKey("fam1")},
		{store.RevokeKey, bearer(func(p *guard.Principal) { p.SigningKeyID = "fam1" })},
		{store.RevokeUser, bearer(func(p *guard.Principal) { p.Subject = "fam1" })},
		{store.RevokeClient, bearer(func(p *guard.Principal) { p.ClientID = "fam1" })},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			c := newClock(t0)
			s := newTestSet(c)
			value := "fam1"
			if k.kind == store.RevokeToken {
				value = k.p.TokenID
			}
			exp := t0.Add(time.Minute)
			s.Apply(store.Revocation{Kind: k.kind, Value: value, At: t0, ExpiresAt: exp})
			if !s.Revoked(k.p) {
				t.Fatal("Revoked = false right after Apply")
			}
			c.Advance(time.Minute - time.Nanosecond)
			if !s.Revoked(k.p) {
				t.Fatal("Revoked = false 1ns before expiry")
			}
			c.Advance(time.Nanosecond)
			if s.Revoked(k.p) {
				t.Fatal("Revoked = true at ExpiresAt")
			}
			if got := s.Len(); got != 1 {
				t.Errorf("Len() before sweep = %d, want 1", got)
			}
			if got := s.Sweep(); got != 1 {
				t.Errorf("Sweep() = %d, want 1", got)
			}
			if got := s.Len(); got != 0 {
				t.Errorf("Len() after sweep = %d, want 0", got)
			}
			// An entry that arrives already expired is ignored.
			s.Apply(store.Revocation{Kind: k.kind, Value: value, At: t0, ExpiresAt: exp})
			if s.Revoked(k.p) || s.Len() != 0 {
				t.Errorf("expired entry applied: Revoked = %v, Len = %d", s.Revoked(k.p), s.Len())
			}
		})
	}
}

func TestSetDuplicateKeepsLaterExpiry(t *testing.T) {
	c := newClock(t0)
	s := newTestSet(c)
	s.Apply(store.Revocation{Kind: store.RevokeToken, Value: "j", ExpiresAt: t0.Add(time.Hour)})
	s.Apply(store.Revocation{Kind: store.RevokeToken, Value: "j", ExpiresAt: t0.Add(time.Minute)})
	c.Advance(30 * time.Minute)
	p := bearer(func(p *guard.Principal) { p.TokenID = "j" })
	if !s.Revoked(p) {
		t.Error("shorter duplicate shortened the entry")
	}
	if got := s.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
}

// TestSetLenBounded: with a steady stream of short-lived entries, sweeping
// on insert keeps memory to the entries still in force.
func TestSetLenBounded(t *testing.T) {
	c := newClock(t0)
	s := newTestSet(c)
	const perMinute = 100
	for minute := range 60 {
		for i := range perMinute {
			s.Apply(store.Revocation{
				Kind: store.RevokeToken, Value: fmt.Sprintf("m%d-%d", minute, i),
				ExpiresAt: c.Now().Add(2 * time.Minute),
			})
			c.Advance(time.Minute / perMinute)
		}
		if got := s.Len(); got > 3*perMinute {
			t.Fatalf("minute %d: Len() = %d, want <= %d", minute, got, 3*perMinute)
		}
	}
	c.Advance(3 * time.Minute)
	s.Sweep()
	if got := s.Len(); got != 0 {
		t.Errorf("Len() after everything expired = %d, want 0", got)
	}
}

func TestSetEvents(t *testing.T) {
	c := newClock(t0)
	s := newTestSet(c)
	var got []store.Revocation
	s.OnEvent = func(r store.Revocation) { got = append(got, r) }
	ev := store.Revocation{Seq: 3, Kind: store.RevokeEvent, Value: "keys", ExpiresAt: t0.Add(time.Hour)}
	s.Apply(ev)
	s.Apply(ev) // a re-read: delivered once
	s.Apply(store.Revocation{Kind: store.RevokeEvent, Value: "local", ExpiresAt: t0.Add(time.Hour)})
	s.Apply(store.Revocation{Kind: store.RevokeEvent, Value: "local", ExpiresAt: t0.Add(time.Hour)})
	if len(got) != 3 || got[0].Value != "keys" || got[1].Value != "local" {
		t.Errorf("OnEvent got %+v, want keys once and local (Seq 0) twice", got)
	}
	if s.Len() != 0 {
		t.Errorf("Len() = %d, events are not revocations", s.Len())
	}
	if s.Revoked(bearer(func(p *guard.Principal) { p.TokenID = "keys" })) {
		t.Error("an event revoked a token")
	}
	if s.Cursor() != 3 {
		t.Errorf("Cursor() = %d, want 3", s.Cursor())
	}
	// The dedupe memory expires with the event.
	c.Advance(2 * time.Hour)
	s.Sweep()
	if n := len(s.events); n != 0 {
		t.Errorf("%d delivered events remembered after expiry", n)
	}
}

func TestSetCursorMonotonic(t *testing.T) {
	s := newTestSet(newClock(t0))
	for _, seq := range []int64{5, 9, 2, 9, 0} {
		s.Apply(store.Revocation{Seq: seq, Kind: store.RevokeToken, Value: "j", ExpiresAt: t0.Add(time.Hour)})
	}
	if got := s.Cursor(); got != 9 {
		t.Errorf("Cursor() = %d, want 9", got)
	}
}

func TestSetConcurrent(t *testing.T) {
	c := newClock(t0)
	s := newTestSet(c)
	var (
		wg   sync.WaitGroup
		seen atomic.Int64
	)
	const writers, perWriter = 4, 500
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				v := fmt.Sprintf("w%d-%d", w, i)
				s.Apply(store.Revocation{Seq: int64(w*perWriter + i + 1), Kind: store.RevokeToken, Value: v, ExpiresAt: t0.Add(time.Hour)})
				s.Apply(store.Revocation{Kind: store.RevokeUser, Value: v, At: t0, ExpiresAt: t0.Add(time.Hour)})
				if i%100 == 0 {
					c.Advance(time.Second)
					s.Sweep()
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
				if s.Revoked(p) {
					seen.Add(1)
				}
				_ = s.Len()
			}
		})
	}
	wg.Wait()
	for w := range writers {
		for i := range perWriter {
			v := fmt.Sprintf("w%d-%d", w, i)
			if !s.Revoked(bearer(func(p *guard.Principal) { p.TokenID = v; p.Subject = "none" })) {
				t.Fatalf("jti %s not revoked after concurrent Apply", v)
			}
		}
	}
	if got, want := s.Len(), 2*writers*perWriter; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	if got, want := s.Cursor(), int64(writers*perWriter); got != want {
		t.Errorf("Cursor() = %d, want %d", got, want)
	}
}

func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("jti=%d", n), func(b *testing.B) {
			s := &Set{Now: func() time.Time { return t0 }}
			for i := range n {
				s.Apply(store.Revocation{Kind: store.RevokeToken, Value: fmt.Sprintf("g%d.t%d", i, i), ExpiresAt: t0.Add(time.Hour)})
			}
			s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "someone-else", At: t0, ExpiresAt: t0.Add(time.Hour)})
			p := bearer(nil) // not listed: every lookup runs
			b.ReportAllocs()
			for b.Loop() {
				if s.Revoked(p) {
					b.Fatal("revoked")
				}
			}
		})
	}
}

func TestRevokedDoesNotAllocate(t *testing.T) {
	s := &Set{Now: func() time.Time { return t0 }}
	for i := range 1000 {
		s.Apply(store.Revocation{Kind: store.RevokeToken, Value: fmt.Sprintf("j%d", i), ExpiresAt: t0.Add(time.Hour)})
		s.Apply(store.Revocation{Kind: store.RevokeUser, Value: fmt.Sprintf("u%d", i), At: t0, ExpiresAt: t0.Add(time.Hour)})
	}
	p := bearer(func(p *guard.Principal) { p.TokenID = "fam.j5"; p.Subject = "u5" })
	if allocs := testing.AllocsPerRun(100, func() { s.Revoked(p) }); allocs != 0 {
		t.Errorf("Revoked allocates %v times per call, want 0", allocs)
	}
}

func TestNewSetUsesClock(t *testing.T) {
	c := newClock(t0)
	s := NewSet(c.Now)
	s.Apply(store.Revocation{Kind: store.RevokeToken, Value: "j", ExpiresAt: t0.Add(time.Minute)})
	p := bearer(func(p *guard.Principal) { p.TokenID = "j" })
	if !s.Revoked(p) {
		t.Fatal("Revoked = false before expiry")
	}
	c.Advance(time.Minute)
	if s.Revoked(p) {
		t.Error("Revoked = true after expiry on the injected clock")
	}
}

// TestSetLastCutoff: the latest "issued at or before" second in force for a
// user or a client, which an issuer must not mint a token in.
func TestSetLastCutoff(t *testing.T) {
	t0 := time.Date(2030, 5, 6, 12, 0, 0, 400_000_000, time.UTC)
	clk := newClock(t0)
	s := newTestSet(clk)
	if _, ok := s.LastCutoff("u1", "c1"); ok {
		t.Fatal("LastCutoff on an empty set reports a cutoff")
	}
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u1", At: t0, ExpiresAt: t0.Add(time.Hour)})
	s.Apply(store.Revocation{Kind: store.RevokeUser, Value: "u1", At: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)})
	s.Apply(store.Revocation{Kind: store.RevokeClient, Value: "c1", At: t0.Add(3 * time.Second), ExpiresAt: t0.Add(2 * time.Second)})
	s.Apply(store.Revocation{Kind: store.RevokeClient, Value: "c2", At: t0.Add(2 * time.Second), ExpiresAt: t0.Add(time.Hour)})
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
	clk.Advance(2100 * time.Millisecond) // c1 expired at t0+2s
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s.LastCutoff(tc.user, tc.client)
			if got != tc.want || ok != tc.ok {
				t.Errorf("LastCutoff(%q, %q) = %d, %v; want %d, %v", tc.user, tc.client, got, ok, tc.want, tc.ok)
			}
		})
	}
}
