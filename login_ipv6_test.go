package gatehouse_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// loginForm is the password grant's form.
func loginForm(user, pw string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
}

// loginFrom posts a password grant as if from addr, through a trusted
// proxy (the test server must trust 127.0.0.1).
func loginFrom(t *testing.T, s *testServer, addr, user, pw string) (int, string) {
	t.Helper()
	res, body := doForm(t, s.URL+"/token", loginForm(user, pw), http.Header{"X-Forwarded-For": {addr}})
	return res.StatusCode, string(body)
}

// TestLoginIPLimitGroupsIPv6: the per-address failed-login limit counts an
// IPv6 client by its /64, like every other per-address limit, so rotating
// addresses inside one /64 does not reset it; and the refusals are audited
// once per /64, not once per address.
func TestLoginIPLimitGroupsIPv6(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t, func(c *gatehouse.Config) {
			c.LoginIPLimit = "3/h"
			c.TrustedProxies = []string{"127.0.0.1/32"}
		})
		mustCreateUser(t, s, "alice", "alice-password", "read")
		for i := range 3 {
			addr := fmt.Sprintf("2001:db8:1:2::%x", i+1)
			if code, body := loginFrom(t, s, addr, fmt.Sprintf("user%d", i), "wrong-password"); code != 400 {
				t.Fatalf("failure %d from %s = %d %s, want 400", i+1, addr, code, body)
			}
		}
		before, _ := s.Store().ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		for i := range 5 {
			addr := fmt.Sprintf("2001:db8:1:2:%x::9", i+1)
			if code, _ := loginFrom(t, s, addr, "alice", "alice-password"); code != 429 {
				t.Errorf("login from %s, in the /64 that failed 3 times = %d, want 429", addr, code)
			}
		}
		after, _ := s.Store().ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		if n := len(after) - len(before); n != 1 {
			t.Errorf("5 refusals from one /64 wrote %d login.locked events, want 1 (sampled per /64)", n)
		}
		if code, body := loginFrom(t, s, "2001:db8:1:3::1", "alice", "alice-password"); code != 200 {
			t.Errorf("login from another /64 = %d %.200s, want 200", code, body)
		}
	})
}
