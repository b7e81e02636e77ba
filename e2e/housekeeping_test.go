package e2e_test

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/housekeeping"
)

// TestHousekeeping: the server's janitor deletes nothing that is live,
// deletes refresh tokens and revocation entries once they have expired
// (plus a margin), and revocation keeps working afterwards. The server
// runs in a synctest bubble, where the janitor's first run, a minute after
// start, comes at once; the test's clock makes a month pass. (What one
// run deletes, row by row, is internal/housekeeping's test.)
func TestHousekeeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newClock()
		s := newInProcessServer(t, withClock(clk))
		ctx := t.Context()
		mustCreateUser(t, s, "alice", "correct horse", "read")
		tok := mustToken(t, s, "alice", "correct horse")
		if _, err := s.Admin().LogoutUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		count := func(table string) int {
			t.Helper()
			var n int
			if err := s.DB.SQL().QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		refresh, revocations := count("refresh_tokens"), count("revocations")
		if refresh == 0 || revocations == 0 {
			t.Fatalf("%d refresh tokens and %d revocation entries after a login and a logout, want some", refresh, revocations)
		}
		time.Sleep(housekeeping.FirstAfter + time.Second)
		synctest.Wait()
		if r, v := count("refresh_tokens"), count("revocations"); r != refresh || v != revocations {
			t.Fatalf("the janitor's run with everything live left %d refresh tokens and %d revocation entries, want %d and %d",
				r, v, refresh, revocations)
		}

		// Past the refresh family's absolute lifetime (720h) and the
		// margin; the janitor of the server started then deletes them.
		clk.Advance(722 * time.Hour)
		s = s.restart(t)
		time.Sleep(housekeeping.FirstAfter + time.Second)
		synctest.Wait()
		if r, v := count("refresh_tokens"), count("revocations"); r != 0 || v != 0 {
			t.Fatalf("the janitor's run after everything expired left %d refresh tokens and %d revocation entries, want none", r, v)
		}
		res, body := s.postForm(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("refresh with a deleted token = %d %s, want 400 invalid_grant", res.StatusCode, body)
		}

		// A revocation made after the janitor ran is still enforced.
		fresh := bearerCred(mustToken(t, s, "alice", "correct horse")["access_token"].(string))
		if got := meStatus(t, s, fresh); got != http.StatusOK {
			t.Fatalf("GET /users/me with a fresh token = %d, want 200", got)
		}
		if _, err := s.Admin().LogoutUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := meStatus(t, s, fresh); got != http.StatusUnauthorized {
			t.Fatalf("GET /users/me after logout = %d, want 401", got)
		}
	})
}
