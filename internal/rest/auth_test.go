package rest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/audit"
)

// TestAuthMatrix sends every route's method and path with each kind of
// credential: none and a bad one are 401 with the Bearer challenge, a
// user's credential without the admin scope is 403 insufficient_scope on
// /admin/*, a client's token is 403 not_a_user on the self-service routes
// that manage a user's account, and every route admits the right
// credential. No route of the package is left out.
func TestAuthMatrix(t *testing.T) {
	f := newFixture(t)
	creds := map[string]string{
		"none":         "",
		"bad token":    "eyJhbGciOiJub25lIn0.e30.",
		"bad key":      "gk_notakey",
		"user token":   f.mustToken(f.alice.ID, firstPartyClient, "read write"),
		"user key":     f.mustAPIKey("alice", nil).Secret,
		"admin token":  f.mustToken(f.root.ID, firstPartyClient, "read write admin"),
		"admin key":    f.mustAPIKey("root", nil).Secret,
		"client token": f.mustToken("machine", "machine", "read write admin"),
	}
	type want map[string]int // credential → status; absent: 401 for none and bad ones
	self := want{"user token": 200, "user key": 200, "admin token": 200, "admin key": 200, "client token": 403}
	admin := want{"user token": 403, "user key": 403, "admin token": 200, "admin key": 200, "client token": 200}
	routes := []struct {
		method, path string
		want         want
	}{
		{"GET", "/users/me", want{"user token": 200, "user key": 200, "admin token": 200, "admin key": 200, "client token": 200}},
		{"GET", "/api-keys", self},
		{"GET", "/admin/users", admin},
		{"GET", "/admin/users/alice", admin},
		{"GET", "/admin/users/alice/api-keys", admin},
		{"GET", "/admin/api-keys", admin},
		{"GET", "/admin/clients", admin},
		{"GET", "/admin/signing-keys", admin},
		{"GET", "/admin/audit", admin},
		// Routes that change something: only the refusals are sent here;
		// their successes have tests of their own.
		{"POST", "/users/me/logout", want{"client token": 403}},
		{"POST", "/api-keys", want{"client token": 403}},
		{"DELETE", "/api-keys/nope", want{"client token": 403}},
		{"POST", "/admin/users", want{"user token": 403, "user key": 403}},
		{"PUT", "/admin/users/alice/scopes", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/users/alice/disable", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/users/alice/enable", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/users/alice/password", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/users/alice/logout", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/users/alice/unlock", want{"user token": 403, "user key": 403}},
		{"GET", "/admin/api-keys/nope", want{"user token": 403, "user key": 403}},
		{"DELETE", "/admin/api-keys/nope", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/clients", want{"user token": 403, "user key": 403}},
		{"GET", "/admin/clients/nope", want{"user token": 403, "user key": 403}},
		{"PATCH", "/admin/clients/nope", want{"user token": 403, "user key": 403}},
		{"DELETE", "/admin/clients/nope", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/clients/nope/secret", want{"user token": 403, "user key": 403}},
		{"POST", "/admin/signing-keys/rotate", want{"user token": 403, "user key": 403}},
		{"DELETE", "/admin/signing-keys/nope", want{"user token": 403, "user key": 403}},
	}
	for _, r := range f.routes {
		found := false
		for _, rt := range routes {
			found = found || rt.method == r.Method && rt.path == strings.NewReplacer("{user}", "alice", "{id}", "nope", "{kid}", "nope").Replace(r.Path)
		}
		if !found {
			t.Errorf("route %s is not in the matrix", r.Pattern())
		}
	}
	for _, rt := range routes {
		for name, cred := range creds {
			status, ok := rt.want[name]
			if !ok {
				if strings.HasPrefix(name, "none") || strings.HasPrefix(name, "bad") {
					status = http.StatusUnauthorized
				} else {
					continue
				}
			}
			t.Run(rt.method+" "+rt.path+" "+name, func(t *testing.T) {
				res := f.do(rt.method, rt.path, cred, "")
				if res.status != status {
					t.Fatalf("%s %s with %s = %d %s, want %d", rt.method, rt.path, name, res.status, res.body, status)
				}
				switch {
				case status == http.StatusUnauthorized:
					if ch := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="gatehouse"`) {
						t.Errorf("WWW-Authenticate = %q, want the Bearer challenge", ch)
					}
				case status == http.StatusForbidden && name == "client token":
					if code := res.errorCode(t); code != "not_a_user" {
						t.Errorf("error = %q, want not_a_user", code)
					}
				case status == http.StatusForbidden:
					if ch := res.header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="admin"`) {
						t.Errorf("WWW-Authenticate = %q, want insufficient_scope naming admin", ch)
					}
				}
				if cc := res.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
			})
		}
	}
}

// TestAccountRule: managing one's own keys and sessions needs a password
// login (a token of the first-party client) or the account scope; a key
// never mints a wider key; a refusal names the missing scope.
func TestAccountRule(t *testing.T) {
	f := newFixture(t)
	narrow := f.mustAPIKey("alice", []string{"read"})
	otherClient := f.mustToken(f.alice.ID, "some-app", "read write")
	tests := []struct {
		name, method, path, cred, body string
		status                         int
		code                           string
	}{
		{"password login creates a key", "POST", "/api-keys", f.mustToken(f.alice.ID, firstPartyClient, "read write"), `{"name":"ci","scopes":["read"]}`, 201, ""},
		{"another client's token may not", "POST", "/api-keys", otherClient, `{}`, 403, "insufficient_scope"},
		{"a key without the account scope may not", "POST", "/api-keys", narrow.Secret, `{"scopes":["read"]}`, 403, "insufficient_scope"},
		{"another client's token may not log out", "POST", "/users/me/logout", otherClient, "", 403, "insufficient_scope"},
		{"any credential lists the keys", "GET", "/api-keys", otherClient, "", 200, ""},
		{"a key revokes itself", "DELETE", "/api-keys/" + narrow.ID, narrow.Secret, "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(tc.method, tc.path, tc.cred, tc.body)
			if res.status != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, res.status, res.body, tc.status)
			}
			if tc.code == "" {
				return
			}
			if got := res.errorCode(t); got != tc.code {
				t.Errorf("%s %s error = %q, want %q", tc.method, tc.path, got, tc.code)
			}
			if ch := res.header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="account"`) {
				t.Errorf("WWW-Authenticate = %q, want the account scope named", ch)
			}
		})
	}

	// With the account scope, a key manages the account, within its own
	// scopes.
	if _, err := f.mgr.SetScopes(t.Context(), audit.CLI(), "alice", []string{"read", "write", "account"}); err != nil {
		t.Fatal(err)
	}
	acct := f.mustAPIKey("alice", []string{"read", "account"})
	if res := f.do("POST", "/api-keys", acct.Secret, `{"scopes":["write"]}`); res.status != 403 {
		t.Errorf("a read key minting a write key = %d %s, want 403", res.status, res.body)
	}
	res := f.do("POST", "/api-keys", acct.Secret, `{"name":"sub"}`)
	var k APIKey
	res.json(t, &k)
	if res.status != 201 || !strings.HasPrefix(k.Key, "gk_") || k.User != "alice" || strings.Join(k.Scopes, " ") != "read account" {
		t.Errorf("POST /api-keys with the account scope = %d %+v, want 201 with the key's own scopes", res.status, k)
	}
	res = f.do("POST", "/users/me/logout", acct.Secret, "")
	var out Logout
	res.json(t, &out)
	if res.status != 200 || out != (Logout{ID: f.alice.ID, Username: "alice", LoggedOut: true, AuthMethod: "api_key"}) {
		t.Errorf("POST /users/me/logout = %d %+v", res.status, out)
	}
}
