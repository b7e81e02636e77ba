package rest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestPagination walks every list route page by page: each page holds at
// most limit items, next_cursor is absent on the last one, and the pages
// together hold every item once.
func TestPagination(t *testing.T) {
	f := newFixture(t)
	admin := f.mustToken(f.root.ID, firstPartyClient, "admin")
	for i := range 5 {
		f.mustUser(fmt.Sprintf("user%d", i), []string{"read"}, false)
		f.mustAPIKey("alice", []string{"read"})
		if _, err := f.mgr.CreateClient(t.Context(), audit.CLI(), service.NewClient{Name: fmt.Sprintf("c%d", i),
			GrantTypes: []string{"client_credentials"}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := f.mgr.RotateSigningKey(t.Context(), audit.CLI()); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path, cred string
		want       int // items in all
	}{
		{"/admin/users", admin, 7},
		{"/admin/api-keys", admin, 5},
		{"/admin/api-keys?user=alice", admin, 5},
		{"/admin/users/alice/api-keys", admin, 5},
		{"/api-keys", f.mustToken(f.alice.ID, firstPartyClient, "read"), 5},
		{"/admin/clients", admin, 6},      // with the first-party client
		{"/admin/signing-keys", admin, 6}, // ES256 and RS256 (ID tokens), and a new pair per rotation
		{"/admin/audit", admin, 0},        // counted below
		{"/admin/audit?order=desc", admin, 0},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			var all []json.RawMessage
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("more than 50 pages")
				}
				path := tc.path + sep + "limit=2"
				if cursor != "" {
					path += "&after=" + cursor
				}
				res := f.do("GET", path, tc.cred, "")
				var pg Page[json.RawMessage]
				res.json(t, &pg)
				if res.status != 200 || pg.Items == nil || len(pg.Items) > 2 {
					t.Fatalf("GET %s = %d %s, want 200 with at most 2 items", path, res.status, res.body)
				}
				all = append(all, pg.Items...)
				if pg.NextCursor == "" {
					break
				}
				if len(pg.Items) != 2 {
					t.Fatalf("GET %s: a short page %s with a next_cursor", path, res.body)
				}
				cursor = pg.NextCursor
			}
			want := tc.want
			if strings.HasPrefix(tc.path, "/admin/audit") {
				evs, err := f.mgr.ListAudit(t.Context(), store.AuditFilter{})
				if err != nil {
					t.Fatal(err)
				}
				want = len(evs)
			}
			seen := map[string]bool{}
			for _, raw := range all {
				seen[string(raw)] = true
			}
			if len(all) != want || len(seen) != want {
				t.Errorf("GET %s page by page: %d items (%d distinct), want %d", tc.path, len(all), len(seen), want)
			}
			if strings.HasPrefix(tc.path, "/admin/audit") {
				var seqs []int64
				for _, raw := range all {
					var e AuditEntry
					if err := json.Unmarshal(raw, &e); err != nil {
						t.Fatal(err)
					}
					seqs = append(seqs, e.Seq)
				}
				sorted := slices.IsSorted(seqs)
				if desc := strings.Contains(tc.path, "desc"); sorted == desc {
					t.Errorf("GET %s: sequence numbers %v are in the wrong order", tc.path, seqs)
				}
			}
		})
	}
}

