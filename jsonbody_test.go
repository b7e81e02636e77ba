package gatehouse_test

import (
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestJSONBodyTrailingData checks that every JSON body is one JSON value
// and nothing else: a stray "]" or "}" after it (or a second value) is
// 400 invalid_json, on self-service, admin and action routes alike, and
// nothing is created. White space after the value is fine.
func TestJSONBodyTrailingData(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		routes := []struct{ method, path, body string }{
			{"POST", "/api-keys", `{"name":"k"}`},
			{"POST", "/admin/users", `{"username":"zed","password":"a long passphrase"}`},
			{"PUT", "/admin/users/alice/scopes", `{"scopes":["read"]}`},
			{"POST", "/admin/users/alice/logout", `{}`},
		}
		for _, rt := range routes {
			for _, trail := range []string{"]", "}", " ]", "\n}", "{}", `"x"`, "]]]"} {
				t.Run(rt.method+" "+rt.path+" "+trail, func(t *testing.T) {
					res, body := f.send(t, rt.method, rt.path, rt.body+trail, bearer(f.adminToken))
					if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_json" {
						t.Errorf("%s %s %q = %d %s, want 400 invalid_json", rt.method, rt.path, rt.body+trail, res.StatusCode, body)
					}
				})
			}
		}
		if _, err := f.s.LookupUser(t.Context(), "zed"); err == nil {
			t.Error("a body with trailing data created user zed")
		}
		res, body := f.send(t, "POST", "/admin/users", `{"username":"zed","password":"a long passphrase"}`+" \r\n\t", bearer(f.adminToken))
		if res.StatusCode != 201 {
			t.Errorf("body with trailing white space = %d %s, want 201", res.StatusCode, body)
		}
	})
}
