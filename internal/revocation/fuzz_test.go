package revocation

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// model is the trivial reference: every entry ever applied, scanned in full.
type model struct{ entries []store.Revocation }

func (m *model) live(now time.Time) int {
	n := 0
	for _, e := range m.entries {
		if now.Before(e.ExpiresAt) {
			n++
		}
	}
	return n
}

func (m *model) revoked(p *guard.Principal, now time.Time) bool {
	family, _, hasFamily := strings.Cut(p.TokenID, ".")
	for _, e := range m.entries {
		if !now.Before(e.ExpiresAt) {
			continue
		}
		var hit bool
		if p.Method == guard.MethodAPIKey {
			hit = e.Kind == store.RevokeAPIKey && e.Value == p.KeyID
		} else {
			switch e.Kind {
			case store.RevokeToken:
				hit = e.Value == p.TokenID
			case store.RevokeFamily:
				hit = hasFamily && e.Value == family
			case store.RevokeKey:
				hit = e.Value == p.SigningKeyID
			case store.RevokeUser:
				hit = e.Value == p.Subject && p.IssuedAt.Unix() <= e.At.Unix()
			case store.RevokeClient:
				hit = e.Value == p.ClientID && p.IssuedAt.Unix() <= e.At.Unix()
			}
		}
		if hit {
			return true
		}
	}
	return false
}

var fuzzKinds = [...]string{store.RevokeToken, store.RevokeFamily, store.RevokeAPIKey, store.RevokeKey, store.RevokeUser, store.RevokeClient}

var fuzzValues = [...]string{"v0", "v1", "v2"}

var fuzzTokenIDs = [...]string{"v0", "v1", "v0.x", "v1.y", "v2.v0", ""}

// FuzzSetExpiry runs random sequences of apply, advance-time, check and
// sweep against the reference model: a credential is reported revoked iff a
// matching entry was applied and has not expired.
func FuzzSetExpiry(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 0, 8, 2, 0, 0, 0, 0, 1, 12, 2, 0, 0, 0, 0})
	f.Add([]byte{0, 4, 1, 2, 5, 6, 0, 4, 1, 6, 1, 2, 2, 2, 1, 1, 4, 1, 15, 2, 2, 1, 1, 4, 3})
	f.Add([]byte{0, 5, 2, 1, 200, 15, 0, 1, 0, 0, 0, 3, 1, 15, 3, 2, 3, 0, 2, 1, 1})
	f.Add([]byte{0, 2, 1, 0, 0, 9, 2, 1, 1, 0, 0, 0, 1, 9, 3, 2, 1, 1, 0, 0, 0})
	f.Fuzz(runSetOps)
}

func runSetOps(t *testing.T, ops []byte) {
	{
		base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		c := newClock(base.Add(3 * time.Second))
		s := newTestSet(c)
		var m model
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
				e := store.Revocation{
					Kind:  fuzzKinds[int(next())%len(fuzzKinds)],
					Value: fuzzValues[int(next())%len(fuzzValues)],
					// anywhere in 8 s around the start, to the microsecond
					At: base.Add(time.Duration(next()%8)*time.Second + time.Duration(next())*3906*time.Microsecond),
				}
				e.ExpiresAt = c.Now().Add(time.Duration(next()%16) * 250 * time.Millisecond)
				s.Apply(e)
				m.entries = append(m.entries, e)
			case 1: // advance
				c.Advance(time.Duration(next()%16)*250*time.Millisecond + time.Duration(next()%2)*time.Nanosecond)
			case 2: // check
				p := &guard.Principal{
					Method:       guard.MethodBearer,
					TokenID:      fuzzTokenIDs[int(next())%len(fuzzTokenIDs)],
					KeyID:        fuzzValues[int(next())%len(fuzzValues)],
					SigningKeyID: fuzzValues[int(next())%len(fuzzValues)],
					Subject:      fuzzValues[int(next())%len(fuzzValues)],
					ClientID:     fuzzValues[int(next())%len(fuzzValues)],
					IssuedAt:     base.Add(time.Duration(next()%10) * time.Second),
				}
				if next()%2 == 1 {
					p.Method = guard.MethodAPIKey
				}
				now := c.Now()
				if got, want := s.Revoked(p), m.revoked(p, now); got != want {
					t.Fatalf("at +%s Revoked(%+v) = %v, model says %v; entries %+v", now.Sub(base), p, got, want, m.entries)
				}
			case 3: // sweep
				s.Sweep()
				live := m.live(c.Now())
				if got := s.Len(); got > live || (got == 0) != (live == 0) {
					t.Fatalf("after Sweep Len() = %d, model has %d live entries", got, live)
				}
			}
		}
	}
}
