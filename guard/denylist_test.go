package guard_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// denyModel is the obvious, slow deny list the fuzz test compares against.
type denyModel []guard.FeedEntry

func (m denyModel) revoked(p *guard.Principal, now time.Time) bool {
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
		family, _, hasFamily := strings.Cut(p.TokenID, ".")
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
				if e.Kind != "future" && e.Value != "" && c.Now().Before(e.ExpiresAt) {
					model = append(model, e)
				}
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

func BenchmarkDenyListRevoked(b *testing.B) {
	for _, n := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			d := guard.NewDenyList(func() time.Time { return testNow })
			for i := range n {
				d.Apply(guard.FeedEntry{Kind: guard.RevokeToken, Value: fmt.Sprintf("f%d.t%d", i, i), ExpiresAt: testNow.Add(time.Hour)})
			}
			p := &guard.Principal{Method: guard.MethodBearer, TokenID: "fam.tok", Subject: "u", ClientID: "c", SigningKeyID: "k", IssuedAt: testNow}
			b.ReportAllocs()
			for b.Loop() {
				if d.Revoked(p) {
					b.Fatal("revoked")
				}
			}
		})
	}
}
