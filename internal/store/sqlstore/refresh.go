package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const refreshCols = `hash, family_id, client_id, user_id, scopes, auth_time, created_at, expires_at, idle_expires,
	used_at, revoked_at, successor_hash`

func scanRefresh(r scanner) (store.RefreshToken, error) {
	var (
		t      store.RefreshToken
		scopes string
	)
	err := r.Scan(&t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &scopes, timeCol{&t.AuthTime}, timeCol{&t.CreatedAt},
		timeCol{&t.ExpiresAt}, timeCol{&t.IdleExpires}, nullTimeCol{&t.UsedAt}, nullTimeCol{&t.RevokedAt}, &t.SuccessorHash)
	t.Scopes = splitScopes(scopes)
	return t, err
}

// Refresh-token writes take PostgreSQL advisory locks named after the
// family, user and client they touch: creations and rotations shared,
// revocations exclusive. Without them a revocation running at READ
// COMMITTED could miss a successor inserted by a rotation that committed
// after the revocation's statement began, and that token would escape. On
// SQLite the single writer already serialises them. Locks are always taken
// in the order family, user, client.
func familyLock(id string) string { return "gatehouse.refresh.family:" + id }
func userLock(id string) string   { return "gatehouse.refresh.user:" + id }
func clientLock(id string) string { return "gatehouse.refresh.client:" + id }

func (db *DB) insertRefresh(ctx context.Context, tx *sql.Tx, t store.RefreshToken) error {
	if len(t.Hash) == 0 {
		return errors.New("empty hash")
	}
	_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.Hash, t.FamilyID, t.ClientID, t.UserID, store.JoinScopes(t.Scopes), db.d.tm(t.AuthTime), db.d.tm(t.CreatedAt),
		db.d.tm(t.ExpiresAt), db.d.tm(t.IdleExpires), db.d.tmp(t.UsedAt), db.d.tmp(t.RevokedAt), blob(t.SuccessorHash))
	return db.d.mapErr(err)
}

// CreateRefreshToken inserts t, the first link of a family. A taken hash
// gives [store.ErrConflict]; an unknown user gives [store.ErrNotFound].
func (db *DB) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.lock(ctx, tx, true, familyLock(t.FamilyID), userLock(t.UserID), clientLock(t.ClientID)); err != nil {
			return err
		}
		return db.insertRefresh(ctx, tx, t)
	})
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken returns the token or [store.ErrNotFound].
func (db *DB) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	t, err := scanRefresh(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`), hash))
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", notFound(err))
	}
	return t, nil
}

// RotateRefreshToken marks old used at now (with SuccessorHash = next.Hash)
// and inserts next, in one transaction, and returns the updated old record.
//
// The mark is a conditional UPDATE (… WHERE used_at IS NULL AND revoked_at
// IS NULL), so exactly one of any number of concurrent callers succeeds.
// If old was already used, or its family was revoked, nothing is written
// and the stored old record comes back with [store.ErrUsed]; the caller
// tells the two apart by RevokedAt. An unknown old gives
// [store.ErrNotFound]. next must have old's FamilyID, UserID and ClientID.
// Expiry is the caller's to check.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash []byte, next store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	var (
		old  store.RefreshToken
		used bool
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		used = false
		err := db.lock(ctx, tx, true, familyLock(next.FamilyID), userLock(next.UserID), clientLock(next.ClientID))
		if err != nil {
			return err
		}
		old, err = scanRefresh(tx.QueryRowContext(ctx, db.d.q(`UPDATE refresh_tokens SET used_at = ?, successor_hash = ?
			WHERE hash = ? AND used_at IS NULL AND revoked_at IS NULL RETURNING `+refreshCols),
			db.d.tm(now), blob(next.Hash), oldHash))
		if errors.Is(err, sql.ErrNoRows) {
			used = true
			old, err = scanRefresh(tx.QueryRowContext(ctx, db.d.q(`SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`), oldHash))
			return notFound(err)
		}
		if err != nil {
			return err
		}
		if next.FamilyID != old.FamilyID || next.UserID != old.UserID || next.ClientID != old.ClientID {
			return fmt.Errorf("successor (family %q, user %q, client %q) does not match (family %q, user %q, client %q)",
				next.FamilyID, next.UserID, next.ClientID, old.FamilyID, old.UserID, old.ClientID)
		}
		if bytes.Equal(next.Hash, oldHash) {
			return errors.New("successor has the same hash")
		}
		return db.insertRefresh(ctx, tx, next)
	})
	switch {
	case err != nil:
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token: %w", err)
	case used:
		return old, store.ErrUsed
	}
	return old, nil
}

// RevokeRefreshFamily marks every not yet revoked token of the family
// revoked at now and returns how many.
func (db *DB) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.lock(ctx, tx, false, familyLock(familyID)); err != nil {
			return err
		}
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx,
			db.d.q(`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`), db.d.tm(now), familyID))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke refresh family: %w", err)
	}
	return n, nil
}

// RevokeRefreshTokens revokes every not yet revoked token of the user
// and/or client (both filters apply when both are set; at least one must
// be) and returns how many.
func (db *DB) RevokeRefreshTokens(ctx context.Context, userID, clientID string, now time.Time) (int64, error) {
	var (
		query string
		args  = []any{db.d.tm(now)}
		locks []string
	)
	if userID != "" {
		locks = append(locks, userLock(userID))
	}
	if clientID != "" {
		locks = append(locks, clientLock(clientID))
	}
	switch {
	case userID != "" && clientID != "":
		query = `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`
		args = append(args, userID, clientID)
	case userID != "":
		query = `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`
		args = append(args, userID)
	case clientID != "":
		query = `UPDATE refresh_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`
		args = append(args, clientID)
	default:
		return 0, errors.New("revoke refresh tokens: neither user nor client given")
	}
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.lock(ctx, tx, false, locks...); err != nil {
			return err
		}
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(query), args...))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revoke refresh tokens: %w", err)
	}
	return n, nil
}

// deleteExpiredRefreshTokens removes tokens whose family ended (ExpiresAt)
// before now. Links whose idle deadline passed are kept until then: a used
// link must stay findable so that its replay is recognised and revokes the
// family.
func (db *DB) deleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM refresh_tokens WHERE expires_at < ?`), db.d.tm(now)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	return n, nil
}
