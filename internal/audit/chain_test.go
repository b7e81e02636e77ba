package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// mustExecArgs runs query, written with ? placeholders, on db's dialect.
func mustExecArgs(t testing.TB, db *sqlstore.DB, query string, args ...any) {
	t.Helper()
	if db.Dialect() == sqlstore.DialectPostgres {
		var b strings.Builder
		n := 0
		for _, r := range query {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		query = b.String()
	}
	if _, err := db.SQL().ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func eventAt(t testing.TB, db *sqlstore.DB, seq int64) store.AuditEvent {
	t.Helper()
	es := mustList(t, db, store.AuditFilter{AfterSeq: seq - 1, Limit: 1})
	if len(es) != 1 || es[0].Seq != seq {
		t.Fatalf("no event with seq %d", seq)
	}
	return es[0]
}

// rewrite replaces event seq by mod(event) with a correct hash, as an
// attacker who knows the (public) hash function would.
func rewrite(t testing.TB, db *sqlstore.DB, seq int64, mod func(*store.AuditEvent)) {
	t.Helper()
	e := eventAt(t, db, seq)
	mod(&e)
	e.Hash = ChainHash(e)
	mustExecArgs(t, db, `UPDATE audit_events SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?`, e.Reason, e.PrevHash, e.Hash, seq)
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *sqlstore.DB)
		seq     int64
		problem Problem
		events  int64 // walked and chain-checked before the walk stopped
	}{
		{name: "intact", events: 10},
		{
			name: "middle reason edited",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				mustExec(t, db, `UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 5`)
			},
			seq:     5,
			problem: ProblemEdited,
			events:  4,
		},
		{
			name: "last actor edited",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				mustExec(t, db, `UPDATE audit_events SET actor = 'someone' WHERE seq = 10`)
			},
			seq:     10,
			problem: ProblemEdited,
			events:  9,
		},
		{
			name:    "middle row deleted",
			tamper:  func(t *testing.T, db *sqlstore.DB) { mustExec(t, db, `DELETE FROM audit_events WHERE seq = 5`) },
			seq:     6,
			problem: ProblemDeleted,
			events:  4,
		},
		{
			name:    "rows deleted from the start without a prune",
			tamper:  func(t *testing.T, db *sqlstore.DB) { mustExec(t, db, `DELETE FROM audit_events WHERE seq <= 3`) },
			seq:     4,
			problem: ProblemDeleted,
			events:  0,
		},
		{
			name: "two rows swapped",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				mustExec(t, db, `UPDATE audit_events SET seq = -5 WHERE seq = 5`)
				mustExec(t, db, `UPDATE audit_events SET seq = 5 WHERE seq = 6`)
				mustExec(t, db, `UPDATE audit_events SET seq = 6 WHERE seq = -5`)
			},
			seq:     5,
			problem: ProblemReordered,
			events:  4,
		},
		{
			name: "edited and re-hashed",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				rewrite(t, db, 5, func(e *store.AuditEvent) { e.Reason = "nothing to see" })
			},
			seq:     5,
			problem: ProblemEdited,
			events:  5,
		},
		{
			name: "relinked past an event",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				h5 := eventAt(t, db, 5).Hash
				rewrite(t, db, 7, func(e *store.AuditEvent) { e.PrevHash = h5 })
			},
			seq:     7,
			problem: ProblemReordered,
			events:  6,
		},
		// Checked against the stored chain head: deleting, rewriting or
		// adding events at the end is caught at once, not only after the
		// next append.
		{
			name:    "newest deleted",
			tamper:  func(t *testing.T, db *sqlstore.DB) { mustExec(t, db, `DELETE FROM audit_events WHERE seq = 10`) },
			seq:     10,
			problem: ProblemTailDeleted,
			events:  9,
		},
		{
			name:    "three newest deleted",
			tamper:  func(t *testing.T, db *sqlstore.DB) { mustExec(t, db, `DELETE FROM audit_events WHERE seq >= 8`) },
			seq:     8,
			problem: ProblemTailDeleted,
			events:  7,
		},
		{
			name:    "everything deleted",
			tamper:  func(t *testing.T, db *sqlstore.DB) { mustExec(t, db, `DELETE FROM audit_events`) },
			seq:     10,
			problem: ProblemTailDeleted,
			events:  0,
		},
		{
			name: "newest edited and re-hashed",
			tamper: func(t *testing.T, db *sqlstore.DB) {
				rewrite(t, db, 10, func(e *store.AuditEvent) { e.Reason = "nothing to see" })
			},
			seq:     10,
			problem: ProblemEdited,
			events:  10,
		},
		{
			name:    "event added past the head",
			tamper:  func(t *testing.T, db *sqlstore.DB) { appendAround(t, db, 10) },
			seq:     11,
			problem: ProblemInserted,
			events:  11,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				c := &clock{t: t0}
				rec := &Recorder{Store: db, Now: c.Now}
				recordN(t, rec, c, 10)
				if tc.tamper != nil {
					tc.tamper(t, db)
				}
				rep := mustVerify(t, db)
				if rep.Events != tc.events || rep.HeadSeq != 10 {
					t.Errorf("Verify() = %+v, want %d events checked against head seq 10", rep, tc.events)
				}
				if want := fmt.Sprintf("%d events checked", tc.events); !strings.Contains(rep.String(), want) {
					t.Errorf("Report.String() = %q, want it to say %q", rep, want)
				}
				if tc.problem == "" {
					if !rep.OK || rep.FirstSeq != 1 || rep.LastSeq != 10 || rep.Anchored {
						t.Errorf("Verify() = %+v, want OK over seq 1..10", rep)
					}
					return
				}
				if rep.OK || rep.BrokenSeq != tc.seq || rep.Problem != tc.problem {
					t.Errorf("Verify() = %v, want broken at seq %d: %s", rep, tc.seq, tc.problem)
				}
			})
		})
	}
}

