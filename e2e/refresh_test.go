package e2e_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Refresh tokens: rotation with a grace window for a second tab, reuse
// that revokes the family, per-client binding, scopes, lifetimes.

func TestAttackRefreshTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newOAuthFixture(t, newServer)

		t.Run("grace returns the same successor, replay after it revokes the family", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			rt := tok["refresh_token"].(string)
			st1, r1 := f.refresh(t, f.a, rt, nil)
			f.clock.Advance(2 * time.Second)
			st2, r2 := f.refresh(t, f.a, rt, nil) // the second tab
			if st1 != 200 || st2 != 200 {
				t.Fatalf("concurrent refreshes = %d %v / %d %v", st1, r1, st2, r2)
			}
			if r1["refresh_token"] != r2["refresh_token"] || r1["refresh_token"] == rt {
				t.Fatalf("refreshes within the grace window got different successors")
			}
			for _, at := range []any{r1["access_token"], r2["access_token"]} {
				if !guardAccepts(t, f.s, at.(string)) {
					t.Error("access token from a grace refresh refused")
				}
			}
			// After the window, the used token is a replay: the whole
			// family dies, access tokens included.
			f.clock.Advance(10 * time.Second)
			st, m := f.refresh(t, f.a, rt, nil)
			wantOAuthError(t, "replayed refresh token", st, m, 400, "invalid_grant")
			for i, at := range []any{tok["access_token"], r1["access_token"], r2["access_token"]} {
				if guardAccepts(t, f.s, at.(string)) {
					t.Errorf("access token %d of a replayed family still accepted", i)
				}
			}
			st, m = f.refresh(t, f.a, r1["refresh_token"].(string), nil)
			wantOAuthError(t, "successor of a replayed token", st, m, 400, "invalid_grant")
		})
		t.Run("grace is per client", func(t *testing.T) {
			rt := f.login(t, f.a, "")["refresh_token"].(string)
			if st, m := f.refresh(t, f.a, rt, nil); st != 200 {
				t.Fatalf("refresh = %d %v", st, m)
			}
			st, m := f.refresh(t, f.b, rt, nil)
			wantOAuthError(t, "client B replaying A's used token in the grace window", st, m, 400, "invalid_grant")
		})
		t.Run("refresh by another client", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			st, m := f.refresh(t, f.b, tok["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh with another client's token", st, m, 400, "invalid_grant")
			// The first-party client's token is not A's either.
			fp := mustToken(t, f.s, "alice", "correct horse battery")
			st, m = f.refresh(t, f.a, fp["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh of a first-party token by client A", st, m, 400, "invalid_grant")
			// The rightful client still can.
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("rightful refresh after a foreign attempt = %d %v", st, m)
			}
		})
		t.Run("scope narrowing and widening", func(t *testing.T) {
			rt := f.login(t, f.a, "read")["refresh_token"].(string)
			st, m := f.refresh(t, f.a, rt, url.Values{"scope": {"read write"}})
			wantOAuthError(t, "refresh widening scope", st, m, 400, "invalid_scope")
			st, m = f.refresh(t, f.a, rt, url.Values{"scope": {"read"}})
			if st != 200 || m["scope"] != "read" {
				t.Fatalf("refresh keeping scope = %d %v", st, m)
			}
			full := f.login(t, f.a, "read write")["refresh_token"].(string)
			st, m = f.refresh(t, f.a, full, url.Values{"scope": {"write"}})
			if st != 200 || m["scope"] != "write" {
				t.Errorf("refresh narrowing scope = %d %v, want scope write", st, m)
			}
		})
		t.Run("idle and absolute lifetimes", func(t *testing.T) {
			g := newOAuthFixture(t, newServer, func(c *gatehouse.Config) {
				c.RefreshIdleTTL = time.Hour
				c.RefreshTokenTTL = 3 * time.Hour
			})
			rt := g.login(t, g.a, "")["refresh_token"].(string)
			g.clock.Advance(61 * time.Minute)
			st, m := g.refresh(t, g.a, rt, nil)
			wantOAuthError(t, "refresh after the idle lifetime", st, m, 400, "invalid_grant")

			rt = g.login(t, g.a, "")["refresh_token"].(string)
			for range 3 { // used every 50 minutes: never idle, but the family ends after 3h
				g.clock.Advance(50 * time.Minute)
				st, m := g.refresh(t, g.a, rt, nil)
				if st != 200 {
					t.Fatalf("refresh within the lifetimes = %d %v", st, m)
				}
				rt = m["refresh_token"].(string)
			}
			g.clock.Advance(50 * time.Minute)
			st, m = g.refresh(t, g.a, rt, nil)
			wantOAuthError(t, "refresh after the absolute lifetime", st, m, 400, "invalid_grant")
		})
		t.Run("malformed and unknown refresh tokens", func(t *testing.T) {
			for _, v := range []string{"grt_x", "nope", strings.Repeat("a", 2000), "grt_" + strings.Repeat("A", 60)} {
				st, m := f.refresh(t, f.a, v, nil)
				wantOAuthError(t, "refresh "+v[:min(len(v), 10)], st, m, 400, "invalid_grant")
			}
		})
		t.Run("deleted client", func(t *testing.T) {
			c := mustClient(t, f.s, gatehouse.NewClient{GrantTypes: []string{"password", "refresh_token"}})
			tok := f.login(t, c, "")
			if err := f.s.Admin().DeleteClient(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
			st, m := f.refresh(t, c, tok["refresh_token"].(string), nil)
			wantOAuthError(t, "refresh by a deleted client", st, m, 401, "invalid_client")
			if guardAccepts(t, f.s, tok["access_token"].(string)) {
				t.Error("a deleted client's access token is still accepted")
			}
		})
	})
}
