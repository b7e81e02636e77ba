package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

const signingKeyCols = `id, algorithm, private_key, public_key, created_at, activates_at, retired_at, expires_at, revoked_at`

func scanSigningKey(r scanner) (store.SigningKey, error) {
	var k store.SigningKey
	err := r.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, timeCol{&k.CreatedAt}, timeCol{&k.ActivatesAt},
		nullTimeCol{&k.RetiredAt}, nullTimeCol{&k.ExpiresAt}, nullTimeCol{&k.RevokedAt})
	return k, err
}

// CreateSigningKey inserts k. A taken ID gives [store.ErrConflict].
func (db *DB) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	if k.ID == "" {
		return errors.New("create signing key: empty id")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.Algorithm, nonNil(k.PrivateKey), nonNil(k.PublicKey), db.d.tm(k.CreatedAt), db.d.tm(k.ActivatesAt),
			db.d.tmp(k.RetiredAt), db.d.tmp(k.ExpiresAt), db.d.tmp(k.RevokedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create signing key: %w", db.d.mapErr(err))
	}
	return nil
}

// nonNil passes nil as an empty value for NOT NULL byte columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ListSigningKeys returns every key, newest (CreatedAt) first, ties broken
// by ID descending.
func (db *DB) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	ks, err := queryAll(ctx, db, db.read, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at DESC, id DESC`, scanSigningKey)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return ks, nil
}

// UpdateSigningKey applies fn to the stored key in one transaction. ID and
// CreatedAt keep their old values. An error from fn is returned unchanged.
func (db *DB) UpdateSigningKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	k, err := update(ctx, db, `SELECT `+signingKeyCols+` FROM signing_keys WHERE id = ?`, id, scanSigningKey, fn,
		func(tx *sql.Tx, old, k store.SigningKey) error {
			_, err := tx.ExecContext(ctx, db.d.q(`UPDATE signing_keys SET algorithm = ?, private_key = ?, public_key = ?,
				activates_at = ?, retired_at = ?, expires_at = ?, revoked_at = ? WHERE id = ?`),
				k.Algorithm, nonNil(k.PrivateKey), nonNil(k.PublicKey), db.d.tm(k.ActivatesAt),
				db.d.tmp(k.RetiredAt), db.d.tmp(k.ExpiresAt), db.d.tmp(k.RevokedAt), old.ID)
			return err
		})
	if err != nil {
		return store.SigningKey{}, wrapUpdate("update signing key", err)
	}
	return k, nil
}