func TestVerifyEmptyAndPaged(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	if rep := mustVerify(t, db); !rep.OK || rep.Events != 0 {
		t.Errorf("empty log: Verify() = %+v, want OK with 0 events", rep)
	}
	// More than one page of events.
	c := &clock{t: t0}
	rec := &Recorder{Store: db, Now: c.Now}
	n := pageSize + 5
	recordN(t, rec, c, n)
	if rep := mustVerify(t, db); !rep.OK || rep.Events != int64(n) {
		t.Errorf("Verify() = %+v, want OK with %d events", rep, n)
	}
	mustExec(t, db, fmt.Sprintf(`DELETE FROM audit_events WHERE seq = %d`, pageSize+1))
	if rep := mustVerify(t, db); rep.OK || rep.BrokenSeq != int64(pageSize+2) || rep.Problem != ProblemDeleted {
		t.Errorf("deletion across a page boundary: Verify() = %v", rep)
	}
}

func TestPrune(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		rec := &Recorder{Store: db, Now: c.Now}
		recordN(t, rec, c, 10) // seq 1..10 at t0 .. t0+9s

		n, err := Prune(t.Context(), rec, t0.Add(4500*time.Millisecond))
		if err != nil || n != 5 {
			t.Fatalf("Prune() = %d, %v, want 5 deleted", n, err)
		}
		pruned := mustList(t, db, store.AuditFilter{Action: string(AuditPruned)})
		if len(pruned) != 1 || !strings.Contains(pruned[0].Reason, "anchor_seq=5 ") || !strings.Contains(pruned[0].Reason, "count=5") {
			t.Fatalf("audit.pruned events = %+v, want one anchored at seq 5", pruned)
		}
		rep := mustVerify(t, db)
		if !rep.OK || !rep.Anchored || rep.FirstSeq != 6 || rep.LastSeq != 11 {
			t.Fatalf("after prune: Verify() = %+v, want OK, anchored, seq 6..11", rep)
		}

		// The chain continues, and a second prune (which deletes the
		// first audit.pruned event) keeps it verifiable.
		recordN(t, rec, c, 3)
		if n, err := Prune(t.Context(), rec, c.Now()); err != nil || n != 9 {
			t.Fatalf("second Prune() = %d, %v, want 9 deleted", n, err)
		}
		rep = mustVerify(t, db)
		if !rep.OK || !rep.Anchored || rep.Events != 1 {
			t.Fatalf("after pruning everything: Verify() = %+v, want OK with only the audit.pruned event", rep)
		}

		// Deleting the oldest remaining events is still caught.
		recordN(t, rec, c, 3)
		first := rep.FirstSeq
		mustExec(t, db, fmt.Sprintf(`DELETE FROM audit_events WHERE seq = %d`, first))
		if rep := mustVerify(t, db); rep.OK || rep.BrokenSeq != first+1 || rep.Problem != ProblemDeleted {
			t.Errorf("oldest event deleted after prune: Verify() = %v", rep)
		}
	})
}

