package gatehouse_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestUnstorableQueryIsRefused: a query string holding a NUL byte or
// invalid UTF-8 is a 400 with a JSON body on every route and store, also
// when another part of the query does not parse (the screening used to
// let such a query through, and PostgreSQL answered SQLSTATE 22021: 500).
// A query that does not parse at all is refused the same way: its
// parameters would otherwise be dropped without a word.
func TestUnstorableQueryIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		tests := []struct {
			name, path string
			hdr        map[string]string
		}{
			{"own keys, NUL cursor", "/api-keys?after=%00&x=%zz", apiKeyHeader(f.userKey)},
			{"own keys, invalid utf-8 cursor", "/api-keys?after=%ff&x=%zz", apiKeyHeader(f.userKey)},
			{"users", "/admin/users?after=%00&x=%zz", apiKeyHeader(f.adminKey)},
			{"users, invalid utf-8", "/admin/users?after=%ff&x=%zz", apiKeyHeader(f.adminKey)},
			{"audit actor", "/admin/audit?actor=%ff&x=%zz", apiKeyHeader(f.adminKey)},
			{"audit actor NUL", "/admin/audit?actor=%00&x=%zz", apiKeyHeader(f.adminKey)},
			{"api keys of a user", "/admin/api-keys?user=%00&x=%zz", apiKeyHeader(f.adminKey)},
			{"api keys of a user, invalid utf-8", "/admin/api-keys?user=%ff&x=%zz", apiKeyHeader(f.adminKey)},
			{"clients", "/admin/clients?after=%ff&x=%zz", apiKeyHeader(f.adminKey)},
			{"clients NUL", "/admin/clients?after=%00&x=%zz", apiKeyHeader(f.adminKey)},
			{"semicolon separator", "/admin/audit?actor=%ff;x=1", apiKeyHeader(f.adminKey)},
			{"query that does not parse", "/admin/users?after=%zz", apiKeyHeader(f.adminKey)},
			{"unauthenticated", "/api-keys?after=%00&x=%zz", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, body := get(t, f.s.URL+tc.path, tc.hdr)
				if res.StatusCode != http.StatusBadRequest {
					t.Fatalf("GET %s = %d %.200s, want 400", tc.path, res.StatusCode, body)
				}
				if m := decode(t, body); m["error"] != "invalid_request" {
					t.Errorf("GET %s body = %v, want error invalid_request", tc.path, m)
				}
			})
		}
	})
}

// TestUnstorableJSONTextIsRefused: a JSON body can spell a NUL byte
// ("\u0000"; invalid UTF-8 is already replaced by the decoder), and no
// field that reaches the store may carry one: each is a 400 with a JSON
// body, never a 500, on both stores. Creating a key needs a password
// login (see the account rule), so those cases use the user's token.
func TestUnstorableJSONTextIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		f := newAdminFixture(t, newServer)
		tests := []struct {
			name, method, path, body string
			hdr                      map[string]string
		}{
			{"key name", "POST", "/api-keys", `{"name":"a\u0000b"}`, bearer(f.userToken)},
			{"key scope", "POST", "/api-keys", `{"scopes":["re\u0000ad"]}`, bearer(f.userToken)},
			{"key rate limit", "POST", "/api-keys", `{"rate_limit":"1\u0000/s"}`, bearer(f.userToken)},
			{"username", "POST", "/admin/users", `{"username":"bo\u0000b","password":"a long passphrase"}`, apiKeyHeader(f.adminKey)},
			{"user scopes", "PUT", "/admin/users/alice/scopes", `{"scopes":["re\u0000ad"]}`, apiKeyHeader(f.adminKey)},
			{"client name", "POST", "/admin/clients", `{"name":"x\u0000","grant_types":["client_credentials"]}`, apiKeyHeader(f.adminKey)},
			{"client redirect uri", "POST", "/admin/clients", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["https://app.example/\u0000"]}`, apiKeyHeader(f.adminKey)},
			{"client rename", "PATCH", "/admin/clients/gatehouse", `{"name":"x\u0000"}`, apiKeyHeader(f.adminKey)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, body := f.send(t, tc.method, tc.path, tc.body, tc.hdr)
				if res.StatusCode != http.StatusBadRequest {
					t.Fatalf("%s %s %s = %d %.200s, want 400", tc.method, tc.path, tc.body, res.StatusCode, body)
				}
				if m := decode(t, body); m["error"] == nil || m["error"] == "" {
					t.Errorf("body %v has no error code", m)
				}
			})
		}
	})
}
