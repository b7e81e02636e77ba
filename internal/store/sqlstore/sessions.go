package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const sessionCols = `hash, user_id, auth_time, created_at, expires_at`

func scanSession(r scanner) (store.Session, error) {
	var s store.Session
	err := r.Scan(&s.Hash, &s.UserID, timeCol{&s.AuthTime}, timeCol{&s.CreatedAt}, timeCol{&s.ExpiresAt})
	return s, err
}

// CreateSession inserts s. A taken hash gives [store.ErrConflict]; an
// unknown user gives [store.ErrNotFound].
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	if len(s.Hash) == 0 {
		return errors.New("create session: empty hash")
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?)`),
			s.Hash, s.UserID, db.d.tm(s.AuthTime), db.d.tm(s.CreatedAt), db.d.tm(s.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", db.d.mapErr(err))
	}
	return nil
}

// GetSession returns the session or [store.ErrNotFound]. Expiry is the
// caller's to check.
func (db *DB) GetSession(ctx context.Context, hash []byte) (store.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, db.d.q(`SELECT `+sessionCols+` FROM sessions WHERE hash = ?`), hash))
	if err != nil {
		return store.Session{}, fmt.Errorf("get session: %w", notFound(err))
	}
	return s, nil
}

// DeleteSession deletes the session or returns [store.ErrNotFound].
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM sessions WHERE hash = ?`), hash))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("delete session: %w", store.ErrNotFound)
	}
	return nil
}

// DeleteUserSessions deletes every session of the user; none is not an
// error.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.q(`DELETE FROM sessions WHERE user_id = ?`), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user sessions: %w", err)
	}
	return nil
}

// deleteExpiredSessions removes sessions whose ExpiresAt is before now and
// returns how many.
func (db *DB) deleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM sessions WHERE expires_at < ?`), db.d.tm(now)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
