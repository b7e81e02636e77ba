package gatehouse_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestLoginLockedRecordsNoTypedName types a password into the username
// field until the login is refused: the login.locked audit event names the
// account when there is one, and otherwise does not repeat what was typed
// (as login.failed does not), because that is where a mistyped password
// ends up.
func TestLoginLockedRecordsNoTypedName(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t, func(c *gatehouse.Config) { c.LoginMaxFailures = 2 })
		mustCreateUser(t, s, "bob", "bob-password-1", "read")
		const typed = "my-secret-passw0rd" // a valid username, so it is throttled as one
		for _, name := range []string{typed, "bob"} {
			for range 3 {
				doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {name}, "password": {"wrong-password"}}, nil)
			}
		}
		evs, err := s.Store().ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatal("no login.locked event")
		}
		for _, e := range evs {
			if strings.Contains(e.Target+e.Reason, typed) {
				t.Errorf("login.locked event %+v holds what was typed as the username", e)
			}
		}
		if logs := s.Logs.String(); strings.Contains(logs, typed) {
			t.Errorf("the log holds what was typed as the username")
		}
	})
}
