package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// auditPage is one page of GET /admin/audit.
type auditPage struct {
	Items      []manage.AuditEntry `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

func (f *adminFixture) auditPage(t *testing.T, query string) auditPage {
	t.Helper()
	res, body := f.send(t, "GET", "/admin/audit"+query, "", apiKeyHeader(f.adminKey))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/audit%s = %d %s", query, res.StatusCode, body)
	}
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdminAuditNamesOrderAndRefusals: /admin/audit finds events by a username, names
// the users and clients beside their ids (resolved when read, so a deleted
// client shows its id only), lists newest first with order=desc (oldest
// first stays the default), and refuses what would otherwise silently
// match nothing or everything: an unknown action or result, an unknown
// order, a zero or absurd time bound.
func TestAdminAuditNamesOrderAndRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		ctx := context.Background()
		mustToken(t, f.s, "alice", adminTestPassword) // login.succeeded by alice
		c, err := f.s.Manager().CreateClient(ctx, manage.CLI(), manage.NewClient{Name: "billing", GrantTypes: []string{"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}

		byName := f.auditPage(t, "?actor=alice&action=login.succeeded")
		if len(byName.Items) == 0 {
			t.Fatal("GET /admin/audit?actor=alice found nothing: a username must be accepted")
		}
		for _, e := range byName.Items {
			if e.Actor != f.user.ID || e.ActorName != "alice" {
				t.Errorf("event by alice: actor %q name %q, want %q named alice", e.Actor, e.ActorName, f.user.ID)
			}
		}
		if byID := f.auditPage(t, "?actor="+f.user.ID+"&action=login.succeeded"); len(byID.Items) != len(byName.Items) {
			t.Errorf("by id %d events, by username %d", len(byID.Items), len(byName.Items))
		}

		created := f.auditPage(t, "?action=client.created")
		if n := len(created.Items); n == 0 || created.Items[n-1].Target != c.ID || created.Items[n-1].TargetName != "billing" {
			t.Fatalf("client.created events = %+v, want the last one on %s named billing", created.Items, c.ID)
		}
		if err := f.s.Manager().DeleteClient(ctx, manage.CLI(), c.ID); err != nil {
			t.Fatal(err)
		}
		created = f.auditPage(t, "?action=client.created")
		if last := created.Items[len(created.Items)-1]; last.Target != c.ID || last.TargetName != "" {
			t.Errorf("after deleting the client: target %q name %q, want the id only", last.Target, last.TargetName)
		}

		// Order: oldest first by default and with order=asc; order=desc
		// pages newest first.
		var asc, desc []int64
		for _, e := range f.auditPage(t, "?limit=500").Items {
			asc = append(asc, e.Seq)
		}
		if !slices.IsSorted(asc) || len(asc) < 5 {
			t.Fatalf("default order = %v, want oldest first", asc)
		}
		if got := f.auditPage(t, "?order=asc&limit=500").Items; len(got) != len(asc) || got[0].Seq != asc[0] {
			t.Errorf("order=asc differs from the default")
		}
		cursor := ""
		for {
			q := "?order=desc&limit=2"
			if cursor != "" {
				q += "&after=" + cursor
			}
			p := f.auditPage(t, q)
			for _, e := range p.Items {
				desc = append(desc, e.Seq)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		want := slices.Clone(asc)
		slices.Reverse(want)
		if !slices.Equal(desc, want[:len(desc)]) || len(desc) < len(asc) {
			t.Errorf("order=desc pages = %v, want %v", desc, want)
		}

		for _, tc := range []struct{ query, code string }{
			{"?action=bogus", "invalid_action"},
			{"?action=login.faild", "invalid_action"},
			{"?result=ok", "invalid_result"},
			{"?order=sideways", "invalid_order"},
			{"?until=0001-01-01T00:00:00Z", "invalid_time"},
			{"?since=0001-01-01T00:00:00Z", "invalid_time"},
			{"?until=1900-01-01T00:00:00Z", "invalid_time"},
			{"?since=" + strconv.Itoa(60_000) + "d", "invalid_time"}, // 164 years back
		} {
			res, body := f.send(t, "GET", "/admin/audit"+tc.query, "", apiKeyHeader(f.adminKey))
			if res.StatusCode != http.StatusBadRequest || decode(t, body)["error"] != tc.code {
				t.Errorf("GET /admin/audit%s = %d %s, want 400 %s", tc.query, res.StatusCode, body, tc.code)
			}
			if tc.code == "invalid_action" && !strings.Contains(string(body), "login.failed") {
				t.Errorf("GET /admin/audit%s = %s, want the known actions listed", tc.query, body)
			}
		}
	})
}
