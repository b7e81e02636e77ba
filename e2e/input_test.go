package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// What the API takes as input: text the stores can hold (no NUL byte, no
// invalid UTF-8, no control characters in labels) and JSON bodies of one
// value. Each route's own malformed input is in its subject's file.

// TestUnstorableQueryIsRefused: a query string holding a NUL byte or
// invalid UTF-8 is a 400 with a JSON body on every route and store, also
// when another part of the query does not parse (the screening used to
// let such a query through, and PostgreSQL answered SQLSTATE 22021: 500).
// A query that does not parse at all is refused the same way: its
// parameters would otherwise be dropped without a word.
func TestUnstorableQueryIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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

// TestUnstorableTextIsRefused: PostgreSQL text cannot hold a NUL byte or
// invalid UTF-8, and such a value must not reach a query (a 500 for
// anyone, unauthenticated too: GET /oauth2/authorize?client_id=%00) nor be
// stored by SQLite: in every admin path parameter, cursor and filter, and
// on the authorization endpoint, it is a 400 on both backends; and a label
// (API key or client name) may not carry control characters, which also
// keeps terminal escapes out of the CLI's listings.
func TestUnstorableTextIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		cc := mustClient(t, f.s, gatehouse.NewClient{Name: "web", RedirectURIs: []string{"https://app.example/cb"}, GrantTypes: []string{"authorization_code"}})
		for _, junk := range []string{"%00", "a%00b", "%c0%80", "%ff%fe"} {
			admin := []route{
				{"GET", "/admin/users?after=" + junk, ""}, {"GET", "/admin/api-keys?after=" + junk, ""},
				{"GET", "/admin/clients?after=" + junk, ""}, {"GET", "/admin/audit?actor=" + junk, ""},
				{"GET", "/admin/audit?action=" + junk + "&result=" + junk, ""},
				{"GET", "/admin/users/" + junk, ""}, {"GET", "/admin/users/x/api-keys?after=" + junk, ""},
				{"GET", "/admin/api-keys/" + junk, ""}, {"DELETE", "/admin/api-keys/" + junk, ""},
				{"GET", "/admin/clients/" + junk, ""}, {"DELETE", "/admin/clients/" + junk, ""},
				{"POST", "/admin/users/" + junk + "/disable", ""}, {"PUT", "/admin/users/" + junk + "/scopes", `{"scopes":[]}`},
			}
			for _, rt := range admin {
				res, body := f.send(t, rt.method, rt.path, rt.body, bearer(f.adminToken))
				if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusNotFound {
					t.Errorf("admin %s %s = %d %s, want 400 or 404", rt.method, rt.path, res.StatusCode, body)
				}
			}
			for _, rt := range []route{{"GET", "/api-keys?after=" + junk, ""}, {"DELETE", "/api-keys/" + junk, ""}} {
				res, body := f.send(t, rt.method, rt.path, rt.body, bearer(f.userToken))
				if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusNotFound {
					t.Errorf("user %s %s = %d %s, want 400 or 404", rt.method, rt.path, res.StatusCode, body)
				}
			}
			for _, q := range []string{"client_id=" + junk + "&response_type=code", "client_id=" + cc.ID + "&response_type=code&redirect_uri=" + junk} {
				res, body := get(t, f.s.URL+"/oauth2/authorize?"+q, nil)
				if res.StatusCode != http.StatusBadRequest {
					t.Errorf("GET /oauth2/authorize?%s = %d %.200s, want 400", q, res.StatusCode, body)
				}
				req, _ := http.NewRequest("POST", f.s.URL+"/oauth2/authorize", strings.NewReader(q))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if res, body := do(t, req); res.StatusCode != http.StatusBadRequest {
					t.Errorf("POST /oauth2/authorize %s = %d %.200s, want 400", q, res.StatusCode, body)
				}
			}
		}
		// Labels: NUL (unstorable) and control characters (terminal escapes).
		for _, name := range []string{`a\u0000b`, `\u001b]0;pwned\u0007`, `line\nbreak`, `del\u007f`, `c1\u009b31m`} {
			res, body := f.send(t, "POST", "/api-keys", `{"name":"`+name+`"}`, bearer(f.userToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST /api-keys name %s = %d %s, want 400", name, res.StatusCode, body)
			}
			res, body = f.send(t, "POST", "/admin/clients", `{"name":"`+name+`","grant_types":["client_credentials"]}`, bearer(f.adminToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST /admin/clients name %s = %d %s, want 400", name, res.StatusCode, body)
			}
			res, body = f.send(t, "PATCH", "/admin/clients/"+cc.ID, `{"name":"`+name+`"}`, bearer(f.adminToken))
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("PATCH /admin/clients name %s = %d %s, want 400", name, res.StatusCode, body)
			}
		}
		// Ordinary labels still work.
		if res, body := f.send(t, "POST", "/api-keys", `{"name":"laptop – café ☕"}`, bearer(f.userToken)); res.StatusCode != http.StatusCreated {
			t.Errorf("POST /api-keys with a Unicode name = %d %s", res.StatusCode, body)
		}
	})
}

// TestJSONBodyTrailingData checks that every JSON body is one JSON value
// and nothing else: a stray "]" or "}" after it (or a second value) is
// 400 invalid_json, on self-service, admin and action routes alike, and
// nothing is created. White space after the value is fine.
func TestJSONBodyTrailingData(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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
