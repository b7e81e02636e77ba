package main

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/service"
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

// TestAuditCommandFiltersAndOrder: `audit` takes a username for --actor,
// names users beside their ids, shows the newest events first (--limit
// keeps the newest, --reverse prints them oldest first) and refuses an
// unknown --action or --result instead of printing nothing.
func TestAuditCommandFiltersAndOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		var alice, bob struct{ ID string }
		c.mustJSON("pass-word-1\n", &alice, "user", "create", "alice", "--password-stdin")
		c.mustJSON("pass-word-2\n", &bob, "user", "create", "bob", "--password-stdin")
		base := c.serve(io.Discard)
		res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pass-word-1"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("alice's login = %d", res.StatusCode)
		}

		var byAlice []service.AuditEntry
		c.mustJSON("", &byAlice, "audit", "--actor", "alice")
		if len(byAlice) == 0 {
			t.Fatal("audit --actor alice found nothing: a username must be accepted")
		}
		for _, e := range byAlice {
			if e.Actor != alice.ID || e.ActorName != "alice" {
				t.Errorf("audit --actor alice: actor %q name %q, want %q named alice", e.Actor, e.ActorName, alice.ID)
			}
		}

		var created []service.AuditEntry
		c.mustJSON("", &created, "audit", "--action", "user.created", "--reverse")
		var names []string
		for _, e := range created {
			names = append(names, e.TargetName)
		}
		if !slices.Equal(names, []string{"alice", "bob"}) {
			t.Errorf("user.created target names, oldest first = %q, want alice, bob", names)
		}
		if out, _, _ := c.run("", "audit", "--action", "user.created"); !strings.Contains(out, "alice ("+alice.ID+")") {
			t.Errorf("audit table = %q, want the username beside the id", out)
		}

		var all, newest, reversed []service.AuditEntry
		c.mustJSON("", &all, "audit")
		c.mustJSON("", &newest, "audit", "--limit", "2")
		c.mustJSON("", &reversed, "audit", "--limit", "2", "--reverse")
		if len(all) < 4 || len(newest) != 2 || len(reversed) != 2 {
			t.Fatalf("audit: %d events, --limit 2: %d, --reverse: %d", len(all), len(newest), len(reversed))
		}
		if all[0].Seq < all[len(all)-1].Seq {
			t.Errorf("audit lists seq %d first and %d last, want the newest first", all[0].Seq, all[len(all)-1].Seq)
		}
		if newest[0].Seq != all[0].Seq || newest[1].Seq != all[1].Seq {
			t.Errorf("audit --limit 2 = seq %d, %d, want the two newest %d, %d", newest[0].Seq, newest[1].Seq, all[0].Seq, all[1].Seq)
		}
		if reversed[0].Seq != newest[1].Seq || reversed[1].Seq != newest[0].Seq {
			t.Errorf("audit --limit 2 --reverse = seq %d, %d, want %d, %d", reversed[0].Seq, reversed[1].Seq, newest[1].Seq, newest[0].Seq)
		}

		for _, args := range [][]string{{"--action", "bogus"}, {"--action", "login.faild"}, {"--result", "ok"}} {
			_, errOut, code := c.run("", append([]string{"audit"}, args...)...)
			if code == 0 || !strings.Contains(errOut, "known") {
				t.Errorf("audit %q = exit %d, %q; want a refusal naming the known values", args, code, errOut)
			}
		}
		if _, errOut, _ := c.run("", "audit", "--action", "bogus"); !strings.Contains(errOut, "login.failed") {
			t.Errorf("audit --action bogus: %q, want the known actions listed", errOut)
		}
	})
}