// TestErrorCodes checks the status and the stable code of every kind of
// refusal, and that the writer never echoes a credential.
func TestErrorCodes(t *testing.T) {
	f := newFixture(t)
	admin := f.mustToken(f.root.ID, firstPartyClient, "admin")
	user := f.mustToken(f.alice.ID, firstPartyClient, "read write")
	key := f.mustAPIKey("alice", nil)
	tests := []struct {
		name, method, path, cred, body string
		status                         int
		code                           string
	}{
		{"limit zero", "GET", "/admin/users?limit=0", admin, "", 400, "invalid_limit"},
		{"limit too big", "GET", "/admin/users?limit=501", admin, "", 400, "invalid_limit"},
		{"limit not a number", "GET", "/api-keys?limit=x", user, "", 400, "invalid_limit"},
		{"cursor too long", "GET", "/admin/clients?after=" + strings.Repeat("a", 201), admin, "", 400, "invalid_cursor"},
		{"unknown signing-key cursor", "GET", "/admin/signing-keys?after=nope", admin, "", 400, "invalid_cursor"},
		{"audit cursor not a number", "GET", "/admin/audit?after=x", admin, "", 400, "invalid_cursor"},
		{"audit cursor 0 newest first", "GET", "/admin/audit?order=desc&after=0", admin, "", 400, "invalid_cursor"},
		{"audit order", "GET", "/admin/audit?order=up", admin, "", 400, "invalid_order"},
		{"audit time", "GET", "/admin/audit?since=yesterday", admin, "", 400, "invalid_time"},
		{"audit action", "GET", "/admin/audit?action=bogus", admin, "", 400, "invalid_action"},
		{"trailing data", "POST", "/admin/users", admin, `{"username":"bob","password":"pass-word-1"}]`, 400, "invalid_json"},
		{"unknown field", "POST", "/api-keys", user, `{"name":"x","admin":true}`, 400, "invalid_json"},
		{"wrong type", "PUT", "/admin/users/alice/scopes", admin, `{"scopes":"read"}`, 400, "invalid_json"},
		{"body on an action", "POST", "/admin/users/alice/unlock", admin, `{"now":true}`, 400, "invalid_json"},
		{"too large", "POST", "/admin/users", admin, `{"username":"` + strings.Repeat("a", 1<<17) + `"}`, 413, "request_too_large"},
		{"scopes required", "PUT", "/admin/users/alice/scopes", admin, `{}`, 400, "invalid_request"},
		{"bad expiry", "POST", "/api-keys", user, `{"expires_in":"soon"}`, 400, "invalid_expiry"},
		{"bad username", "POST", "/admin/users", admin, `{"username":"b o b","password":"pass-word-1"}`, 400, "invalid_username"},
		{"short password", "POST", "/admin/users/alice/password", admin, `{"password":"short"}`, 400, "invalid_password"},
		{"unknown grant", "POST", "/admin/clients", admin, `{"name":"x","grant_types":["implicit"]}`, 400, "invalid_grant_type"},
		{"unknown user", "GET", "/admin/users/nobody", admin, "", 404, "not_found"},
		{"unknown key", "DELETE", "/api-keys/nope", user, "", 404, "not_found"},
		{"unknown client", "GET", "/admin/clients/nope", admin, "", 404, "not_found"},
		{"unknown signing key", "DELETE", "/admin/signing-keys/nope", admin, "", 404, "not_found"},
		{"a key pasted as a kid", "DELETE", "/admin/signing-keys/" + key.Secret, admin, "", 404, "not_found"},
		{"a key pasted as a user", "GET", "/admin/users/" + key.Secret, admin, "", 404, "not_found"},
		{"username taken", "POST", "/admin/users", admin, `{"username":"alice","password":"pass-word-1"}`, 409, "username_taken"},
		{"disable oneself", "POST", "/admin/users/root/disable", admin, "", 409, "cannot_disable_self"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(tc.method, tc.path, tc.cred, tc.body)
			if res.status != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, res.status, res.body, tc.status)
			}
			if got := res.errorCode(t); got != tc.code {
				t.Errorf("%s %s error = %q, want %q", tc.method, tc.path, got, tc.code)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if strings.Contains(string(res.body), key.Secret) {
				t.Errorf("the error body echoes the API key: %s", res.body)
			}
		})
	}
}

// TestServerErrorIsLoggedOnce: a failure that is not the caller's is a
// 500 server_error that says nothing of the cause, logged once with the
// route, never the path.
func TestServerErrorIsLoggedOnce(t *testing.T) {
	f := newFixture(t)
	admin := f.mustToken(f.root.ID, firstPartyClient, "admin")
	key := f.mustAPIKey("root", nil)
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	res := f.do("GET", "/admin/users/"+key.ID+"x", admin, "")
	if res.status != 500 || res.errorCode(t) != "server_error" || strings.Contains(string(res.body), "closed") {
		t.Fatalf("GET /admin/users/{user} on a closed store = %d %s, want 500 server_error without the cause", res.status, res.body)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, `"msg":"rest api error"`); n != 1 || !strings.Contains(logs, `"route":"GET /admin/users/{user}"`) ||
		strings.Contains(logs, key.ID+"x") {
		t.Errorf("log = %s, want one record naming the route and not the path", logs)
	}
}

