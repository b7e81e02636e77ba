package gatehouse_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// keyScopes returns the scopes a key carries, as /users/me reports them.
func keyScopes(t *testing.T, s *testServer, key string) []string {
	t.Helper()
	res, body := get(t, s.URL+"/users/me", apiKeyHeader(key))
	if res.StatusCode != 200 {
		t.Fatalf("/users/me with the new key = %d %s", res.StatusCode, body)
	}
	got := []string{}
	for _, v := range decode(t, body)["scopes"].([]any) {
		got = append(got, v.(string))
	}
	slices.Sort(got)
	return got
}

// TestAPIKeyEmptyScopesMeanNone checks issue 13 item 4: an empty scope
// list is a key with no scopes, never "all of the owner's"; only an absent
// list means the default, which is the owner's scopes within the caller's.
// Through the self-service API and the embedding API, on both stores.
func TestAPIKeyEmptyScopesMeanNone(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		ctx := context.Background()
		rootRead := mustToken(t, f.s, "root", adminTestPassword, "read")["access_token"].(string)
		tests := []struct {
			name string
			hdr  map[string]string
			body string
			want []string
		}{
			{"empty list", bearer(f.adminToken), `{"scopes":[]}`, []string{}},
			{"absent: the owner's", bearer(f.adminToken), `{"name":"all"}`, []string{"admin", "read", "write"}},
			{"no body: the owner's", bearer(f.adminToken), ``, []string{"admin", "read", "write"}},
			{"null: as absent", bearer(f.adminToken), `{"scopes":null}`, []string{"admin", "read", "write"}},
			{"empty list, narrow caller", bearer(rootRead), `{"scopes":[]}`, []string{}},
			{"absent, narrow caller: the owner's within the caller's", bearer(rootRead), `{}`, []string{"read"}},
		}
		for _, tc := range tests {
			t.Run("POST /api-keys "+tc.name, func(t *testing.T) {
				res, body := f.send(t, "POST", "/api-keys", tc.body, tc.hdr)
				if res.StatusCode != 201 {
					t.Fatalf("POST /api-keys %s = %d %s, want 201", tc.body, res.StatusCode, body)
				}
				if got := keyScopes(t, f.s, decode(t, body)["key"].(string)); !slices.Equal(got, tc.want) {
					t.Errorf("POST /api-keys %s: key scopes = %v, want %v", tc.body, got, tc.want)
				}
			})
		}
		t.Run("Server.CreateAPIKey", func(t *testing.T) {
			_, none, err := f.s.CreateAPIKey(ctx, "root", "none", []string{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyScopes(t, f.s, none); len(got) != 0 {
				t.Errorf("CreateAPIKey(scopes []string{}) scopes = %v, want none", got)
			}
			_, all, err := f.s.CreateAPIKey(ctx, "root", "all", nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := keyScopes(t, f.s, all); !slices.Equal(got, []string{"admin", "read", "write"}) {
				t.Errorf("CreateAPIKey(scopes nil) scopes = %v, want the owner's", got)
			}
		})
	})
}
