package main

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// sqlExec runs a statement on c's database directly, as someone with
// access to the database (not through gatehouse) would.
func (c *cli) sqlExec(query string) {
	c.t.Helper()
	db, err := sqlstore.Open(c.t.Context(), c.env["GATEHOUSE_DATABASE_URL"])
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(c.t.Context(), query); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
}

// TestAuditVerifyCatchesADeletedTail: `audit verify` says how many events
// it checked and fails when the newest events, or all of them, were
// deleted, on both stores.
func TestAuditVerifyCatchesADeletedTail(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		for _, name := range []string{"u1", "u2", "u3"} {
			if _, errOut, code := c.run("pass-word-1\n", "user", "create", name, "--password-stdin"); code != 0 {
				t.Fatalf("user create %s: exit %d: %s", name, code, errOut)
			}
		}
		var rep struct {
			OK      bool  `json:"ok"`
			Events  int64 `json:"events"`
			HeadSeq int64 `json:"head_seq"`
		}
		c.mustJSON("", &rep, "audit", "verify")
		if !rep.OK || rep.Events != 3 || rep.HeadSeq != 3 {
			t.Fatalf("audit verify --json = %+v, want ok with 3 events and head seq 3", rep)
		}
		if out, errOut, code := c.run("", "audit", "verify"); code != 0 || !strings.Contains(out, "3 events checked") {
			t.Fatalf("audit verify = exit %d, %q %q; want ok naming 3 events checked", code, out, errOut)
		}

		c.sqlExec(`DELETE FROM audit_events WHERE seq = 3`)
		_, errOut, code := c.run("", "audit", "verify")
		if code == 0 || !strings.Contains(errOut, "newest deleted") || !strings.Contains(errOut, "2 events checked") {
			t.Errorf("audit verify after deleting the newest event = exit %d, %q; want a failure naming the deleted tail", code, errOut)
		}
		c.sqlExec(`DELETE FROM audit_events`)
		if _, errOut, code := c.run("", "audit", "verify"); code == 0 || !strings.Contains(errOut, "every event was deleted") {
			t.Errorf("audit verify after deleting every event = exit %d, %q; want a failure", code, errOut)
		}
	})
}
