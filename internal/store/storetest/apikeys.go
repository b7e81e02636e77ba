package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testAPIKeys(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		bare := newAPIKey(u.ID)
		full := newAPIKey(u.ID)
		full.RateLimit = "5/m"
		full.ExpiresAt = ptr(at(30 * 24 * time.Hour))
		full.LastUsedAt = ptr(at(time.Minute))
		full.RevokedAt = ptr(at(time.Hour))
		full.PrevHash = hashOf("previous")
		full.PrevExpiresAt = ptr(at(2 * time.Hour))
		for name, k := range map[string]store.APIKey{"nil pointers": bare, "set pointers": full} {
			mustOK(t, "CreateAPIKey "+name, s.CreateAPIKey(ctx, k))
			got, err := s.GetAPIKey(ctx, k.ID)
			mustOK(t, "GetAPIKey "+name, err)
			diff(t, "GetAPIKey "+name, normalized(k), got)
			checkUTC(t, "GetAPIKey "+name, got)
		}
		got, err := s.GetAPIKey(ctx, bare.ID)
		mustOK(t, "GetAPIKey", err)
		if got.ExpiresAt != nil || got.LastUsedAt != nil || got.RevokedAt != nil || got.PrevExpiresAt != nil || got.PrevHash != nil {
			t.Errorf("GetAPIKey(bare) = %+v, want nil pointers and PrevHash", got)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		k := newAPIKey(u.ID)
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		wantErr(t, "CreateAPIKey(same id)", s.CreateAPIKey(ctx, k), store.ErrConflict)
		wantErr(t, "CreateAPIKey(unknown user)", s.CreateAPIKey(ctx, newAPIKey(store.NewID())), store.ErrNotFound)
		_, err := s.GetAPIKey(ctx, store.NewID())
		wantErr(t, "GetAPIKey(unknown)", err, store.ErrNotFound)
		_, err = s.UpdateAPIKey(ctx, store.NewID(), func(k store.APIKey) (store.APIKey, error) { return k, nil })
		wantErr(t, "UpdateAPIKey(unknown)", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice")
		bob := mustCreateUser(t, s, "bob")
		var all, ofAlice []store.APIKey
		for i := range 5 {
			owner := alice
			if i%2 == 1 {
				owner = bob
			}
			k := newAPIKey(owner.ID)
			mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
			all = append(all, normalized(k))
			if owner.ID == alice.ID {
				ofAlice = append(ofAlice, normalized(k))
			}
		}
		byID := func(a, b store.APIKey) int { return strings.Compare(a.ID, b.ID) }
		slices.SortFunc(all, byID)
		slices.SortFunc(ofAlice, byID)

		tests := []struct {
			name        string
			user, after string
			limit       int
			want        []store.APIKey
		}{
			{"everyone", "", "", 0, all},
			{"everyone paged", "", all[1].ID, 2, all[2:4]},
			{"one user", alice.ID, "", 0, ofAlice},
			{"one user paged", alice.ID, ofAlice[0].ID, 1, ofAlice[1:2]},
			{"unknown user", store.NewID(), "", 0, nil},
		}
		for _, tc := range tests {
			got, err := s.ListAPIKeys(ctx, tc.user, tc.after, tc.limit)
			mustOK(t, "ListAPIKeys", err)
			diff(t, "ListAPIKeys "+tc.name, tc.want, got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		other := mustCreateUser(t, s, "bob")
		k := newAPIKey(u.ID)
		k.ExpiresAt = ptr(at(time.Hour))
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		got, err := s.UpdateAPIKey(ctx, k.ID, func(old store.APIKey) (store.APIKey, error) {
			// A rotation: new secret, old one kept for a grace period.
			old.PrevHash, old.Hash = old.Hash, hashOf("rotated")
			old.PrevExpiresAt = ptr(at(10 * time.Minute))
			old.ExpiresAt = nil
			old.RevokedAt = ptr(at(time.Minute))
			old.Scopes = []string{"admin", "read"}
			old.ID, old.UserID, old.CreatedAt = store.NewID(), other.ID, at(time.Hour)
			return old, nil
		})
		mustOK(t, "UpdateAPIKey", err)
		want := normalized(k)
		want.PrevHash, want.Hash = k.Hash, hashOf("rotated")
		want.PrevExpiresAt = ptr(store.Normalize(at(10 * time.Minute)))
		want.ExpiresAt = nil
		want.RevokedAt = ptr(store.Normalize(at(time.Minute)))
		want.Scopes = []string{"admin", "read"}
		diff(t, "UpdateAPIKey result", want, got)
		stored, err := s.GetAPIKey(ctx, k.ID)
		mustOK(t, "GetAPIKey", err)
		diff(t, "GetAPIKey after update", want, stored)

		_, err = s.UpdateAPIKey(ctx, k.ID, func(old store.APIKey) (store.APIKey, error) {
			old.Name = "never"
			return old, errFn
		})
		if err != errFn { //nolint:errorlint // must be unchanged
			t.Errorf("UpdateAPIKey error = %v, want fn's error unchanged", err)
		}
		stored, err = s.GetAPIKey(ctx, k.ID)
		mustOK(t, "GetAPIKey", err)
		diff(t, "GetAPIKey after aborted update", want, stored)
	})

	t.Run("Touch", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		fresh := newAPIKey(u.ID)
		used := newAPIKey(u.ID)
		used.LastUsedAt = ptr(at(time.Hour))
		for _, k := range []store.APIKey{fresh, used} {
			mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		}
		mustOK(t, "TouchAPIKeys(empty)", s.TouchAPIKeys(ctx, nil))
		mustOK(t, "TouchAPIKeys", s.TouchAPIKeys(ctx, map[string]time.Time{
			fresh.ID:      at(time.Minute),
			used.ID:       at(time.Minute), // older than stored: ignored
			store.NewID(): at(time.Minute), // unknown: ignored
		}))
		check := func(id string, want time.Time) {
			t.Helper()
			k, err := s.GetAPIKey(ctx, id)
			mustOK(t, "GetAPIKey", err)
			if k.LastUsedAt == nil || !k.LastUsedAt.Equal(store.Normalize(want)) {
				t.Errorf("LastUsedAt = %v, want %v", k.LastUsedAt, store.Normalize(want))
			}
		}
		check(fresh.ID, at(time.Minute))
		check(used.ID, at(time.Hour))
		mustOK(t, "TouchAPIKeys", s.TouchAPIKeys(ctx, map[string]time.Time{used.ID: at(2 * time.Hour)}))
		check(used.ID, at(2*time.Hour))
	})
}
