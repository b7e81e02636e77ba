package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestUsernameImpersonationRefused: a name mixing scripts ("rооt" with
// Cyrillic о) or written wholly in look-alikes of a Latin name is refused
// wherever users are created — the admin API and the embedding API — on
// both stores (issue 13, "Also"); names in one script are welcome.
func TestUsernameImpersonationRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		for name, code := range map[string]string{"rооt": "mixed_script", "аlice": "mixed_script", "аре": "confusable_username"} {
			res, body := f.send(t, "POST", "/admin/users", `{"username":"`+name+`","password":"a long passphrase"}`, bearer(f.adminToken))
			if res.StatusCode != 400 || decode(t, body)["error"] != code {
				t.Errorf("POST /admin/users %q = %d %s, want 400 %s", name, res.StatusCode, body, code)
			}
			if _, err := f.s.CreateUser(t.Context(), name, "a long passphrase", nil, false); err == nil {
				t.Errorf("CreateUser(%q) = nil error, want %s", name, code)
			}
		}
		res, body := f.send(t, "POST", "/admin/users", `{"username":"Алиса","password":"a long passphrase"}`, bearer(f.adminToken))
		if res.StatusCode != 201 || decode(t, body)["username"] != "алиса" {
			t.Errorf("POST /admin/users Алиса = %d %s, want 201 алиса", res.StatusCode, body)
		}
	})
}
