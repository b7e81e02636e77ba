package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testRefreshTokens(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		rt := newRefreshToken(u.ID, "fam", "1")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		got, err := s.GetRefreshToken(ctx, rt.Hash)
		mustOK(t, "GetRefreshToken", err)
		diff(t, "GetRefreshToken", normalized(rt), got)
		checkUTC(t, "GetRefreshToken", got)
		if got.UsedAt != nil || got.RevokedAt != nil || got.SuccessorHash != nil {
			t.Errorf("GetRefreshToken = %+v, want nil UsedAt, RevokedAt, SuccessorHash", got)
		}
		wantErr(t, "CreateRefreshToken(same hash)", s.CreateRefreshToken(ctx, rt), store.ErrConflict)
		wantErr(t, "CreateRefreshToken(unknown user)",
			s.CreateRefreshToken(ctx, newRefreshToken(store.NewID(), "fam2", "2")), store.ErrNotFound)
		_, err = s.GetRefreshToken(ctx, hashOf("unknown"))
		wantErr(t, "GetRefreshToken(unknown)", err, store.ErrNotFound)
	})

	t.Run("Rotate", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		first := newRefreshToken(u.ID, "fam", "1")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, first))

		second := newRefreshToken(u.ID, "fam", "2")
		second.CreatedAt, second.IdleExpires = at(time.Minute), at(time.Hour+time.Minute)
		now := at(time.Minute)
		got, err := s.RotateRefreshToken(ctx, first.Hash, second, now)
		mustOK(t, "RotateRefreshToken", err)
		wantOld := normalized(first)
		wantOld.UsedAt = ptr(store.Normalize(now))
		wantOld.SuccessorHash = second.Hash
		diff(t, "RotateRefreshToken result (the old link)", wantOld, got)
		stored, err := s.GetRefreshToken(ctx, first.Hash)
		mustOK(t, "GetRefreshToken(old)", err)
		diff(t, "old link after rotation", wantOld, stored)
		stored, err = s.GetRefreshToken(ctx, second.Hash)
		mustOK(t, "GetRefreshToken(next)", err)
		diff(t, "next link after rotation", normalized(second), stored)

		// Reusing the old link: ErrUsed with the stored record, nothing inserted.
		third := newRefreshToken(u.ID, "fam", "3")
		got, err = s.RotateRefreshToken(ctx, first.Hash, third, at(2*time.Minute))
		wantErr(t, "RotateRefreshToken(reuse)", err, store.ErrUsed)
		diff(t, "RotateRefreshToken(reuse) record", wantOld, got)
		_, err = s.GetRefreshToken(ctx, third.Hash)
		wantErr(t, "GetRefreshToken(successor of a reuse)", err, store.ErrNotFound)

		// The chain goes on from the live link.
		_, err = s.RotateRefreshToken(ctx, second.Hash, third, at(3*time.Minute))
		mustOK(t, "RotateRefreshToken(second)", err)

		_, err = s.RotateRefreshToken(ctx, hashOf("unknown"), newRefreshToken(u.ID, "fam", "4"), now)
		wantErr(t, "RotateRefreshToken(unknown)", err, store.ErrNotFound)
	})

	t.Run("RotateMismatch", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		other := mustCreateUser(t, s, "bob")
		first := newRefreshToken(u.ID, "fam", "1")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, first))
		tests := []struct {
			name   string
			change func(*store.RefreshToken)
		}{
			{"family", func(rt *store.RefreshToken) { rt.FamilyID = "other-family" }},
			{"user", func(rt *store.RefreshToken) { rt.UserID = other.ID }},
			{"client", func(rt *store.RefreshToken) { rt.ClientID = "other-client" }},
		}
		for _, tc := range tests {
			next := newRefreshToken(u.ID, "fam", "next-"+tc.name)
			tc.change(&next)
			_, err := s.RotateRefreshToken(ctx, first.Hash, next, at(time.Minute))
			if err == nil || errors.Is(err, store.ErrUsed) || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("RotateRefreshToken(other %s) error = %v, want a plain error", tc.name, err)
			}
			_, err = s.GetRefreshToken(ctx, next.Hash)
			wantErr(t, "GetRefreshToken(refused successor, other "+tc.name+")", err, store.ErrNotFound)
		}
		stored, err := s.GetRefreshToken(ctx, first.Hash)
		mustOK(t, "GetRefreshToken", err)
		diff(t, "old link after refused rotations", normalized(first), stored)
	})

	t.Run("RevokeFamily", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		a1 := newRefreshToken(u.ID, "famA", "a1")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, a1))
		a2 := newRefreshToken(u.ID, "famA", "a2")
		_, err := s.RotateRefreshToken(ctx, a1.Hash, a2, at(time.Second))
		mustOK(t, "RotateRefreshToken", err)
		b1 := newRefreshToken(u.ID, "famB", "b1")
		mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, b1))

		n, err := s.RevokeRefreshFamily(ctx, "famA", at(time.Minute))
		mustOK(t, "RevokeRefreshFamily", err)
		if n != 2 {
			t.Errorf("RevokeRefreshFamily() = %d, want 2", n)
		}
		for _, h := range [][]byte{a1.Hash, a2.Hash} {
			got, err := s.GetRefreshToken(ctx, h)
			mustOK(t, "GetRefreshToken", err)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(store.Normalize(at(time.Minute))) {
				t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, store.Normalize(at(time.Minute)))
			}
		}
		got, err := s.GetRefreshToken(ctx, b1.Hash)
		mustOK(t, "GetRefreshToken", err)
		if got.RevokedAt != nil {
			t.Errorf("other family revoked: RevokedAt = %v", got.RevokedAt)
		}
		// Revoking again keeps the first time and counts nothing.
		n, err = s.RevokeRefreshFamily(ctx, "famA", at(time.Hour))
		mustOK(t, "RevokeRefreshFamily(again)", err)
		if n != 0 {
			t.Errorf("RevokeRefreshFamily(again) = %d, want 0", n)
		}
		// A revoked live link cannot be rotated.
		a3 := newRefreshToken(u.ID, "famA", "a3")
		got, err = s.RotateRefreshToken(ctx, a2.Hash, a3, at(2*time.Minute))
		wantErr(t, "RotateRefreshToken(revoked)", err, store.ErrUsed)
		if got.RevokedAt == nil || got.UsedAt != nil {
			t.Errorf("RotateRefreshToken(revoked) record = %+v, want RevokedAt set and UsedAt nil", got)
		}
		_, err = s.GetRefreshToken(ctx, a3.Hash)
		wantErr(t, "GetRefreshToken(successor of revoked)", err, store.ErrNotFound)
	})

	t.Run("RevokeByUserAndClient", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice")
		bob := mustCreateUser(t, s, "bob")
		mk := func(u store.User, client, label string) store.RefreshToken {
			rt := newRefreshToken(u.ID, "fam-"+label, label)
			rt.ClientID = client
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
			return rt
		}
		aliceX := mk(alice, "x", "1")
		aliceY := mk(alice, "y", "2")
		bobX := mk(bob, "x", "3")
		bobY := mk(bob, "y", "4")

		if _, err := s.RevokeRefreshTokens(ctx, "", "", at(0)); err == nil {
			t.Error("RevokeRefreshTokens with no filter: error = nil, want an error")
		}
		tests := []struct {
			name         string
			user, client string
			want         int64
			revoked      [][]byte
		}{
			{"user and client", alice.ID, "x", 1, [][]byte{aliceX.Hash}},
			{"client", "", "y", 2, [][]byte{aliceX.Hash, aliceY.Hash, bobY.Hash}},
			{"user", bob.ID, "", 1, [][]byte{aliceX.Hash, aliceY.Hash, bobY.Hash, bobX.Hash}},
		}
		for _, tc := range tests {
			n, err := s.RevokeRefreshTokens(ctx, tc.user, tc.client, at(time.Minute))
			mustOK(t, "RevokeRefreshTokens "+tc.name, err)
			if n != tc.want {
				t.Errorf("RevokeRefreshTokens %s = %d, want %d", tc.name, n, tc.want)
			}
			revoked := map[string]bool{}
			for _, h := range tc.revoked {
				revoked[string(h)] = true
			}
			for _, rt := range []store.RefreshToken{aliceX, aliceY, bobX, bobY} {
				got, err := s.GetRefreshToken(ctx, rt.Hash)
				mustOK(t, "GetRefreshToken", err)
				if (got.RevokedAt != nil) != revoked[string(rt.Hash)] {
					t.Errorf("after %s: token %s revoked = %v, want %v", tc.name, rt.FamilyID, got.RevokedAt != nil, revoked[string(rt.Hash)])
				}
			}
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		dead := newRefreshToken(u.ID, "dead", "dead")
		dead.ExpiresAt = at(-time.Second)
		idle := newRefreshToken(u.ID, "idle", "idle") // idle deadline passed, family alive: kept
		idle.IdleExpires = at(-time.Second)
		live := newRefreshToken(u.ID, "live", "live")
		for _, rt := range []store.RefreshToken{dead, idle, live} {
			mustOK(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		}
		n, err := collect(ctx, s, gcRefreshTokens, at(0))
		mustOK(t, "GarbageCollect (RefreshTokens)", err)
		if n != 1 {
			t.Errorf("GarbageCollect (RefreshTokens)() = %d, want 1", n)
		}
		_, err = s.GetRefreshToken(ctx, dead.Hash)
		wantErr(t, "GetRefreshToken(deleted)", err, store.ErrNotFound)
		for _, rt := range []store.RefreshToken{idle, live} {
			_, err := s.GetRefreshToken(ctx, rt.Hash)
			mustOK(t, "GetRefreshToken(kept "+rt.FamilyID+")", err)
		}
	})
}
