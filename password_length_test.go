package gatehouse_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestPasswordMinimumCountsCharacters: the 8-character minimum counts
// characters, not bytes — "éééé" is 8 bytes but 4 characters (issue 13,
// "Also"), on the admin API and the embedding API, on both stores.
func TestPasswordMinimumCountsCharacters(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		for i, pw := range []string{"éééé", "🔑🔑🔑🔑"} {
			res, body := f.send(t, "POST", "/admin/users/alice/password", `{"password":"`+pw+`"}`, bearer(f.adminToken))
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_password" {
				t.Errorf("reset password to %q = %d %s, want 400 invalid_password", pw, res.StatusCode, body)
			}
			var me *manage.Error
			if _, err := f.s.CreateUser(t.Context(), fmt.Sprintf("eve%d", i), pw, nil, false); !errors.As(err, &me) || me.Code != "invalid_password" {
				t.Errorf("CreateUser(password %q) error = %v, want invalid_password", pw, err)
			}
		}
		res, body := f.send(t, "POST", "/admin/users/alice/password", `{"password":"密码密码密码密码"}`, bearer(f.adminToken))
		if res.StatusCode != 200 {
			t.Errorf("reset password to 8 Chinese characters = %d %s, want 200", res.StatusCode, body)
		}
	})
}
