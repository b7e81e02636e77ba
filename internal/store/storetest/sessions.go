package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSessions(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CRUD", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice")
		bob := mustCreateUser(t, s, "bob")
		mk := func(u store.User, label string) store.Session {
			sess := store.Session{Hash: hashOf("session-" + label), UserID: u.ID, AuthTime: at(0), CreatedAt: at(time.Second), ExpiresAt: at(time.Hour)}
			mustOK(t, "CreateSession", s.CreateSession(ctx, sess))
			return sess
		}
		a1, a2, b1 := mk(alice, "a1"), mk(alice, "a2"), mk(bob, "b1")

		got, err := s.GetSession(ctx, a1.Hash)
		mustOK(t, "GetSession", err)
		diff(t, "GetSession", normalized(a1), got)
		checkUTC(t, "GetSession", got)

		wantErr(t, "CreateSession(same hash)", s.CreateSession(ctx, a1), store.ErrConflict)
		wantErr(t, "CreateSession(unknown user)",
			s.CreateSession(ctx, store.Session{Hash: hashOf("x"), UserID: store.NewID(), AuthTime: at(0), CreatedAt: at(0), ExpiresAt: at(0)}),
			store.ErrNotFound)
		_, err = s.GetSession(ctx, hashOf("unknown"))
		wantErr(t, "GetSession(unknown)", err, store.ErrNotFound)

		mustOK(t, "DeleteSession", s.DeleteSession(ctx, a1.Hash))
		_, err = s.GetSession(ctx, a1.Hash)
		wantErr(t, "GetSession(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteSession(again)", s.DeleteSession(ctx, a1.Hash), store.ErrNotFound)

		mk(alice, "a3")
		mustOK(t, "DeleteUserSessions", s.DeleteUserSessions(ctx, alice.ID))
		for _, h := range [][]byte{a2.Hash, hashOf("session-a3")} {
			_, err = s.GetSession(ctx, h)
			wantErr(t, "GetSession(after DeleteUserSessions)", err, store.ErrNotFound)
		}
		_, err = s.GetSession(ctx, b1.Hash)
		mustOK(t, "GetSession(other user)", err)
		mustOK(t, "DeleteUserSessions(none left)", s.DeleteUserSessions(ctx, alice.ID))
	})
	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice")
		for i, exp := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour} {
			mustOK(t, "CreateSession", s.CreateSession(ctx, store.Session{Hash: hashOf(fmt.Sprint("s", i)), UserID: alice.ID,
				AuthTime: at(0), CreatedAt: at(0), ExpiresAt: at(exp)}))
		}
		n, err := collect(ctx, s, gcSessions, at(time.Hour))
		mustOK(t, "GarbageCollect (Sessions)", err)
		if n != 1 {
			t.Errorf("GarbageCollect (Sessions)(1h) = %d, want 1 (only the session that ended before)", n)
		}
		_, err = s.GetSession(ctx, hashOf("s0"))
		wantErr(t, "GetSession(expired)", err, store.ErrNotFound)
		for _, h := range []string{"s1", "s2"} {
			_, err := s.GetSession(ctx, hashOf(h))
			mustOK(t, "GetSession(live "+h+")", err)
		}
		n, err = collect(ctx, s, gcSessions, at(time.Hour))
		mustOK(t, "GarbageCollect (Sessions)(again)", err)
		if n != 0 {
			t.Errorf("GarbageCollect (Sessions)(again) = %d, want 0", n)
		}
	})
}