// TestAdminChanges drives the routes that change something and checks
// their answers: status, Location, the view, and the change itself.
func TestAdminChanges(t *testing.T) {
	f := newFixture(t)
	admin := f.mustToken(f.root.ID, firstPartyClient, "admin")

	res := f.do("POST", "/admin/users", admin, `{"username":"Bob","password":"pass-word-1","scopes":["read"]}`)
	var bob User
	res.json(t, &bob)
	if res.status != 201 || bob.Username != "bob" || res.header.Get("Location") != "/admin/users/"+bob.ID ||
		!slices.Equal(bob.Scopes, []string{"read"}) || bob.LockedUntil != nil {
		t.Fatalf("POST /admin/users = %d %s (Location %q)", res.status, res.body, res.header.Get("Location"))
	}
	for _, tc := range []struct {
		method, path, body string
		check              func(User) bool
	}{
		{"PUT", "/admin/users/bob/scopes", `{"scopes":["read","write"]}`, func(u User) bool { return len(u.Scopes) == 2 }},
		{"POST", "/admin/users/bob/disable", "", func(u User) bool { return u.Disabled }},
		{"POST", "/admin/users/" + bob.ID + "/enable", "", func(u User) bool { return !u.Disabled }},
		{"POST", "/admin/users/bob/password", `{"password":"pass-word-2"}`, func(u User) bool { return u.ID == bob.ID }},
		{"POST", "/admin/users/bob/logout", "", func(u User) bool { return u.ID == bob.ID }},
		{"POST", "/admin/users/bob/unlock", "", func(u User) bool { return u.LockedUntil == nil }},
	} {
		res := f.do(tc.method, tc.path, admin, tc.body)
		var u User
		res.json(t, &u)
		if res.status != 200 || !tc.check(u) {
			t.Errorf("%s %s = %d %s", tc.method, tc.path, res.status, res.body)
		}
	}

	res = f.do("POST", "/admin/clients", admin, `{"name":"billing","grant_types":["client_credentials"],"scopes":["read"],"rate_limit":"5/s"}`)
	var c Client
	res.json(t, &c)
	if res.status != 201 || !strings.HasPrefix(c.Secret, service.ClientSecretPrefix) || c.RateLimit != "5/s" ||
		res.header.Get("Location") != "/admin/clients/"+c.ClientID {
		t.Fatalf("POST /admin/clients = %d %s", res.status, res.body)
	}
	res = f.do("PATCH", "/admin/clients/"+c.ClientID, admin, `{"name":"billing2"}`)
	var patched Client
	res.json(t, &patched)
	if res.status != 200 || patched.Name != "billing2" || patched.Secret != "" {
		t.Errorf("PATCH /admin/clients/{id} = %d %s", res.status, res.body)
	}
	res = f.do("POST", "/admin/clients/"+c.ClientID+"/secret", admin, "")
	var rotated Client
	res.json(t, &rotated)
	if res.status != 200 || rotated.Secret == "" || rotated.Secret == c.Secret {
		t.Errorf("POST /admin/clients/{id}/secret = %d %s", res.status, res.body)
	}
	if res := f.do("DELETE", "/admin/clients/"+c.ClientID, admin, ""); res.status != 204 || len(res.body) != 0 ||
		res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("DELETE /admin/clients/{id} = %d %q", res.status, res.body)
	}

	k := f.mustAPIKey("alice", []string{"read"})
	res = f.do("GET", "/admin/api-keys/"+k.ID, admin, "")
	var shown APIKey
	res.json(t, &shown)
	if res.status != 200 || shown.User != "alice" || shown.UserID != f.alice.ID || shown.Key != "" {
		t.Errorf("GET /admin/api-keys/{id} = %d %s", res.status, res.body)
	}
	res = f.do("DELETE", "/admin/api-keys/"+k.ID, admin, "")
	var revoked APIKey
	res.json(t, &revoked)
	if res.status != 200 || revoked.RevokedAt == nil || revoked.User != "alice" {
		t.Errorf("DELETE /admin/api-keys/{id} = %d %s", res.status, res.body)
	}

	res = f.do("POST", "/admin/signing-keys/rotate", admin, "")
	var sk SigningKey
	res.json(t, &sk)
	if res.status != 201 || sk.ID == "" || sk.Status == "" || sk.Use == nil {
		t.Fatalf("POST /admin/signing-keys/rotate = %d %s", res.status, res.body)
	}
	res = f.do("DELETE", "/admin/signing-keys/"+sk.ID, admin, "")
	var rk RevokedSigningKey
	res.json(t, &rk)
	if res.status != 200 || rk != (RevokedSigningKey{ID: sk.ID, Revoked: true}) {
		t.Errorf("DELETE /admin/signing-keys/{kid} = %d %s", res.status, res.body)
	}

	// Every change above is in the audit log, with the admin as actor.
	res = f.do("GET", "/admin/audit?actor=root&since=1h&limit=500", admin, "")
	var pg Page[AuditEntry]
	res.json(t, &pg)
	actions := map[string]bool{}
	for _, e := range pg.Items {
		if e.Actor != f.root.ID || e.ActorName != "root" {
			t.Errorf("audit entry %+v: actor is not the admin", e)
		}
		actions[e.Action] = true
	}
	for _, a := range []audit.Action{audit.UserCreated, audit.UserDisabled, audit.ClientCreated, audit.ClientDeleted,
		audit.APIKeyRevoked, audit.KeyRotated, audit.KeyRevoked} {
		if !actions[string(a)] {
			t.Errorf("GET /admin/audit?actor=root: no %s in %v", a, actions)
		}
	}
}

