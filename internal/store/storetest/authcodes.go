package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testAuthCodes(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Consume", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		c := newAuthCode(u.ID, "1")
		mustOK(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))

		now := at(10 * time.Second)
		got, err := s.ConsumeAuthCode(ctx, c.Hash, now)
		mustOK(t, "ConsumeAuthCode", err)
		want := normalized(c)
		want.UsedAt = ptr(store.Normalize(now))
		diff(t, "ConsumeAuthCode", want, got)
		checkUTC(t, "ConsumeAuthCode", got)

		// A replay gets the stored record, still marked with the first use.
		got, err = s.ConsumeAuthCode(ctx, c.Hash, at(20*time.Second))
		wantErr(t, "ConsumeAuthCode(replay)", err, store.ErrUsed)
		diff(t, "ConsumeAuthCode(replay) record", want, got)

		_, err = s.ConsumeAuthCode(ctx, hashOf("unknown"), now)
		wantErr(t, "ConsumeAuthCode(unknown)", err, store.ErrNotFound)
	})

	t.Run("CreateErrors", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		c := newAuthCode(u.ID, "1")
		mustOK(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))
		wantErr(t, "CreateAuthCode(same hash)", s.CreateAuthCode(ctx, c), store.ErrConflict)
		wantErr(t, "CreateAuthCode(unknown user)", s.CreateAuthCode(ctx, newAuthCode(store.NewID(), "2")), store.ErrNotFound)
	})

	t.Run("CreateUsed", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		c := newAuthCode(u.ID, "1")
		c.UsedAt = ptr(at(0))
		c.Scopes, c.Nonce, c.CodeChallenge, c.CodeChallengeMethod = nil, "", "", ""
		mustOK(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))
		got, err := s.ConsumeAuthCode(ctx, c.Hash, at(time.Second))
		wantErr(t, "ConsumeAuthCode(created used)", err, store.ErrUsed)
		diff(t, "ConsumeAuthCode(created used) record", normalized(c), got)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		old := newAuthCode(u.ID, "old")
		old.ExpiresAt = at(-time.Second)
		edge := newAuthCode(u.ID, "edge")
		edge.ExpiresAt = at(0)
		live := newAuthCode(u.ID, "live")
		for _, c := range []store.AuthCode{old, edge, live} {
			mustOK(t, "CreateAuthCode", s.CreateAuthCode(ctx, c))
		}
		n, err := collect(ctx, s, gcAuthCodes, at(0))
		mustOK(t, "GarbageCollect (AuthCodes)", err)
		if n != 1 {
			t.Errorf("GarbageCollect (AuthCodes)() = %d, want 1 (only codes that expired before now)", n)
		}
		_, err = s.ConsumeAuthCode(ctx, old.Hash, at(0))
		wantErr(t, "ConsumeAuthCode(deleted)", err, store.ErrNotFound)
		for _, c := range []store.AuthCode{edge, live} {
			_, err := s.ConsumeAuthCode(ctx, c.Hash, at(0))
			mustOK(t, "ConsumeAuthCode(kept)", err)
		}
		n, err = collect(ctx, s, gcAuthCodes, at(0))
		mustOK(t, "GarbageCollect (AuthCodes)", err)
		if n != 0 {
			t.Errorf("GarbageCollect (AuthCodes)() again = %d, want 0", n)
		}
	})
}
