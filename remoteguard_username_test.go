package gatehouse_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
)

// TestRemoteGuardSamePrincipal: a handler behind a remote guard sees the
// principal it would see behind the embedded guard — the username of a
// user's access token too (learned by introspecting the token once), and
// none for a client's own token, which costs no call (issue 13 item 15).
func TestRemoteGuardSamePrincipal(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		follower := mustFollower(t, s)
		var calls atomic.Int64
		remote := mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.HTTPClient = &http.Client{Transport: countIntrospections(&calls, http.DefaultTransport)}
		})
		user := mustToken(t, s, "alice", "correct horse battery")["access_token"].(string)
		tests := []struct {
			name      string
			token     string
			wantUser  string
			wantCalls int64 // the first request; the others are answered from the cache
		}{
			{"user token", user, "alice", 1},
			{"client credentials token", clientToken(t, s, follower), "", 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				embedded, err := s.Guard().Authenticate(bearerCred(tc.token).request(s.URL + "/users/me"))
				if err != nil {
					t.Fatalf("embedded guard: %v", err)
				}
				before := calls.Load()
				for i := range 3 {
					p, err := remote.Authenticate(bearerCred(tc.token).request("http://resource.example/"))
					if err != nil {
						t.Fatalf("remote guard, request %d: %v", i, err)
					}
					if diff := cmp.Diff(embedded, p); diff != "" || p.Username != tc.wantUser {
						t.Errorf("remote principal differs from the embedded one (-embedded +remote):\n%s", diff)
					}
				}
				if n := calls.Load() - before; n != tc.wantCalls {
					t.Errorf("introspection calls = %d, want %d", n, tc.wantCalls)
				}
			})
		}
	})
}
