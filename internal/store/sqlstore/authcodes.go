package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const authCodeCols = `hash, client_id, user_id, redirect_uri, scopes, code_challenge, code_challenge_method, nonce,
	auth_time, created_at, expires_at, used_at, grant_id`

func scanAuthCode(r scanner) (store.AuthCode, error) {
	var (
		c      store.AuthCode
		scopes string
	)
	err := r.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &scopes, &c.CodeChallenge, &c.CodeChallengeMethod,
		&c.Nonce, timeCol{&c.AuthTime}, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTimeCol{&c.UsedAt}, &c.GrantID)
	c.Scopes = splitScopes(scopes)
	return c, err
}

// CreateAuthCode inserts c. A taken hash gives [store.ErrConflict]; an
// unknown user gives [store.ErrNotFound].
func (db *DB) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if len(c.Hash) == 0 {
		return errors.New("create auth code: empty hash")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO auth_codes (`+authCodeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.Hash, c.ClientID, c.UserID, c.RedirectURI, store.JoinScopes(c.Scopes), c.CodeChallenge, c.CodeChallengeMethod,
			c.Nonce, db.d.tm(c.AuthTime), db.d.tm(c.CreatedAt), db.d.tm(c.ExpiresAt), db.d.tmp(c.UsedAt), c.GrantID)
		return err
	})
	if err != nil {
		return fmt.Errorf("create auth code: %w", db.d.mapErr(err))
	}
	return nil
}

// ConsumeAuthCode marks the code used at now and returns it. It is one
// conditional UPDATE (… WHERE used_at IS NULL), so exactly one of any
// number of concurrent callers changes the row; the others get the stored
// record and [store.ErrUsed]. An unknown code gives [store.ErrNotFound].
// Expiry is the caller's to check.
func (db *DB) ConsumeAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error) {
	var (
		c    store.AuthCode
		used bool
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		used = false
		c, err = scanAuthCode(tx.QueryRowContext(ctx,
			db.d.q(`UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL RETURNING `+authCodeCols),
			db.d.tm(now), hash))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		used = true
		c, err = scanAuthCode(tx.QueryRowContext(ctx, db.d.q(`SELECT `+authCodeCols+` FROM auth_codes WHERE hash = ?`), hash))
		return notFound(err)
	})
	switch {
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("consume auth code: %w", err)
	case used:
		return c, store.ErrUsed
	}
	return c, nil
}

// deleteExpiredAuthCodes removes codes whose ExpiresAt is before now and
// returns how many.
func (db *DB) deleteExpiredAuthCodes(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM auth_codes WHERE expires_at < ?`), db.d.tm(now)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired auth codes: %w", err)
	}
	return n, nil
}
