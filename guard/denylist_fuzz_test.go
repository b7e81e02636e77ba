package guard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// denyModel is the obvious, slow deny list the fuzzers compare against:
// every entry ever applied, scanned in full.
type denyModel []guard.FeedEntry

func (m denyModel) live(now time.Time) int {
	n := 0
	for _, e := range m {
		if e.Value != "" && now.Before(e.ExpiresAt) {
			n++
		}
	}
	return n
}

func (m denyModel) revoked(p *guard.Principal, now time.Time) bool {
	family, _, hasFamily := strings.Cut(p.TokenID, ".")
	for _, e := range m {
		if e.Value == "" || !now.Before(e.ExpiresAt) {
			continue
		}
		if p.Method == guard.MethodAPIKey {
			if e.Kind == guard.RevokeAPIKey && e.Value == p.KeyID {
				return true
			}
			continue
		}
		switch {
		case e.Kind == guard.RevokeToken && e.Value == p.TokenID,
			e.Kind == guard.RevokeFamily && hasFamily && e.Value == family,
			e.Kind == guard.RevokeKey && e.Value == p.SigningKeyID,
			e.Kind == guard.RevokeUser && e.Value == p.Subject && p.IssuedAt.Unix() <= e.At.Unix(),
			e.Kind == guard.RevokeClient && e.Value == p.ClientID && p.IssuedAt.Unix() <= e.At.Unix():
			return true
		}
	}
	return false
}

// FuzzDenyListExpiry applies a byte-driven sequence of entries, clock
// advances and sweeps, and checks after every step that the deny list
// agrees with the model for every probe, and that once everything has
// expired a sweep leaves nothing behind.
func FuzzDenyListExpiry(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 10, 4, 5, 6, 7, 200, 1})
	f.Add([]byte{4, 0, 0, 9, 4, 0, 5, 2, 255, 255, 2, 4, 0, 7, 30})
	f.Add([]byte{5, 1, 3, 1, 0, 2, 2, 2, 2, 2, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := newClock(testNow)
		d := guard.NewDenyList(c.Now)
		var model denyModel
		kinds := []string{guard.RevokeToken, guard.RevokeFamily, guard.RevokeAPIKey, guard.RevokeKey, guard.RevokeUser, guard.RevokeClient, "future"}
		values := []string{"a", "b", "a.x", ""}
		var probes []*guard.Principal
		for _, v := range values {
			for _, iat := range []time.Duration{-time.Minute, 0, 3 * time.Second, time.Minute} {
				probes = append(probes,
					&guard.Principal{Method: guard.MethodBearer, TokenID: v, Subject: v, ClientID: v, SigningKeyID: v, IssuedAt: testNow.Add(iat)},
					&guard.Principal{Method: guard.MethodBearer, TokenID: v + ".t", Subject: "s", IssuedAt: testNow.Add(iat)},
					&guard.Principal{Method: guard.MethodAPIKey, KeyID: v, Subject: v, IssuedAt: testNow.Add(iat)})
			}
		}
		for i := 0; i+2 < len(ops); i += 3 {
			op, a, b := ops[i], ops[i+1], ops[i+2]
			switch op % 4 {
			case 0, 1: // apply
				e := guard.FeedEntry{
					Kind: kinds[int(a)%len(kinds)], Value: values[int(a/8)%len(values)],
					At:        c.Now().Add(time.Duration(int(b%16)-8) * time.Second),
					ExpiresAt: c.Now().Add(time.Duration(int(b/16)-2) * 10 * time.Second),
				}
				d.Apply(e)
				model = append(model, e)
			case 2:
				c.Advance(time.Duration(a) * time.Second / 4)
			case 3:
				d.Sweep()
			}
			now := c.Now()
			for _, p := range probes {
				if got, want := d.Revoked(p), model.revoked(p, now); got != want {
					t.Fatalf("after op %d: Revoked(%+v) = %v, model says %v", i/3, p, got, want)
				}
			}
		}
		c.Advance(time.Hour)
		d.Sweep()
		if n := d.Len(); n != 0 {
			t.Errorf("Len() after everything expired and a sweep = %d, want 0", n)
		}
		if d.Revoked(nil) != true {
			t.Error("Revoked(nil) = false")
		}
	})
}

// FuzzDenyListSequence runs random sequences of apply, advance-time, check
// and sweep against the model, with revocation times to the microsecond
// around second boundaries: a credential is reported revoked iff a
// matching entry was applied and has not expired, and a sweep keeps no
// more entries than are live.
func FuzzDenyListSequence(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 0, 8, 2, 0, 0, 0, 0, 1, 12, 2, 0, 0, 0, 0})
	f.Add([]byte{0, 4, 1, 2, 5, 6, 0, 4, 1, 6, 1, 2, 2, 2, 1, 1, 4, 1, 15, 2, 2, 1, 1, 4, 3})
	f.Add([]byte{0, 5, 2, 1, 200, 15, 0, 1, 0, 0, 0, 3, 1, 15, 3, 2, 3, 0, 2, 1, 1})
	f.Add([]byte{0, 2, 1, 0, 0, 9, 2, 1, 1, 0, 0, 0, 1, 9, 3, 2, 1, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		kinds := []string{guard.RevokeToken, guard.RevokeFamily, guard.RevokeAPIKey, guard.RevokeKey, guard.RevokeUser, guard.RevokeClient}
		values := []string{"v0", "v1", "v2"}
		tokenIDs := []string{"v0", "v1", "v0.x", "v1.y", "v2.v0", ""}
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		c := newClock(base.Add(3 * time.Second))
		d := guard.NewDenyList(c.Now)
		var m denyModel
		next := func() byte {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return b
		}
		for len(ops) > 0 {
			switch next() % 4 {
			case 0: // apply
				e := guard.FeedEntry{
					Kind:  kinds[int(next())%len(kinds)],
					Value: values[int(next())%len(values)],
					// anywhere in 8 s around the start, to the microsecond
					At: base.Add(time.Duration(next()%8)*time.Second + time.Duration(next())*3906*time.Microsecond),
				}
				e.ExpiresAt = c.Now().Add(time.Duration(next()%16) * 250 * time.Millisecond)
				d.Apply(e)
				m = append(m, e)
			case 1: // advance
				c.Advance(time.Duration(next()%16)*250*time.Millisecond + time.Duration(next()%2)*time.Nanosecond)
			case 2: // check
				p := &guard.Principal{
					Method:       guard.MethodBearer,
					TokenID:      tokenIDs[int(next())%len(tokenIDs)],
					KeyID:        values[int(next())%len(values)],
					SigningKeyID: values[int(next())%len(values)],
					Subject:      values[int(next())%len(values)],
					ClientID:     values[int(next())%len(values)],
					IssuedAt:     base.Add(time.Duration(next()%10) * time.Second),
				}
				if next()%2 == 1 {
					p.Method = guard.MethodAPIKey
				}
				now := c.Now()
				if got, want := d.Revoked(p), m.revoked(p, now); got != want {
					t.Fatalf("at +%s Revoked(%+v) = %v, model says %v; entries %+v", now.Sub(base), p, got, want, m)
				}
			case 3: // sweep
				d.Sweep()
				live := m.live(c.Now())
				if got := d.Len(); got > live || (got == 0) != (live == 0) {
					t.Fatalf("after Sweep Len() = %d, model has %d live entries", got, live)
				}
			}
		}
	})
}
