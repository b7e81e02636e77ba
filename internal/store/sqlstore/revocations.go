package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// NotifyChannel is the PostgreSQL channel on which AddRevocation announces
// each new entry; the payload is its Seq in decimal.
const NotifyChannel = "gatehouse_revocations"

const revocationCols = `seq, kind, value, at, expires_at, created_at`

func scanRevocation(r scanner) (store.Revocation, error) {
	var v store.Revocation
	err := r.Scan(&v.Seq, &v.Kind, &v.Value, timeCol{&v.At}, timeCol{&v.ExpiresAt}, timeCol{&v.CreatedAt})
	return v, err
}

// AddRevocation appends r to the feed and returns it with Seq set (r.Seq
// is ignored).
//
// On PostgreSQL the transaction first locks the revocations table against
// other writers (readers are not blocked) so that entries commit in Seq
// order: a follower that has seen Seq n has seen every entry below n. It
// then sends pg_notify('gatehouse_revocations', seq), delivered on commit.
// On SQLite the immediate transaction gives the same order.
func (db *DB) AddRevocation(ctx context.Context, r store.Revocation) (store.Revocation, error) {
	if r.Kind == "" {
		return store.Revocation{}, errors.New("add revocation: empty kind")
	}
	var out store.Revocation
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if db.d.name == DialectPostgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE revocations IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var err error
		out, err = scanRevocation(tx.QueryRowContext(ctx,
			db.d.q(`INSERT INTO revocations (kind, value, at, expires_at, created_at) VALUES (?, ?, ?, ?, ?) RETURNING `+revocationCols),
			r.Kind, r.Value, db.d.tm(r.At), db.d.tm(r.ExpiresAt), db.d.tm(r.CreatedAt)))
		if err != nil {
			return err
		}
		if db.d.name == DialectPostgres {
			_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(out.Seq, 10))
		}
		return err
	})
	if err != nil {
		return store.Revocation{}, fmt.Errorf("add revocation: %w", err)
	}
	return out, nil
}

// ListRevocations returns entries with Seq > afterSeq whose ExpiresAt is
// after now, in Seq order, at most limit (0 = all).
func (db *DB) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limitN int) ([]store.Revocation, error) {
	rs, err := queryAll(ctx, db, db.read,
		`SELECT `+revocationCols+` FROM revocations WHERE seq > ? AND expires_at > ? ORDER BY seq LIMIT ?`,
		scanRevocation, afterSeq, db.d.tm(now), limit(limitN))
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	return rs, nil
}

// deleteExpiredRevocations removes the entries ListRevocations no longer
// returns at now (ExpiresAt <= now) and returns how many. Seq values are
// never reused.
func (db *DB) deleteExpiredRevocations(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM revocations WHERE expires_at <= ?`), db.d.tm(now)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired revocations: %w", err)
	}
	return n, nil
}
