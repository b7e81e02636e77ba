package audit

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// appendAround adds an event after seq last, correctly chained, with SQL
// (around the store: the chain head does not move).
func appendAround(t *testing.T, db *sqlstore.DB, last int64) {
	t.Helper()
	prev := eventAt(t, db, last)
	e := store.AuditEvent{Seq: last + 1, Time: prev.Time, Action: string(LoginSucceeded), Actor: "intruder",
		Result: ResultSuccess, PrevHash: prev.Hash}
	e.Hash = ChainHash(e)
	mustExecArgs(t, db, `INSERT INTO audit_events (seq, time, action, actor, result, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, sqlTime(db, e), e.Action, e.Actor, e.Result, e.PrevHash, e.Hash)
}

// sqlTime is e.Time as db's time column holds it.
func sqlTime(db *sqlstore.DB, e store.AuditEvent) any {
	if db.Dialect() == sqlstore.DialectSQLite {
		return e.Time.UnixMicro()
	}
	return e.Time
}

// TestVerifyAfterPruneChecksTheHead: a pruned log still verifies, and its
// tail is still checked against the head.
func TestVerifyAfterPruneChecksTheHead(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		rec := &Recorder{Store: db, Now: c.Now}
		recordN(t, rec, c, 5)
		if _, err := Prune(t.Context(), rec, c.Now()); err != nil {
			t.Fatal(err)
		}
		rep := mustVerify(t, db)
		if !rep.OK || rep.Events != 1 || rep.HeadSeq != 6 {
			t.Fatalf("after pruning all but the audit.pruned event: Verify() = %+v, want OK, 1 event, head 6", rep)
		}
		mustExec(t, db, `DELETE FROM audit_events WHERE seq = 6`)
		if rep := mustVerify(t, db); rep.OK || rep.Problem != ProblemTailDeleted || rep.BrokenSeq != 6 {
			t.Errorf("audit.pruned event deleted: Verify() = %v, want seq 6 %s", rep, ProblemTailDeleted)
		}
	})
}