// TestLockedUntilFollowsTheClock: the user view says until when failed
// logins are throttled, and null once that time has passed.
func TestLockedUntilFollowsTheClock(t *testing.T) {
	f := newFixture(t)
	admin := f.mustToken(f.root.ID, firstPartyClient, "admin")
	until := store.Normalize(f.clock.Now().Add(10 * time.Minute))
	if _, err := f.db.UpdateUser(t.Context(), f.alice.ID, func(u store.User) (store.User, error) {
		u.LockedUntil = &until
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  *time.Time
	}{{0, &until}, {11 * time.Minute, nil}} {
		f.clock.Add(tc.after)
		var u User
		f.do("GET", "/admin/users/alice", admin, "").json(t, &u)
		if (u.LockedUntil == nil) != (tc.want == nil) || u.LockedUntil != nil && !u.LockedUntil.Equal(*tc.want) {
			t.Errorf("after %s: locked_until = %v, want %v", tc.after, u.LockedUntil, tc.want)
		}
	}
}

// TestMe: /users/me describes the credential, not only the user.
func TestMe(t *testing.T) {
	f := newFixture(t)
	key := f.mustAPIKey("alice", []string{"read"})
	tests := []struct {
		name, cred string
		want       Me
	}{
		{"bearer", f.mustToken(f.alice.ID, firstPartyClient, "read write"),
			Me{ID: f.alice.ID, Username: "alice", Scopes: []string{"read", "write"}, AuthMethod: "bearer", ClientID: firstPartyClient}},
		{"api key", key.Secret, Me{ID: f.alice.ID, Username: "alice", Scopes: []string{"read"}, AuthMethod: "api_key"}},
		{"api key as bearer", "Bearer " + key.Secret, Me{ID: f.alice.ID, Username: "alice", Scopes: []string{"read"}, AuthMethod: "api_key"}},
		{"no scopes", f.mustToken(f.alice.ID, firstPartyClient, ""),
			Me{ID: f.alice.ID, Username: "alice", Scopes: []string{}, AuthMethod: "bearer", ClientID: firstPartyClient}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred := tc.cred
			var res response
			if bearer, ok := strings.CutPrefix(cred, "Bearer "); ok {
				res = f.doBearer("GET", "/users/me", bearer)
			} else {
				res = f.do("GET", "/users/me", cred, "")
			}
			var got Me
			res.json(t, &got)
			if res.status != 200 || got.ID != tc.want.ID || got.Username != tc.want.Username || !slices.Equal(got.Scopes, tc.want.Scopes) ||
				got.Scopes == nil || got.AuthMethod != tc.want.AuthMethod || got.ClientID != tc.want.ClientID {
				t.Errorf("GET /users/me = %d %s, want %+v", res.status, res.body, tc.want)
			}
		})
	}
}
