package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testConsents(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		u := mustCreateUser(t, s, "alice")
		mustCreateClient(t, s, "app")
		c := store.Consent{UserID: u.ID, ClientID: "app", Scopes: []string{"openid", "read"}, CreatedAt: at(0)}
		mustOK(t, "PutConsent", s.PutConsent(ctx, c))
		got, err := s.GetConsent(ctx, u.ID, "app")
		mustOK(t, "GetConsent", err)
		diff(t, "GetConsent", normalized(c), got)
		checkUTC(t, "GetConsent", got)

		// Put replaces.
		c2 := store.Consent{UserID: u.ID, ClientID: "app", Scopes: nil, CreatedAt: at(time.Hour)}
		mustOK(t, "PutConsent(replace)", s.PutConsent(ctx, c2))
		got, err = s.GetConsent(ctx, u.ID, "app")
		mustOK(t, "GetConsent", err)
		diff(t, "GetConsent after replace", normalized(c2), got)

		_, err = s.GetConsent(ctx, u.ID, "other")
		wantErr(t, "GetConsent(unknown client)", err, store.ErrNotFound)
		wantErr(t, "PutConsent(unknown client)",
			s.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: "nope", CreatedAt: at(0)}), store.ErrNotFound)
		wantErr(t, "PutConsent(unknown user)",
			s.PutConsent(ctx, store.Consent{UserID: store.NewID(), ClientID: "app", CreatedAt: at(0)}), store.ErrNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		alice := mustCreateUser(t, s, "alice")
		bob := mustCreateUser(t, s, "bob")
		mustCreateClient(t, s, "x")
		mustCreateClient(t, s, "y")
		put := func() {
			for _, u := range []store.User{alice, bob} {
				for _, c := range []string{"x", "y"} {
					mustOK(t, "PutConsent", s.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: c, Scopes: []string{"read"}, CreatedAt: at(0)}))
				}
			}
		}
		type pair struct{ user, client string }
		tests := []struct {
			name         string
			user, client string
			gone         []pair
		}{
			{"user and client", alice.ID, "x", []pair{{alice.ID, "x"}}},
			{"user", alice.ID, "", []pair{{alice.ID, "x"}, {alice.ID, "y"}}},
			{"client", "", "y", []pair{{alice.ID, "y"}, {bob.ID, "y"}}},
		}
		for _, tc := range tests {
			put()
			mustOK(t, "DeleteConsents "+tc.name, s.DeleteConsents(ctx, tc.user, tc.client))
			gone := map[pair]bool{}
			for _, p := range tc.gone {
				gone[p] = true
			}
			for _, u := range []string{alice.ID, bob.ID} {
				for _, c := range []string{"x", "y"} {
					_, err := s.GetConsent(ctx, u, c)
					if gone[pair{u, c}] {
						wantErr(t, "GetConsent after DeleteConsents "+tc.name, err, store.ErrNotFound)
					} else if err != nil {
						t.Errorf("GetConsent(%s, %s) after DeleteConsents %s error = %v, want kept", u, c, tc.name, err)
					}
				}
			}
		}
		if err := s.DeleteConsents(ctx, "", ""); err == nil {
			t.Error("DeleteConsents with no filter: error = nil, want an error")
		}
		mustOK(t, "DeleteConsents(nothing to delete)", s.DeleteConsents(ctx, store.NewID(), ""))
	})
}
