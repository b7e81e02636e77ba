package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func newSigningKey(id string, created time.Time) store.SigningKey {
	return store.SigningKey{
		ID:          id,
		Algorithm:   "ES256",
		PrivateKey:  []byte("ciphertext-" + id),
		PublicKey:   []byte(`{"kty":"EC","kid":"` + id + `"}`),
		CreatedAt:   created,
		ActivatesAt: created.Add(time.Hour),
	}
}

func testSigningKeys(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateList", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		empty, err := s.ListSigningKeys(ctx)
		mustOK(t, "ListSigningKeys", err)
		if len(empty) != 0 {
			t.Errorf("ListSigningKeys on an empty store = %v, want none", empty)
		}
		oldest := newSigningKey("k1", at(-48*time.Hour))
		oldest.RetiredAt = ptr(at(-24 * time.Hour))
		oldest.ExpiresAt = ptr(at(time.Hour))
		oldest.RevokedAt = ptr(at(-time.Minute))
		newest := newSigningKey("k3", at(0))
		newest.Algorithm = "EdDSA"
		middle := newSigningKey("k2", at(-24*time.Hour))
		middle.Algorithm = "RS256"
		for _, k := range []store.SigningKey{middle, oldest, newest} {
			mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
		}
		got, err := s.ListSigningKeys(ctx)
		mustOK(t, "ListSigningKeys", err)
		diff(t, "ListSigningKeys (newest first)",
			[]store.SigningKey{normalized(newest), normalized(middle), normalized(oldest)}, got)
		for _, k := range got {
			checkUTC(t, "ListSigningKeys "+k.ID, k)
		}
		wantErr(t, "CreateSigningKey(same id)", s.CreateSigningKey(ctx, newSigningKey("k1", at(0))), store.ErrConflict)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		k := newSigningKey("k1", at(0))
		mustOK(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
		got, err := s.UpdateSigningKey(ctx, "k1", func(old store.SigningKey) (store.SigningKey, error) {
			old.RetiredAt = ptr(at(time.Hour))
			old.ExpiresAt = ptr(at(2 * time.Hour))
			old.ID, old.CreatedAt = "k9", at(time.Hour)
			return old, nil
		})
		mustOK(t, "UpdateSigningKey", err)
		want := normalized(k)
		want.RetiredAt = ptr(store.Normalize(at(time.Hour)))
		want.ExpiresAt = ptr(store.Normalize(at(2 * time.Hour)))
		diff(t, "UpdateSigningKey result", want, got)
		list, err := s.ListSigningKeys(ctx)
		mustOK(t, "ListSigningKeys", err)
		diff(t, "ListSigningKeys after update", []store.SigningKey{want}, list)

		_, err = s.UpdateSigningKey(ctx, "k1", func(old store.SigningKey) (store.SigningKey, error) {
			old.RevokedAt = ptr(at(0))
			return old, errFn
		})
		if err != errFn { //nolint:errorlint // must be unchanged
			t.Errorf("UpdateSigningKey error = %v, want fn's error unchanged", err)
		}
		list, err = s.ListSigningKeys(ctx)
		mustOK(t, "ListSigningKeys", err)
		diff(t, "ListSigningKeys after aborted update", []store.SigningKey{want}, list)

		_, err = s.UpdateSigningKey(ctx, "nope", func(k store.SigningKey) (store.SigningKey, error) { return k, nil })
		wantErr(t, "UpdateSigningKey(unknown)", err, store.ErrNotFound)
	})
}
