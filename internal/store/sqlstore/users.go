package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

const userCols = `id, username, password_hash, scopes, admin, disabled, created_at, updated_at, locked_until`

func scanUser(r scanner) (store.User, error) {
	var (
		u      store.User
		scopes string
	)
	err := r.Scan(&u.ID, &u.Username, &u.PasswordHash, &scopes, &u.Admin, &u.Disabled,
		timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, nullTimeCol{&u.LockedUntil})
	u.Scopes = splitScopes(scopes)
	return u, err
}

// CreateUser inserts u. A taken ID or username gives [store.ErrConflict].
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	if u.ID == "" {
		return errors.New("create user: empty id")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Username, u.PasswordHash, store.JoinScopes(u.Scopes), u.Admin, u.Disabled,
			db.d.tm(u.CreatedAt), db.d.tm(u.UpdatedAt), db.d.tmp(u.LockedUntil))
		return err
	})
	if err != nil {
		return fmt.Errorf("create user: %w", db.d.mapErr(err))
	}
	return nil
}

// GetUser returns the user with the given ID or [store.ErrNotFound].
func (db *DB) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+userCols+` FROM users WHERE id = ?`), id))
	if err != nil {
		return store.User{}, fmt.Errorf("get user: %w", notFound(err))
	}
	return u, nil
}

// GetUserByUsername returns the user with the given (already normalised)
// username or [store.ErrNotFound].
func (db *DB) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+userCols+` FROM users WHERE username = ?`), username))
	if err != nil {
		return store.User{}, fmt.Errorf("get user by username: %w", notFound(err))
	}
	return u, nil
}

// ListUsers returns users ordered by username (byte order) whose username
// is greater than after, at most limit of them (0 = all).
func (db *DB) ListUsers(ctx context.Context, after string, limitN int) ([]store.User, error) {
	us, err := queryAll(ctx, db, db.read, `SELECT `+userCols+` FROM users WHERE username > ? ORDER BY username LIMIT ?`,
		scanUser, after, limit(limitN))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// UpdateUser applies fn to the stored user in one transaction and returns
// the stored result. ID and CreatedAt keep their old values whatever fn
// returns; UpdatedAt is whatever fn sets. An error from fn aborts the
// update and is returned unchanged; a username clash gives
// [store.ErrConflict].
func (db *DB) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	u, err := update(ctx, db, `SELECT `+userCols+` FROM users WHERE id = ?`, id, scanUser, fn,
		func(tx *sql.Tx, old, u store.User) error {
			_, err := tx.ExecContext(ctx, db.d.q(`UPDATE users SET username = ?, password_hash = ?, scopes = ?,
				admin = ?, disabled = ?, updated_at = ?, locked_until = ? WHERE id = ?`),
				u.Username, u.PasswordHash, store.JoinScopes(u.Scopes), u.Admin, u.Disabled, db.d.tm(u.UpdatedAt),
				db.d.tmp(u.LockedUntil), old.ID)
			return err
		})
	if err != nil {
		return store.User{}, wrapUpdate("update user", err)
	}
	return u, nil
}

// wrapUpdate adds context to an updater's error unless it came from the
// caller's fn, which is returned unchanged.
func wrapUpdate(what string, err error) error {
	var ce *callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return fmt.Errorf("%s: %w", what, err)
}
