package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/text"
)

const auditCols = `seq, time, action, actor, target, ip, user_agent, request_id, result, reason, prev_hash, hash`

func scanAudit(r scanner) (store.AuditEvent, error) {
	var e store.AuditEvent
	err := r.Scan(&e.Seq, timeCol{&e.Time}, &e.Action, &e.Actor, &e.Target, &e.IP, &e.UserAgent, &e.RequestID,
		&e.Result, &e.Reason, &e.PrevHash, &e.Hash)
	return e, err
}

// checkAuditText refuses an event with a text field that is not
// storable ([store.ErrInvalidText]) before anything is written, so that
// SQLite refuses what PostgreSQL cannot hold and neither moves the head.
func checkAuditText(e store.AuditEvent) error {
	for _, s := range [...]string{e.Action, e.Actor, e.Target, e.IP, e.UserAgent, e.RequestID, e.Result, e.Reason} {
		if !text.Storable(s) {
			return store.ErrInvalidText
		}
	}
	return nil
}

// AppendAudit appends e to the chain and returns the stored event.
//
// In one transaction it locks the chain head (the one-row audit_head
// table: SELECT … FOR UPDATE on PostgreSQL, the immediate transaction on
// SQLite), sets Seq to the head's Seq + 1 and PrevHash to the head's Hash
// (nil for the first event ever), normalises Time, calls hash with Hash
// unset, and writes the event and the new head. Appends from every process
// are therefore serialised into one chain without forks, and pruning old
// events never restarts Seq. hash may be called more than once if the
// transaction is retried. A text field that is not valid UTF-8 or holds a
// NUL gives [store.ErrInvalidText] and writes nothing.
func (db *DB) AppendAudit(ctx context.Context, e store.AuditEvent, hash func(store.AuditEvent) []byte) (store.AuditEvent, error) {
	if hash == nil {
		return store.AuditEvent{}, errors.New("append audit event: nil hash function")
	}
	if err := checkAuditText(e); err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	e.Time = store.Normalize(e.Time)
	var out store.AuditEvent
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var (
			seq  int64
			prev []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+db.d.forUpdate).Scan(&seq, &prev)
		if err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		out = e
		out.Seq = seq + 1
		out.PrevHash = prev
		out.Hash = nil
		out.Hash = hash(out)
		if len(out.Hash) == 0 {
			return errors.New("hash function returned no hash")
		}
		if _, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO audit_events (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			out.Seq, db.d.tm(out.Time), out.Action, out.Actor, out.Target, out.IP, out.UserAgent, out.RequestID,
			out.Result, out.Reason, blob(out.PrevHash), out.Hash); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.d.q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), out.Seq, out.Hash)
		return err
	})
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("append audit event: %w", err)
	}
	return out, nil
}

// ListAudit returns the events matching every non-zero field of f in Seq
// order (descending with f.Desc): AfterSeq < Seq < BeforeSeq,
// Since <= Time < Until, equal Actor, Action and Result, Actor one of
// Actors, at most Limit (0 = all).
func (db *DB) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var (
		where = []string{"seq > ?"}
		args  = []any{f.AfterSeq}
	)
	if f.BeforeSeq != 0 {
		where = append(where, "seq < ?")
		args = append(args, f.BeforeSeq)
	}
	if len(f.Actors) > 0 {
		where = append(where, "actor IN (?"+strings.Repeat(", ?", len(f.Actors)-1)+")")
		for _, a := range f.Actors {
			args = append(args, a)
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, db.d.tm(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, db.d.tm(f.Until))
	}
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"action", f.Action}, {"result", f.Result}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	args = append(args, limit(f.Limit))
	order := ` ORDER BY seq LIMIT ?`
	if f.Desc {
		order = ` ORDER BY seq DESC LIMIT ?`
	}
	// At most 2^7 distinct query strings per length of Actors, so the
	// dialect's rebind cache stays small.
	query := `SELECT ` + auditCols + ` FROM audit_events WHERE ` + strings.Join(where, " AND ") + order
	es, err := queryAll(ctx, db, db.read, query, scanAudit, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return es, nil
}

// GetAuditHead returns the chain head: the one row of audit_head, which
// every append updates in its own transaction and which pruning and
// deleting events leave alone.
func (db *DB) GetAuditHead(ctx context.Context) (store.AuditHead, error) {
	var h store.AuditHead
	err := db.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if err != nil {
		return store.AuditHead{}, fmt.Errorf("get audit head: %w", err)
	}
	return h, nil
}

// PruneAudit deletes events whose Time is before before and returns how
// many. The chain head is kept, so later appends continue the chain.
func (db *DB) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = rowsAffected(tx.ExecContext(ctx, db.d.q(`DELETE FROM audit_events WHERE time < ?`), db.d.tm(before)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	return n, nil
}

// AppendAuditBatch appends es to the chain in one transaction, in order,
// exactly as that many AppendAudit calls would, and returns the stored
// events. Group commit: one lock of the chain head and one commit for the
// whole batch, so one event that cannot be written fails them all (an
// unstorable one with [store.ErrInvalidText], before anything is written);
// the caller retries the others alone.
func (db *DB) AppendAuditBatch(ctx context.Context, es []store.AuditEvent, hash func(store.AuditEvent) []byte) ([]store.AuditEvent, error) {
	if hash == nil {
		return nil, errors.New("append audit events: nil hash function")
	}
	for _, e := range es {
		if err := checkAuditText(e); err != nil {
			return nil, fmt.Errorf("append audit events: %w", err)
		}
	}
	out := make([]store.AuditEvent, len(es))
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var (
			seq  int64
			prev []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+db.d.forUpdate).Scan(&seq, &prev)
		if err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		insert := db.d.q(`INSERT INTO audit_events (` + auditCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		for i, e := range es {
			e.Time = store.Normalize(e.Time)
			seq++
			e.Seq, e.PrevHash, e.Hash = seq, prev, nil
			e.Hash = hash(e)
			if len(e.Hash) == 0 {
				return errors.New("hash function returned no hash")
			}
			if _, err := tx.ExecContext(ctx, insert, e.Seq, db.d.tm(e.Time), e.Action, e.Actor, e.Target, e.IP, e.UserAgent,
				e.RequestID, e.Result, e.Reason, blob(e.PrevHash), e.Hash); err != nil {
				return err
			}
			out[i], prev = e, e.Hash
		}
		_, err = tx.ExecContext(ctx, db.d.q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), seq, prev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append audit events: %w", err)
	}
	return out, nil
}