func TestPruneNothing(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := &clock{t: t0}
	rec := &Recorder{Store: db, Now: c.Now}
	recordN(t, rec, c, 3)
	if n, err := Prune(t.Context(), rec, t0); err != nil || n != 0 {
		t.Errorf("Prune(before every event) = %d, %v, want 0", n, err)
	}
	if es := mustList(t, db, store.AuditFilter{}); len(es) != 3 {
		t.Errorf("%d events after an empty prune, want 3 (no audit.pruned event)", len(es))
	}
}

// TestPruneClockSkew: events from replicas whose clocks disagree are not
// in time order. Pruning by time alone would delete a straggler in the
// middle and leave a hole; Prune cuts before it instead.
func TestPruneClockSkew(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := &clock{t: t0}
	rec := &Recorder{Store: db, Now: c.Now}
	for _, off := range []time.Duration{0, 1, 5, 2, 6, 3} { // seconds after t0
		c.Set(t0.Add(off * time.Second))
		mustRecord(t, rec, Event{Action: TokenIssued, Result: ResultSuccess})
	}
	c.Set(t0.Add(time.Minute))
	n, err := Prune(t.Context(), rec, t0.Add(4*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("Prune() = %d, %v, want the 2 events before the first straggler", n, err)
	}
	if rep := mustVerify(t, db); !rep.OK || rep.FirstSeq != 3 {
		t.Errorf("Verify() = %+v, want OK from seq 3", rep)
	}
}

func TestPruneFutureCutOff(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := &clock{t: t0}
	rec := &Recorder{Store: db, Now: c.Now}
	recordN(t, rec, c, 4)
	n, err := Prune(t.Context(), rec, t0.Add(24*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("Prune(future) = %d, %v, want 4", n, err)
	}
	rep := mustVerify(t, db)
	if !rep.OK || rep.Events != 1 || rep.FirstSeq != 5 {
		t.Errorf("Verify() = %+v, want OK with only the audit.pruned event (seq 5)", rep)
	}
}

// brokenPrune records normally but fails to delete.
type brokenPrune struct{ store.AuditLog }

func (brokenPrune) PruneAudit(context.Context, time.Time) (int64, error) {
	return 0, errors.New("lock timeout")
}

// TestPruneInterrupted: the audit.pruned event is written before the
// delete, so a failed delete leaves an unused anchor, which Verify accepts,
// and a later prune still verifies.
func TestPruneInterrupted(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := &clock{t: t0}
	rec := &Recorder{Store: db, Now: c.Now}
	recordN(t, rec, c, 6)
	if _, err := Prune(t.Context(), &Recorder{Store: brokenPrune{db}, Now: c.Now}, t0.Add(3*time.Second)); err == nil {
		t.Fatal("Prune with a failing delete: error = nil")
	}
	if rep := mustVerify(t, db); !rep.OK || rep.Events != 7 {
		t.Errorf("after interrupted prune: Verify() = %+v, want OK with 7 events", rep)
	}
	c.Advance(time.Second)
	if n, err := Prune(t.Context(), rec, t0.Add(5*time.Second)); err != nil || n != 5 {
		t.Fatalf("Prune() = %d, %v, want 5", n, err)
	}
	if rep := mustVerify(t, db); !rep.OK || !rep.Anchored {
		t.Errorf("after prune: Verify() = %+v, want OK and anchored", rep)
	}
}

func TestParseAnchor(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		seq    int64
		ok     bool
	}{
		{"valid", "anchor_seq=5 anchor=0a0b before=x count=5", 5, true},
		{"order free", "count=1 anchor=ff anchor_seq=9", 9, true},
		{"no anchor", "anchor_seq=5 count=5", 0, false},
		{"bad hex", "anchor=zz anchor_seq=5", 0, false},
		{"empty hash", "anchor= anchor_seq=5", 0, false},
		{"bad seq", "anchor=ff anchor_seq=x", 0, false},
		{"empty", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, seq, ok := parseAnchor(tc.reason)
			if ok != tc.ok || (ok && seq != tc.seq) {
				t.Errorf("parseAnchor(%q) = %d, %v, want %d, %v", tc.reason, seq, ok, tc.seq, tc.ok)
			}
		})
	}
}
