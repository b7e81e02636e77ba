package gatehouse_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestReviewAPIKeyScopesFollowOwner: a user's scopes are the most any key
// of theirs may carry (SPEC "Users"; README "never more than the owner's").
// When an admin takes a scope away from a user — here "admin" — a key that
// was created with it must lose it at once, the way the refresh grant
// already narrows to the user's current scopes. Before the fix the key kept
// the admin API for as long as it lived (forever without an expiry).
func TestReviewAPIKeyScopesFollowOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		m := f.s.Manager()
		// An admin makes alice a (scope-only) administrator; she mints a key with it.
		if _, err := m.SetScopes(t.Context(), manage.CLI(), f.user.ID, []string{"read", "write", "admin"}); err != nil {
			t.Fatal(err)
		}
		_, key, err := f.s.CreateAPIKey(t.Context(), f.user.Username, "kept", []string{"admin", "read", "write"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res, body := f.send(t, "GET", "/admin/users", "", apiKeyHeader(key)); res.StatusCode != 200 {
			t.Fatalf("admin key before demotion = %d %s", res.StatusCode, body)
		}
		// Demoted, over HTTP, by the real admin: admin and write are gone.
		if res, body := f.send(t, "PUT", "/admin/users/"+f.user.ID+"/scopes", `{"scopes":["read"]}`, apiKeyHeader(f.adminKey)); res.StatusCode != 200 {
			t.Fatalf("demote = %d %s", res.StatusCode, body)
		}
		if res, body := f.send(t, "GET", "/admin/users", "", apiKeyHeader(key)); res.StatusCode != http.StatusForbidden {
			t.Errorf("admin key after its owner lost admin = %d %s, want 403", res.StatusCode, body)
		}
		res, body := f.send(t, "GET", "/users/me", "", apiKeyHeader(key))
		if res.StatusCode != 200 {
			t.Fatalf("/users/me = %d %s", res.StatusCode, body)
		}
		if got := decode(t, body)["scopes"]; len(got.([]any)) != 1 || got.([]any)[0] != "read" {
			t.Errorf("/users/me scopes after demotion = %v, want [read]", got)
		}
		// Introspection (what remote guards ask) says the same.
		rs := mustClient(t, f.s, manage.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
		if got := introspect(t, f.s, rs, key)["scope"]; got != "read" {
			t.Errorf("introspect scope after demotion = %v, want read", got)
		}
		// Scopes given back are not restored to the key beyond what it was created with.
		if _, err := m.SetScopes(t.Context(), manage.CLI(), f.user.ID, []string{"read", "write", "admin", "extra"}); err != nil {
			t.Fatal(err)
		}
		_, body = f.send(t, "GET", "/users/me", "", apiKeyHeader(key))
		if got := decode(t, body)["scopes"]; len(got.([]any)) != 3 {
			t.Errorf("/users/me scopes after re-promotion = %v, want the key's own three", got)
		}
	})
}

var _ = url.Values{}
var _ = strings.Cut
