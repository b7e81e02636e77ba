package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

func testRevocations(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("AddList", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		var added []store.Revocation
		for i, kind := range []string{guard.RevokeToken, guard.RevokeFamily, guard.RevokeAPIKey, guard.RevokeUser, guard.RevokeEvent} {
			r := store.Revocation{
				Seq:       1000, // ignored
				Kind:      kind,
				Value:     "v" + kind,
				At:        at(time.Duration(i) * time.Second),
				ExpiresAt: at(time.Duration(i+1) * time.Hour),
				CreatedAt: at(time.Duration(i) * time.Second),
			}
			got, err := s.AddRevocation(ctx, r)
			mustOK(t, "AddRevocation", err)
			if len(added) > 0 && got.Seq <= added[len(added)-1].Seq {
				t.Errorf("AddRevocation Seq = %d after %d, want strictly increasing", got.Seq, added[len(added)-1].Seq)
			}
			want := normalized(r)
			want.Seq = got.Seq
			diff(t, "AddRevocation result", want, got)
			checkUTC(t, "AddRevocation", got)
			added = append(added, got)
		}
		tests := []struct {
			name  string
			after int64
			now   time.Time
			limit int
			want  []store.Revocation
		}{
			{"all", 0, at(0), 0, added},
			{"after cursor", added[1].Seq, at(0), 0, added[2:]},
			{"limit", 0, at(0), 2, added[:2]},
			{"cursor and limit", added[0].Seq, at(0), 2, added[1:3]},
			{"expired entries left out", 0, at(2 * time.Hour), 0, added[2:]},
			{"expiry is exclusive", 0, at(time.Hour), 0, added[1:]},
			{"after the last", added[4].Seq, at(0), 0, nil},
		}
		for _, tc := range tests {
			got, err := s.ListRevocations(ctx, tc.after, tc.now, tc.limit)
			mustOK(t, "ListRevocations "+tc.name, err)
			diff(t, "ListRevocations "+tc.name, tc.want, got)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		var added []store.Revocation
		for i := range 3 {
			r, err := s.AddRevocation(ctx, store.Revocation{
				Kind: guard.RevokeToken, Value: "jti", At: at(0), ExpiresAt: at(time.Duration(i+1) * time.Hour), CreatedAt: at(0),
			})
			mustOK(t, "AddRevocation", err)
			added = append(added, r)
		}
		n, err := collect(ctx, s, gcRevocations, at(2*time.Hour))
		mustOK(t, "GarbageCollect (Revocations)", err)
		if n != 2 {
			t.Errorf("GarbageCollect (Revocations)() = %d, want 2", n)
		}
		got, err := s.ListRevocations(ctx, 0, at(0), 0)
		mustOK(t, "ListRevocations", err)
		diff(t, "ListRevocations after cleanup", added[2:], got)

		// Seq is a cursor: it must never be reused, even once the newest
		// entry is gone.
		_, err = collect(ctx, s, gcRevocations, at(24*time.Hour))
		mustOK(t, "GarbageCollect (Revocations)(all)", err)
		r, err := s.AddRevocation(ctx, store.Revocation{Kind: guard.RevokeUser, Value: "u", At: at(0), ExpiresAt: at(time.Hour), CreatedAt: at(0)})
		mustOK(t, "AddRevocation", err)
		if r.Seq <= added[2].Seq {
			t.Errorf("Seq after deleting every entry = %d, want > %d", r.Seq, added[2].Seq)
		}
	})
}
