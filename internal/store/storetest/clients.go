package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testClients(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		tests := []struct {
			name string
			c    store.Client
		}{
			{"confidential", newClient("conf")},
			{"public without secret", func() store.Client {
				c := newClient("pub")
				c.SecretHash, c.Public, c.Scopes, c.RateLimit = nil, true, nil, ""
				return c
			}()},
			{"first party", func() store.Client {
				c := newClient("first")
				c.FirstParty, c.GrantTypes, c.RedirectURIs = true, []string{"password"}, []string{}
				return c
			}()},
			{"redirect URI with odd characters", func() store.Client {
				c := newClient("odd")
				c.RedirectURIs = []string{"https://a.example/cb?x=1&y=a b", `https://b.example/"quoted"`, "com.example.app:/oauth"}
				return c
			}()},
		}
		for _, tc := range tests {
			mustOK(t, "CreateClient "+tc.name, s.CreateClient(ctx, tc.c))
			got, err := s.GetClient(ctx, tc.c.ID)
			mustOK(t, "GetClient "+tc.name, err)
			diff(t, "GetClient "+tc.name, normalized(tc.c), got)
			checkUTC(t, "GetClient "+tc.name, got)
			if tc.c.SecretHash == nil && got.SecretHash != nil {
				t.Errorf("GetClient %s: SecretHash = %x, want nil", tc.name, got.SecretHash)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		_, err := s.GetClient(ctx, "nope")
		wantErr(t, "GetClient(unknown)", err, store.ErrNotFound)
		_, err = s.UpdateClient(ctx, "nope", func(c store.Client) (store.Client, error) { return c, nil })
		wantErr(t, "UpdateClient(unknown)", err, store.ErrNotFound)
		wantErr(t, "DeleteClient(unknown)", s.DeleteClient(ctx, "nope"), store.ErrNotFound)
	})

	t.Run("Conflict", func(t *testing.T) {
		s := open(t)
		mustCreateClient(t, s, "app")
		wantErr(t, "CreateClient(same id)", s.CreateClient(t.Context(), newClient("app")), store.ErrConflict)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		var want []store.Client
		for _, id := range []string{"a", "b", "c", "d"} {
			want = append(want, normalized(mustCreateClient(t, s, id)))
		}
		tests := []struct {
			name  string
			after string
			limit int
			want  []store.Client
		}{
			{"all", "", 0, want},
			{"first page", "", 2, want[:2]},
			{"second page", "b", 2, want[2:]},
			{"after the last", "d", 5, nil},
		}
		for _, tc := range tests {
			got, err := s.ListClients(ctx, tc.after, tc.limit)
			mustOK(t, "ListClients", err)
			diff(t, "ListClients "+tc.name, tc.want, got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		c := mustCreateClient(t, s, "app")
		got, err := s.UpdateClient(ctx, "app", func(old store.Client) (store.Client, error) {
			old.SecretHash = nil
			old.Public = true
			old.Name = "renamed"
			old.RedirectURIs = append(old.RedirectURIs, "https://new.example/cb")
			old.GrantTypes = nil
			old.UpdatedAt = at(time.Hour)
			old.ID = "other"
			old.CreatedAt = at(time.Hour)
			return old, nil
		})
		mustOK(t, "UpdateClient", err)
		want := normalized(c)
		want.SecretHash, want.Public, want.Name, want.GrantTypes = nil, true, "renamed", nil
		want.RedirectURIs = append(want.RedirectURIs, "https://new.example/cb")
		want.UpdatedAt = store.Normalize(at(time.Hour))
		diff(t, "UpdateClient result", want, got)
		stored, err := s.GetClient(ctx, "app")
		mustOK(t, "GetClient", err)
		diff(t, "GetClient after update", want, stored)
		_, err = s.GetClient(ctx, "other")
		wantErr(t, "GetClient(changed id)", err, store.ErrNotFound)

		_, err = s.UpdateClient(ctx, "app", func(old store.Client) (store.Client, error) {
			old.Name = "never"
			return old, errFn
		})
		if err != errFn { //nolint:errorlint // must be unchanged
			t.Errorf("UpdateClient error = %v, want fn's error unchanged", err)
		}
		stored, err = s.GetClient(ctx, "app")
		mustOK(t, "GetClient", err)
		diff(t, "GetClient after aborted update", want, stored)
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		mustCreateClient(t, s, "app")
		keep := mustCreateClient(t, s, "keep")
		u := mustCreateUser(t, s, "alice")
		mustOK(t, "PutConsent", s.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: "app", Scopes: []string{"read"}, CreatedAt: at(0)}))
		mustOK(t, "PutConsent", s.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: "keep", Scopes: []string{"read"}, CreatedAt: at(0)}))
		mustOK(t, "DeleteClient", s.DeleteClient(ctx, "app"))
		_, err := s.GetClient(ctx, "app")
		wantErr(t, "GetClient(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteClient(again)", s.DeleteClient(ctx, "app"), store.ErrNotFound)
		_, err = s.GetConsent(ctx, u.ID, "app")
		wantErr(t, "GetConsent(deleted client)", err, store.ErrNotFound)
		got, err := s.GetClient(ctx, "keep")
		mustOK(t, "GetClient(other)", err)
		diff(t, "other client", normalized(keep), got)
		_, err = s.GetConsent(ctx, u.ID, "keep")
		mustOK(t, "GetConsent(other client)", err)
		// The ID is free again.
		mustOK(t, "CreateClient(reuse id)", s.CreateClient(ctx, newClient("app")))
	})
}
