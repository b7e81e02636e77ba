package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const apiKeyCols = `id, user_id, name, prefix, hash, scopes, rate_limit, created_at, expires_at, last_used_at, revoked_at, prev_hash, prev_expires_at`

func scanAPIKey(r scanner) (store.APIKey, error) {
	var (
		k      store.APIKey
		scopes string
	)
	err := r.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &scopes, &k.RateLimit, timeCol{&k.CreatedAt},
		nullTimeCol{&k.ExpiresAt}, nullTimeCol{&k.LastUsedAt}, nullTimeCol{&k.RevokedAt}, &k.PrevHash, nullTimeCol{&k.PrevExpiresAt})
	k.Scopes = splitScopes(scopes)
	return k, err
}

// CreateAPIKey inserts k. A taken ID gives [store.ErrConflict]; an unknown
// user gives [store.ErrNotFound].
func (db *DB) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	if k.ID == "" {
		return errors.New("create api key: empty id")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.UserID, k.Name, k.Prefix, blob(k.Hash), store.JoinScopes(k.Scopes), k.RateLimit, db.d.tm(k.CreatedAt),
			db.d.tmp(k.ExpiresAt), db.d.tmp(k.LastUsedAt), db.d.tmp(k.RevokedAt), blob(k.PrevHash), db.d.tmp(k.PrevExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create api key: %w", db.d.mapErr(err))
	}
	return nil
}

// GetAPIKey returns the key or [store.ErrNotFound].
func (db *DB) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`), id))
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get api key: %w", notFound(err))
	}
	return k, nil
}

// ListAPIKeys returns keys ordered by ID after the cursor, at most limit
// (0 = all); userID "" lists every user's keys.
func (db *DB) ListAPIKeys(ctx context.Context, userID, after string, limitN int) ([]store.APIKey, error) {
	var (
		ks  []store.APIKey
		err error
	)
	if userID == "" {
		ks, err = queryAll(ctx, db, db.read, `SELECT `+apiKeyCols+` FROM api_keys WHERE id > ? ORDER BY id LIMIT ?`,
			scanAPIKey, after, limit(limitN))
	} else {
		ks, err = queryAll(ctx, db, db.read, `SELECT `+apiKeyCols+` FROM api_keys WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`,
			scanAPIKey, userID, after, limit(limitN))
	}
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// UpdateAPIKey applies fn to the stored key in one transaction. ID, UserID
// and CreatedAt keep their old values. An error from fn is returned
// unchanged.
func (db *DB) UpdateAPIKey(ctx context.Context, id string, fn func(store.APIKey) (store.APIKey, error)) (store.APIKey, error) {
	k, err := update(ctx, db, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id, scanAPIKey, fn,
		func(tx *sql.Tx, old, k store.APIKey) error {
			_, err := tx.ExecContext(ctx, db.d.q(`UPDATE api_keys SET name = ?, prefix = ?, hash = ?, scopes = ?, rate_limit = ?,
				expires_at = ?, last_used_at = ?, revoked_at = ?, prev_hash = ?, prev_expires_at = ? WHERE id = ?`),
				k.Name, k.Prefix, blob(k.Hash), store.JoinScopes(k.Scopes), k.RateLimit,
				db.d.tmp(k.ExpiresAt), db.d.tmp(k.LastUsedAt), db.d.tmp(k.RevokedAt), blob(k.PrevHash), db.d.tmp(k.PrevExpiresAt), old.ID)
			return err
		})
	if err != nil {
		return store.APIKey{}, wrapUpdate("update api key", err)
	}
	return k, nil
}

// TouchAPIKeys moves each key's LastUsedAt forward to the given time in one
// transaction. Unknown IDs are ignored and older times change nothing.
// Keys are updated in ID order so concurrent batches cannot deadlock.
func (db *DB) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastUsed))
	for id := range lastUsed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		q := db.d.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`)
		for _, id := range ids {
			t := db.d.tm(lastUsed[id])
			if _, err := tx.ExecContext(ctx, q, t, id, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}
