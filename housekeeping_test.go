package gatehouse_test

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestHousekeeping: the janitor deletes nothing that is live, deletes
// refresh tokens and revocation entries once they have expired (plus a
// margin), and revocation keeps working afterwards.
func TestHousekeeping(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		var skew atomic.Int64
		s := newServer(t, func(c *gatehouse.Config) {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		})
		ctx := t.Context()
		mustCreateUser(t, s, "alice", "correct horse", "read")
		tok := mustToken(t, s, "alice", "correct horse")
		if _, err := s.Manager().Logout(ctx, manage.CLI(), "alice"); err != nil {
			t.Fatal(err)
		}
		if n := gatehouse.Housekeep(ctx, s.Server); n["refresh_tokens"] != 0 || n["revocations"] != 0 {
			t.Fatalf("Housekeep() with everything live = %v, want nothing deleted", n)
		}

		// Past the refresh family's absolute lifetime (720h) and the margin.
		skew.Store(int64(722 * time.Hour))
		n := gatehouse.Housekeep(ctx, s.Server)
		if n["refresh_tokens"] < 1 || n["revocations"] < 1 {
			t.Fatalf("Housekeep() after everything expired = %v, want the refresh token and the logout entry deleted", n)
		}
		res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("refresh with a deleted token = %d %s, want 400 invalid_grant", res.StatusCode, body)
		}

		// A revocation made after the janitor ran is still enforced.
		fresh := mustToken(t, s, "alice", "correct horse")["access_token"].(string)
		hdr := map[string]string{"Authorization": "Bearer " + fresh}
		if res, body := get(t, s.URL+"/users/me", hdr); res.StatusCode != http.StatusOK {
			t.Fatalf("GET /users/me with a fresh token = %d %s", res.StatusCode, body)
		}
		if _, err := s.Manager().Logout(ctx, manage.CLI(), "alice"); err != nil {
			t.Fatal(err)
		}
		if res, _ := get(t, s.URL+"/users/me", hdr); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET /users/me after logout = %d, want 401", res.StatusCode)
		}
	})
}
