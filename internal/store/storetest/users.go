package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testUsers(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		got, err := s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		diff(t, "GetUser", normalized(u), got)
		checkUTC(t, "GetUser", got)
		got, err = s.GetUserByUsername(ctx, "alice")
		mustOK(t, "GetUserByUsername", err)
		diff(t, "GetUserByUsername", normalized(u), got)
	})

	t.Run("ZeroValues", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := store.User{ID: store.NewID(), Username: "bare", Scopes: []string{}, Admin: true, Disabled: true}
		mustOK(t, "CreateUser", s.CreateUser(ctx, u))
		got, err := s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		diff(t, "GetUser", normalized(u), got)
		if got.Scopes != nil {
			t.Errorf("Scopes = %#v, want nil for an empty list", got.Scopes)
		}
		if !got.CreatedAt.IsZero() {
			t.Errorf("CreatedAt = %v, want the zero time back", got.CreatedAt)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		mustCreateUser(t, s, "alice")
		_, err := s.GetUser(ctx, store.NewID())
		wantErr(t, "GetUser(unknown)", err, store.ErrNotFound)
		_, err = s.GetUserByUsername(ctx, "bob")
		wantErr(t, "GetUserByUsername(unknown)", err, store.ErrNotFound)
		_, err = s.GetUserByUsername(ctx, "ALICE")
		wantErr(t, "GetUserByUsername(other case)", err, store.ErrNotFound)
		called := false
		_, err = s.UpdateUser(ctx, store.NewID(), func(u store.User) (store.User, error) { called = true; return u, nil })
		wantErr(t, "UpdateUser(unknown)", err, store.ErrNotFound)
		if called {
			t.Error("UpdateUser(unknown) called fn")
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		dupID := newUser("other")
		dupID.ID = u.ID
		wantErr(t, "CreateUser(same id)", s.CreateUser(ctx, dupID), store.ErrConflict)
		wantErr(t, "CreateUser(same username)", s.CreateUser(ctx, newUser("alice")), store.ErrConflict)
		b := mustCreateUser(t, s, "bob")
		_, err := s.UpdateUser(ctx, b.ID, func(u store.User) (store.User, error) { u.Username = "alice"; return u, nil })
		wantErr(t, "UpdateUser(rename to taken)", err, store.ErrConflict)
		got, err := s.GetUser(ctx, b.ID)
		mustOK(t, "GetUser", err)
		if got.Username != "bob" {
			t.Errorf("Username after failed rename = %q, want bob", got.Username)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		names := []string{"mallory", "alice", "Zed", "bob", "carol", "dave", "_admin"}
		byName := map[string]store.User{}
		for _, n := range names {
			byName[n] = normalized(mustCreateUser(t, s, n))
		}
		// Byte order: upper case and '_' sort before lower case.
		order := []string{"Zed", "_admin", "alice", "bob", "carol", "dave", "mallory"}
		var want []store.User
		for _, n := range order {
			want = append(want, byName[n])
		}
		all, err := s.ListUsers(ctx, "", 0)
		mustOK(t, "ListUsers", err)
		diff(t, "ListUsers(all)", want, all)

		tests := []struct {
			name  string
			after string
			limit int
			want  []store.User
		}{
			{"first page", "", 3, want[:3]},
			{"after is exclusive", "alice", 2, want[3:5]},
			{"after a missing name", "b", 0, want[3:]},
			{"limit beyond end", "carol", 10, want[5:]},
			{"after the last", "mallory", 0, nil},
		}
		for _, tc := range tests {
			got, err := s.ListUsers(ctx, tc.after, tc.limit)
			mustOK(t, "ListUsers", err)
			diff(t, "ListUsers "+tc.name, tc.want, got)
		}

		// Walking the pages yields every user exactly once.
		var walked []store.User
		after := ""
		for range len(names) + 1 {
			page, err := s.ListUsers(ctx, after, 2)
			mustOK(t, "ListUsers", err)
			if len(page) == 0 {
				break
			}
			walked = append(walked, page...)
			after = page[len(page)-1].Username
		}
		diff(t, "paged ListUsers", want, walked)
	})

	t.Run("ListEmpty", func(t *testing.T) {
		got, err := open(t).ListUsers(t.Context(), "", 0)
		mustOK(t, "ListUsers", err)
		if len(got) != 0 {
			t.Errorf("ListUsers on an empty store = %v, want none", got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		var seen store.User
		got, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			seen = old
			old.Username = "alice2"
			old.PasswordHash = ""
			old.Scopes = nil
			old.Admin = true
			old.Disabled = true
			old.UpdatedAt = at(time.Hour)
			// Immutable fields: the store keeps the stored values.
			old.ID = store.NewID()
			old.CreatedAt = at(-time.Hour)
			return old, nil
		})
		mustOK(t, "UpdateUser", err)
		diff(t, "fn argument", normalized(u), seen)
		want := normalized(u)
		want.Username, want.PasswordHash, want.Scopes, want.Admin, want.Disabled = "alice2", "", nil, true, true
		want.UpdatedAt = store.Normalize(at(time.Hour))
		diff(t, "UpdateUser result", want, got)
		checkUTC(t, "UpdateUser result", got)
		stored, err := s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		diff(t, "GetUser after update", want, stored)
		if _, err := s.GetUserByUsername(ctx, "alice"); err == nil {
			t.Error("old username still resolves after rename")
		}
		all, err := s.ListUsers(ctx, "", 0)
		mustOK(t, "ListUsers", err)
		if len(all) != 1 {
			t.Errorf("ListUsers after update: %d users, want 1 (ID must not change)", len(all))
		}
	})

	t.Run("LockedUntil", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := newUser("alice")
		u.LockedUntil = ptr(at(15 * time.Minute))
		mustOK(t, "CreateUser", s.CreateUser(ctx, u))
		got, err := s.GetUserByUsername(ctx, "alice")
		mustOK(t, "GetUserByUsername", err)
		diff(t, "user created locked", normalized(u), got)
		checkUTC(t, "user created locked", got)
		got, err = s.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) { x.LockedUntil = nil; return x, nil })
		mustOK(t, "UpdateUser(unlock)", err)
		if got.LockedUntil != nil {
			t.Errorf("LockedUntil after unlock = %v, want nil", got.LockedUntil)
		}
		later := at(time.Hour)
		_, err = s.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) { x.LockedUntil = &later; return x, nil })
		mustOK(t, "UpdateUser(lock)", err)
		got, err = s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		if got.LockedUntil == nil || !got.LockedUntil.Equal(store.Normalize(later)) {
			t.Errorf("LockedUntil after lock = %v, want %v", got.LockedUntil, store.Normalize(later))
		}
		checkUTC(t, "locked user", got)
	})

	t.Run("UpdateFnError", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		_, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			old.Username = "changed"
			old.Admin = true
			return old, errFn
		})
		if err != errFn { //nolint:errorlint // the error must come back unchanged, not wrapped
			t.Errorf("UpdateUser error = %v, want fn's error unchanged", err)
		}
		got, err := s.GetUser(ctx, u.ID)
		mustOK(t, "GetUser", err)
		diff(t, "user after aborted update", normalized(u), got)
	})
}
