package gatehouse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestScopeNameWithCommaRefused checks issue 13 item 18 on the server: a
// comma inside a scope name ("read,write", which someone meant as two
// scopes) is refused with a clear 400 wherever scopes are set — users,
// clients, API keys, the admin API, self-service and the embedding API —
// on both stores.
func TestScopeNameWithCommaRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		cc := mustClient(t, f.s, manage.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}})
		tests := []struct {
			name               string
			method, path, body string
			hdr                map[string]string
		}{
			{"create user", "POST", "/admin/users", `{"username":"carol","scopes":["read,write"]}`, bearer(f.adminToken)},
			{"set user scopes", "PUT", "/admin/users/alice/scopes", `{"scopes":["read","a,b"]}`, bearer(f.adminToken)},
			{"create client", "POST", "/admin/clients", `{"name":"c","grant_types":["client_credentials"],"scopes":["read,write"]}`, bearer(f.adminToken)},
			{"update client", "PATCH", "/admin/clients/" + cc.ID, `{"scopes":["read,write"]}`, bearer(f.adminToken)},
			{"create own key", "POST", "/api-keys", `{"scopes":["read,write"]}`, bearer(f.userToken)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, body := f.send(t, tc.method, tc.path, tc.body, tc.hdr)
				m := decode(t, body)
				if res.StatusCode != 400 || m["error"] != "invalid_scope" || !strings.Contains(m["error_description"].(string), "comma") {
					t.Errorf("%s %s %s = %d %s, want 400 invalid_scope naming the comma", tc.method, tc.path, tc.body, res.StatusCode, body)
				}
			})
		}
		if _, err := f.s.CreateUser(context.Background(), "dave", adminTestPassword, []string{"read,write"}, false); err == nil {
			t.Error(`Server.CreateUser(scopes ["read,write"]) = nil error, want one`)
		}
	})
}

// TestMetricsScopeWithComma: --metrics-scope names one scope.
func TestMetricsScopeWithComma(t *testing.T) {
	cfg := gatehouse.Config{MetricsScope: "metrics,admin"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "metrics scope") {
		t.Errorf("Validate(MetricsScope %q) = %v, want an error about the metrics scope", cfg.MetricsScope, err)
	}
}
