package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The admin API (/admin/*): who may call it, what each route does and
// audits, its pages, its audit log view and its answers to bad input.

// adminFixture is a server with an administrator, an ordinary user and
// their credentials.
type adminFixture struct {
	s *testServer

	admin, user gatehouse.User

	adminToken string // bearer, all of the admin's scopes
	adminKey   string // API key with the admin scope
	adminKeyID string
	weakKey    string // the admin's own API key without the admin scope
	userToken  string // bearer of an ordinary user
	userKey    string // API key of an ordinary user
	userKeyID  string
}

const adminTestPassword = "correct horse battery staple"

// mustAdminKey returns an API key with the admin scope (it does not
// expire when a test moves the clock on).
func mustAdminKey(t *testing.T, s *testServer) string {
	t.Helper()
	if _, err := s.CreateUser(context.Background(), "root", adminTestPassword, nil, true); err != nil {
		t.Fatal(err)
	}
	return mustAPIKey(t, s, "root", "admin")
}

func newAdminFixture(t *testing.T, newServer newServerFunc) *adminFixture {
	t.Helper()
	s := newServer(t)
	ctx := context.Background()
	f := &adminFixture{s: s}
	var err error
	if f.admin, err = s.CreateUser(ctx, "root", adminTestPassword, []string{"read", "write"}, true); err != nil {
		t.Fatalf("CreateUser(root): %v", err)
	}
	f.user = mustCreateUser(t, s, "alice", adminTestPassword, "read", "write")
	f.adminToken = mustToken(t, s, "root", adminTestPassword)["access_token"].(string)
	f.userToken = mustToken(t, s, "alice", adminTestPassword)["access_token"].(string)
	if f.adminKeyID, f.adminKey, err = s.CreateAPIKey(ctx, "root", "admin", []string{"admin", "read"}, 0); err != nil {
		t.Fatal(err)
	}
	f.weakKey = mustAPIKey(t, s, "root", "read", "write")
	if f.userKeyID, f.userKey, err = s.CreateAPIKey(ctx, "alice", "alice", nil, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// send makes a request with an optional JSON body and credential headers.
func (f *adminFixture) send(t testing.TB, method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

// adminRoute is one admin route with a factory for a request that should
// succeed for an administrator (fresh targets each time, since most
// routes change something) and the audit action a success must record.
type adminRoute struct {
	name   string
	status int          // for an administrator
	action string       // audit action of a change; "" for reads
	req    func() route // method, path, body
}

type route struct{ method, path, body string }

func (f *adminFixture) routes(t *testing.T) []adminRoute {
	ctx := context.Background()
	n := 0
	victim := func() gatehouse.User {
		n++
		return mustCreateUser(t, f.s, fmt.Sprintf("victim%d", n), adminTestPassword, "read")
	}
	newClient := func() client {
		return mustClient(t, f.s, gatehouse.NewClient{Name: "c", GrantTypes: []string{"client_credentials"}})
	}
	key := func() string {
		id, _, err := f.s.CreateAPIKey(ctx, "alice", "k", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	return []adminRoute{
		{name: "list users", status: 200, req: func() route { return route{"GET", "/admin/users", ""} }},
		{name: "create user", status: 201, action: "user.created", req: func() route {
			n++
			return route{"POST", "/admin/users", fmt.Sprintf(`{"username":"new%d","password":%q,"scopes":["read"]}`, n, adminTestPassword)}
		}},
		{name: "show user", status: 200, req: func() route { return route{"GET", "/admin/users/alice", ""} }},
		{name: "set scopes", status: 200, action: "user.updated", req: func() route {
			return route{"PUT", "/admin/users/" + victim().ID + "/scopes", `{"scopes":["read","write"]}`}
		}},
		{name: "disable user", status: 200, action: "user.disabled", req: func() route {
			return route{"POST", "/admin/users/" + victim().Username + "/disable", ""}
		}},
		{name: "enable user", status: 200, action: "user.enabled", req: func() route {
			return route{"POST", "/admin/users/" + victim().ID + "/enable", ""}
		}},
		{name: "reset password", status: 200, action: "user.password_changed", req: func() route {
			return route{"POST", "/admin/users/" + victim().ID + "/password", `{"password":"another long passphrase"}`}
		}},
		{name: "log user out", status: 200, action: "user.logged_out", req: func() route {
			return route{"POST", "/admin/users/" + victim().ID + "/logout", ""}
		}},
		{name: "unlock user", status: 200, action: "user.unlocked", req: func() route {
			return route{"POST", "/admin/users/" + victim().ID + "/unlock", ""}
		}},
		{name: "list user's keys", status: 200, req: func() route { return route{"GET", "/admin/users/alice/api-keys", ""} }},
		{name: "list keys", status: 200, req: func() route { return route{"GET", "/admin/api-keys", ""} }},
		{name: "show key", status: 200, req: func() route { return route{"GET", "/admin/api-keys/" + f.userKeyID, ""} }},
		{name: "revoke key", status: 200, action: "apikey.revoked", req: func() route { return route{"DELETE", "/admin/api-keys/" + key(), ""} }},
		{name: "list clients", status: 200, req: func() route { return route{"GET", "/admin/clients", ""} }},
		{name: "create client", status: 201, action: "client.created", req: func() route {
			return route{"POST", "/admin/clients", `{"name":"svc","grant_types":["client_credentials"],"scopes":["read"]}`}
		}},
		{name: "show client", status: 200, req: func() route { return route{"GET", "/admin/clients/" + newClient().ID, ""} }},
		{name: "update client", status: 200, action: "client.updated", req: func() route {
			return route{"PATCH", "/admin/clients/" + newClient().ID, `{"name":"renamed","scopes":["read"]}`}
		}},
		{name: "delete client", status: 204, action: "client.deleted", req: func() route { return route{"DELETE", "/admin/clients/" + newClient().ID, ""} }},
		{name: "rotate client secret", status: 200, action: "client.secret_rotated", req: func() route {
			return route{"POST", "/admin/clients/" + newClient().ID + "/secret", ""}
		}},
		{name: "list signing keys", status: 200, req: func() route { return route{"GET", "/admin/signing-keys", ""} }},
		{name: "rotate signing key", status: 201, action: "key.rotated", req: func() route { return route{"POST", "/admin/signing-keys/rotate", ""} }},
		{name: "revoke signing key", status: 200, action: "key.revoked", req: func() route {
			// A fresh key that has signed nothing yet, so the test's
			// tokens stay valid.
			kid, err := f.s.Admin().RotateSigningKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return route{"DELETE", "/admin/signing-keys/" + kid, ""}
		}},
		{name: "audit", status: 200, req: func() route { return route{"GET", "/admin/audit?action=user.created&since=1h", ""} }},
	}
}

// TestAdminAuthorizationMatrix sends every admin route with every kind of
// caller: anonymous → 401 with a bare Bearer challenge; a bad token → 401
// invalid_token; a user token or an API key without the admin scope → 403
// insufficient_scope; an administrator's token or API key → 2xx, and a
// change is audited with the administrator as actor.
func TestAdminAuthorizationMatrix(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		type caller struct {
			name    string
			hdr     map[string]string
			status  int    // 0: the route's own success status
			code    string // error code in the body and the challenge
			actorID string // expected audit actor on success
		}
		callers := []caller{
			{name: "anonymous", status: 401},
			{name: "garbage bearer", hdr: bearer("not-a-token"), status: 401, code: "invalid_token"},
			{name: "user token", hdr: bearer(f.userToken), status: 403, code: "insufficient_scope"},
			{name: "user api key", hdr: apiKeyHeader(f.userKey), status: 403, code: "insufficient_scope"},
			{name: "admin's key without admin scope", hdr: apiKeyHeader(f.weakKey), status: 403, code: "insufficient_scope"},
			{name: "admin token", hdr: bearer(f.adminToken), actorID: f.admin.ID},
			{name: "admin api key", hdr: apiKeyHeader(f.adminKey), actorID: "apikey:" + f.adminKeyID},
			{name: "admin api key as bearer", hdr: bearer(f.adminKey), actorID: "apikey:" + f.adminKeyID},
		}
		for _, rt := range f.routes(t) {
			for _, c := range callers {
				t.Run(rt.name+"/"+c.name, func(t *testing.T) {
					r := rt.req()
					res, body := f.send(t, r.method, r.path, r.body, c.hdr)
					want := c.status
					if want == 0 {
						want = rt.status
					}
					if res.StatusCode != want {
						t.Fatalf("%s %s = %d %s, want %d", r.method, r.path, res.StatusCode, body, want)
					}
					if want == http.StatusNoContent {
						if len(body) != 0 {
							t.Errorf("204 with body %q", body)
						}
					} else if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type = %q, want JSON", ct)
					}
					switch {
					case want == 401:
						ch := res.Header.Get("WWW-Authenticate")
						if !strings.HasPrefix(ch, `Bearer realm="gatehouse"`) {
							t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
						}
						if c.code == "" && strings.Contains(ch, "error=") {
							t.Errorf("WWW-Authenticate = %q: a missing credential gets no error code (RFC 6750 §3.1)", ch)
						}
						if c.code != "" && !strings.Contains(ch, `error="`+c.code+`"`) {
							t.Errorf("WWW-Authenticate = %q, want error=%q", ch, c.code)
						}
					case want == 403:
						if got := decode(t, body)["error"]; got != c.code {
							t.Errorf("error = %v, want %s", got, c.code)
						}
						ch := res.Header.Get("WWW-Authenticate")
						if !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="admin"`) {
							t.Errorf("WWW-Authenticate = %q, want insufficient_scope naming the admin scope", ch)
						}
					default:
						if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
							t.Errorf("Cache-Control = %q, want no-store", cc)
						}
						if rt.action != "" {
							wantAudited(t, f.s, rt.action, c.actorID)
						}
					}
				})
			}
		}
	})
}

// wantAudited fails unless the latest event with action was recorded by
// actor, successfully, with the request's IP and request id.
func wantAudited(t testing.TB, s *testServer, action, actor string) {
	t.Helper()
	evs, err := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatalf("no %s audit event", action)
	}
	e := evs[len(evs)-1]
	if e.Actor != actor || e.Result != "success" {
		t.Errorf("latest %s event: actor %q result %q, want actor %q success", action, e.Actor, e.Result, actor)
	}
	if e.IP == "" || e.RequestID == "" {
		t.Errorf("latest %s event has no IP (%q) or request id (%q)", action, e.IP, e.RequestID)
	}
}

// pageThrough follows next_cursor from path with limit per page and
// returns every item's key field; it fails on a repeated item or when the
// walk needs only one page.
func pageThrough(t testing.TB, f *adminFixture, path, field string, limit int, hdr map[string]string) []string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var got []string
	cursor, pages := "", 0
	for {
		u := fmt.Sprintf("%s%slimit=%d", path, sep, limit)
		if cursor != "" {
			u += "&after=" + cursor
		}
		res, body := f.send(t, "GET", u, "", hdr)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", u, res.StatusCode, body)
		}
		var pg struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		if pg.Items == nil {
			t.Fatalf("GET %s: items is missing or null: %s", u, body)
		}
		if len(pg.Items) > limit {
			t.Fatalf("GET %s: %d items, limit %d", u, len(pg.Items), limit)
		}
		pages++
		for _, it := range pg.Items {
			v := fmt.Sprint(it[field])
			if slices.Contains(got, v) {
				t.Fatalf("GET %s: %s %q seen on an earlier page", u, field, v)
			}
			got = append(got, v)
		}
		if pg.NextCursor == "" {
			break
		}
		if len(pg.Items) != limit {
			t.Fatalf("GET %s: a page with a next cursor has %d items, want %d", u, len(pg.Items), limit)
		}
		cursor = pg.NextCursor
		if pages > 100 {
			t.Fatal("more than 100 pages: the cursor does not advance")
		}
	}
	if pages < 2 {
		t.Fatalf("GET %s: one page only; the test needs more items", path)
	}
	return got
}

// TestAdminPagination walks every admin list page by page.
func TestAdminPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		ctx := context.Background()
		admin := bearer(f.adminToken)
		var wantUsers, wantClients, wantAliceKeys []string
		for i := range 5 {
			u := mustCreateUser(t, f.s, fmt.Sprintf("page%d", i), "", "read")
			wantUsers = append(wantUsers, u.Username)
			c := mustClient(t, f.s, gatehouse.NewClient{Name: "p", GrantTypes: []string{"client_credentials"}})
			wantClients = append(wantClients, c.ID)
			id, _, err := f.s.CreateAPIKey(ctx, "alice", "p", nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantAliceKeys = append(wantAliceKeys, id)
			if _, err := f.s.Admin().RotateSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
		}
		wantAliceKeys = append(wantAliceKeys, f.userKeyID)

		users := pageThrough(t, f, "/admin/users", "username", 2, admin)
		for _, u := range append(wantUsers, "root", "alice") {
			if !slices.Contains(users, u) {
				t.Errorf("user %s missing from the pages %v", u, users)
			}
		}
		if !slices.IsSorted(users) {
			t.Errorf("users are not in username order: %v", users)
		}

		clients := pageThrough(t, f, "/admin/clients", "client_id", 2, admin)
		for _, c := range wantClients {
			if !slices.Contains(clients, c) {
				t.Errorf("client %s missing from the pages", c)
			}
		}

		all := pageThrough(t, f, "/admin/api-keys", "id", 3, admin)
		if len(all) != len(wantAliceKeys)+2 { // + the admin's two keys
			t.Errorf("all keys: %d, want %d", len(all), len(wantAliceKeys)+2)
		}
		for _, path := range []string{"/admin/api-keys?user=alice", "/admin/users/alice/api-keys", "/admin/users/" + f.user.ID + "/api-keys"} {
			got := pageThrough(t, f, path, "id", 2, admin)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(wantAliceKeys))
			if !slices.Equal(got, want) {
				t.Errorf("%s: keys %v, want %v", path, got, want)
			}
		}

		kids := pageThrough(t, f, "/admin/signing-keys", "kid", 2, admin)
		ks, err := f.s.DB.ListSigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(kids) != len(ks) || len(ks) < 6 {
			t.Errorf("signing keys on the pages: %d, in the store: %d (want ≥ 6)", len(kids), len(ks))
		}

		seqs := pageThrough(t, f, "/admin/audit", "seq", 4, admin)
		evs, err := f.s.DB.ListAudit(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) != len(evs) {
			t.Errorf("audit pages hold %d events, the log %d", len(seqs), len(evs))
		}
		created := pageThrough(t, f, "/admin/audit?action=user.created", "target", 2, admin)
		for _, u := range wantUsers {
			found := false
			for _, ev := range evs {
				if ev.Action == "user.created" && slices.Contains(created, ev.Target) {
					found = true
				}
			}
			if !found {
				t.Errorf("user %s: no user.created event on the filtered pages", u)
			}
		}
	})
}

// TestAdminAuditFilters checks that /admin/audit filters by actor, action,
// result and time.
func TestAdminAuditFilters(t *testing.T) {
	f := newAdminFixture(t, newTestServer)
	admin := bearer(f.adminToken)
	res, body := f.send(t, "POST", "/admin/users", `{"username":"filtered","scopes":["read"]}`, admin)
	if res.StatusCode != 201 {
		t.Fatalf("create user = %d %s", res.StatusCode, body)
	}
	// A failed login, so that there is a failure to filter on.
	doForm(t, f.s.URL+"/token", map[string][]string{"grant_type": {"password"}, "username": {"alice"}, "password": {"wrong password!!"}}, nil)

	list := func(q string) []map[string]any {
		t.Helper()
		res, body := f.send(t, "GET", "/admin/audit?"+q, "", admin)
		if res.StatusCode != 200 {
			t.Fatalf("GET /admin/audit?%s = %d %s", q, res.StatusCode, body)
		}
		var pg struct{ Items []map[string]any }
		if err := json.Unmarshal(body, &pg); err != nil {
			t.Fatal(err)
		}
		return pg.Items
	}
	tests := []struct {
		name, query string
		check       func(map[string]any) bool
		wantSome    bool
	}{
		{"by actor", "actor=" + f.admin.ID, func(e map[string]any) bool { return e["actor"] == f.admin.ID }, true},
		{"by action", "action=user.created", func(e map[string]any) bool { return e["action"] == "user.created" }, true},
		{"by result", "result=failure", func(e map[string]any) bool { return e["result"] == "failure" }, true},
		{"since a duration", "since=1h", func(map[string]any) bool { return true }, true},
		{"since RFC 3339 in the future", "since=2999-01-01T00:00:00Z", func(map[string]any) bool { return false }, false},
		{"until the past", "until=2000-01-01T00:00:00Z", func(map[string]any) bool { return false }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items := list(tc.query)
			if tc.wantSome != (len(items) > 0) {
				t.Fatalf("%s: %d events", tc.query, len(items))
			}
			for _, e := range items {
				if !tc.check(e) {
					t.Errorf("%s: event %v does not match", tc.query, e)
				}
				for _, k := range []string{"seq", "time", "action", "actor", "target", "ip", "user_agent", "request_id", "result", "reason"} {
					if _, ok := e[k]; !ok {
						t.Errorf("event lacks %q: %v", k, e)
					}
				}
			}
		})
	}
	for _, q := range []string{"since=yesterday", "until=12", "after=abc", "limit=0", "limit=501"} {
		res, body := f.send(t, "GET", "/admin/audit?"+q, "", admin)
		if res.StatusCode != 400 || decode(t, body)["error"] == "" {
			t.Errorf("GET /admin/audit?%s = %d %s, want 400 with an error code", q, res.StatusCode, body)
		}
	}
}

// TestAdminOperations checks what the admin routes do, not only that they
// answer: a disabled user cannot log in, a reset password works, a revoked
// key is refused, a rotated client secret replaces the old one, and a
// created client's secret is shown once.
func TestAdminOperations(t *testing.T) {
	clk := newClock()
	f := newAdminFixture(t, func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
		return newTestServer(t, append(opts, withClock(clk))...)
	})
	admin := bearer(f.adminToken)
	send := func(method, path, body string, want int) map[string]any {
		t.Helper()
		res, b := f.send(t, method, path, body, admin)
		if res.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		if len(b) == 0 {
			return nil
		}
		return decode(t, b)
	}
	login := func(user, pw string) int {
		res, _ := doForm(t, f.s.URL+"/token", map[string][]string{"grant_type": {"password"}, "username": {user}, "password": {pw}}, nil)
		return res.StatusCode
	}

	u := send("POST", "/admin/users", `{"username":"Bob","password":"bob's long password","scopes":["read"],"admin":false}`, 201)
	if u["username"] != "bob" || u["admin"] != false || u["disabled"] != false {
		t.Errorf("created user = %v", u)
	}
	if _, ok := u["password_hash"]; ok {
		t.Error("the user body carries a password hash")
	}
	send("POST", "/admin/users", `{"username":"bob","password":"bob's long password"}`, 409)
	send("POST", "/admin/users", `{"username":"x"}`, 400)
	send("GET", "/admin/users/nobody", "", 404)
	if got := send("GET", "/admin/users/"+u["id"].(string), "", 200)["username"]; got != "bob" {
		t.Errorf("show by id: username %v", got)
	}

	tok := mustToken(t, f.s, "bob", "bob's long password")["access_token"].(string)
	if d := send("POST", "/admin/users/bob/disable", "", 200); d["disabled"] != true {
		t.Errorf("disable: %v", d)
	}
	if c := login("bob", "bob's long password"); c == 200 {
		t.Error("a disabled user can still log in")
	}
	if res, _ := get(t, f.s.URL+"/users/me", bearer(tok)); res.StatusCode != 401 {
		t.Errorf("disabled user's token: /users/me = %d, want 401", res.StatusCode)
	}
	send("POST", "/admin/users/bob/enable", "", 200)
	send("POST", "/admin/users/bob/password", `{"password":"short"}`, 400)
	send("POST", "/admin/users/bob/password", `{"password":"a brand new passphrase"}`, 200)
	// A second on: the reset revoked what was issued in its second, and
	// the server would wait for the next one before issuing a token.
	clk.Advance(time.Second)
	if c := login("bob", "bob's long password"); c == 200 {
		t.Error("the old password still works after a reset")
	}
	if c := login("bob", "a brand new passphrase"); c != 200 {
		t.Errorf("the new password: login = %d", c)
	}
	tok = mustToken(t, f.s, "bob", "a brand new passphrase")["access_token"].(string)
	send("POST", "/admin/users/bob/logout", "", 200)
	if res, _ := get(t, f.s.URL+"/users/me", bearer(tok)); res.StatusCode != 401 {
		t.Errorf("after logout: /users/me = %d, want 401", res.StatusCode)
	}
	if sc := send("PUT", "/admin/users/bob/scopes", `{"scopes":["read","write"]}`, 200)["scopes"]; fmt.Sprint(sc) != "[read write]" {
		t.Errorf("scopes = %v", sc)
	}
	send("PUT", "/admin/users/bob/scopes", `{}`, 400)

	// API keys of any user.
	k := send("GET", "/admin/api-keys/"+f.userKeyID, "", 200)
	if k["user"] != "alice" || k["key"] != nil {
		t.Errorf("show key = %v (want alice's, without the secret)", k)
	}
	send("DELETE", "/admin/api-keys/"+f.userKeyID, "", 200)
	if res, _ := get(t, f.s.URL+"/users/me", apiKeyHeader(f.userKey)); res.StatusCode != 401 {
		t.Errorf("revoked key: /users/me = %d, want 401", res.StatusCode)
	}
	send("DELETE", "/admin/api-keys/doesnotexist", "", 404)

	// Clients.
	c := send("POST", "/admin/clients", `{"name":"svc","grant_types":["client_credentials"],"scopes":["read"]}`, 201)
	id, sec := c["client_id"].(string), c["client_secret"].(string)
	if sec == "" {
		t.Fatal("no client_secret at creation")
	}
	if got := send("GET", "/admin/clients/"+id, "", 200); got["client_secret"] != nil {
		t.Errorf("show client reveals the secret: %v", got)
	}
	cc := func(secret string) int {
		res, _ := doForm(t, f.s.URL+"/token", map[string][]string{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil)
		return res.StatusCode
	}
	if code := cc(sec); code != 200 {
		t.Errorf("client credentials with the new secret = %d", code)
	}
	sec2 := send("POST", "/admin/clients/"+id+"/secret", "", 200)["client_secret"].(string)
	if cc(sec) == 200 || cc(sec2) != 200 {
		t.Error("secret rotation: the old secret still works or the new one does not")
	}
	up := send("PATCH", "/admin/clients/"+id, `{"name":"renamed","rate_limit":"5/s"}`, 200)
	if up["name"] != "renamed" || up["rate_limit"] != "5/s" || fmt.Sprint(up["scopes"]) != "[read]" {
		t.Errorf("PATCH kept the other fields? %v", up)
	}
	send("PATCH", "/admin/clients/"+id, `{"grant_types":["bogus"]}`, 400)
	send("PATCH", "/admin/clients/"+id, `{"rate_limit":"lots"}`, 400)
	send("PATCH", "/admin/clients/"+id, `{"public":true}`, 400) // not updatable: unknown field
	send("DELETE", "/admin/clients/"+id, "", 204)
	send("GET", "/admin/clients/"+id, "", 404)
	if cc(sec2) == 200 {
		t.Error("a deleted client still gets tokens")
	}
	send("DELETE", "/admin/clients/gatehouse", "", 400) // the built-in first-party client

	// Signing keys.
	before := send("GET", "/admin/signing-keys", "", 200)["items"].([]any)
	nk := send("POST", "/admin/signing-keys/rotate", "", 201)
	if nk["kid"] == "" || nk["status"] == "" {
		t.Errorf("rotate: %v", nk)
	}
	after := send("GET", "/admin/signing-keys", "", 200)["items"].([]any)
	if len(after) <= len(before) || !slices.ContainsFunc(after, func(k any) bool { return k.(map[string]any)["kid"] == nk["kid"] }) {
		t.Errorf("signing keys: %d before rotation, %d after, new kid %v listed?", len(before), len(after), nk["kid"])
	}
	send("DELETE", "/admin/signing-keys/nokey", "", 404)
}

// TestAdminBadInput sends malformed bodies to the admin API: each gets a
// 4xx JSON error, never a 5xx.
func TestAdminBadInput(t *testing.T) {
	f := newAdminFixture(t, newTestServer)
	cid := mustClient(t, f.s, gatehouse.NewClient{Name: "c", GrantTypes: []string{"client_credentials"}}).ID
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, method, path, body string
		chunked                  bool
		status                   int
		code                     string
	}{
		{"malformed json", "POST", "/admin/users", `{"username":`, false, 400, "invalid_json"},
		{"not an object", "POST", "/admin/users", `["root"]`, false, 400, "invalid_json"},
		{"unknown field", "POST", "/admin/users", `{"username":"zed","superuser":true}`, false, 400, "invalid_json"},
		{"wrong type", "POST", "/admin/users", `{"username":"zed","scopes":"read"}`, false, 400, "invalid_json"},
		{"trailing data", "POST", "/admin/users", `{"username":"zed"} {}`, false, 400, "invalid_json"},
		{"bad username", "POST", "/admin/users", `{"username":"a b"}`, false, 400, "invalid_username"},
		{"username like an id", "POST", "/admin/users", `{"username":"` + store.NewID() + `"}`, false, 400, "invalid_username"},
		{"bad scope", "POST", "/admin/users", `{"username":"zed","scopes":["a\"b"]}`, false, 400, "invalid_scope"},
		{"body on an action", "POST", "/admin/users/alice/disable", `{"why":"x"}`, false, 400, "invalid_json"},
		{"client unknown field", "PATCH", "/admin/clients/" + cid, `{"secret_hash":"00"}`, false, 400, "invalid_json"},
		{"client bad redirect", "POST", "/admin/clients", `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["javascript:alert(1)"]}`, false, 400, "invalid_redirect_uri"},
		{"oversized (Content-Length)", "POST", "/admin/users", big, false, 413, "request_too_large"},
		{"oversized (chunked)", "POST", "/admin/users", big, true, 413, "request_too_large"},
		{"bad limit", "GET", "/admin/users?limit=abc", "", false, 400, "invalid_limit"},
		{"long cursor", "GET", "/admin/clients?after=" + strings.Repeat("x", 300), "", false, 400, "invalid_cursor"},
		{"unknown signing-key cursor", "GET", "/admin/signing-keys?after=nope", "", false, 400, "invalid_cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(bytes.NewReader([]byte(tc.body))) // hides the length
			}
			req, _ := http.NewRequest(tc.method, f.s.URL+tc.path, rd)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.adminToken)
			res, body := do(t, req)
			if res.StatusCode != tc.status {
				t.Fatalf("%s %s = %d %.200s, want %d", tc.method, tc.path, res.StatusCode, body, tc.status)
			}
			if got := decode(t, body)["error"]; got != tc.code {
				t.Errorf("error = %v, want %s", got, tc.code)
			}
		})
	}
}

// TestAdminCannotDisableSelf: an admin cannot lock themself out through
// the API (by token or by key); disabling another admin works.
func TestAdminCannotDisableSelf(t *testing.T) {
	f := newAdminFixture(t, newTestServer)
	key := mustAPIKey(t, f.s, "root", "admin")
	for _, hdr := range []map[string]string{bearer(f.adminToken), apiKeyHeader(key)} {
		res, body := f.send(t, "POST", "/admin/users/root/disable", "", hdr)
		if res.StatusCode != http.StatusConflict || !strings.Contains(string(body), "cannot_disable_self") {
			t.Errorf("admin disables themself = %d %s, want 409 cannot_disable_self", res.StatusCode, body)
		}
	}
	mustCreateUser(t, f.s, "other-admin", adminTestPassword, "admin")
	if res, body := f.send(t, "POST", "/admin/users/other-admin/disable", "", bearer(f.adminToken)); res.StatusCode != http.StatusOK {
		t.Errorf("admin disables another admin = %d %s, want 200", res.StatusCode, body)
	}
}

// auditPage is one page of GET /admin/audit.
type auditPage struct {
	Items      []service.AuditEntry `json:"items"`
	NextCursor string               `json:"next_cursor"`
}

func (f *adminFixture) auditPage(t *testing.T, query string) auditPage {
	t.Helper()
	res, body := f.send(t, "GET", "/admin/audit"+query, "", apiKeyHeader(f.adminKey))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/audit%s = %d %s", query, res.StatusCode, body)
	}
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdminAuditNamesOrderAndRefusals: /admin/audit finds events by a username, names
// the users and clients beside their ids (resolved when read, so a deleted
// client shows its id only), lists newest first with order=desc (oldest
// first stays the default), and refuses what would otherwise silently
// match nothing or everything: an unknown action or result, an unknown
// order, a zero or absurd time bound.
func TestAdminAuditNamesOrderAndRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		ctx := context.Background()
		mustToken(t, f.s, "alice", adminTestPassword) // login.succeeded by alice
		c := mustClient(t, f.s, gatehouse.NewClient{Name: "billing", GrantTypes: []string{"client_credentials"}})

		byName := f.auditPage(t, "?actor=alice&action=login.succeeded")
		if len(byName.Items) == 0 {
			t.Fatal("GET /admin/audit?actor=alice found nothing: a username must be accepted")
		}
		for _, e := range byName.Items {
			if e.Actor != f.user.ID || e.ActorName != "alice" {
				t.Errorf("event by alice: actor %q name %q, want %q named alice", e.Actor, e.ActorName, f.user.ID)
			}
		}
		if byID := f.auditPage(t, "?actor="+f.user.ID+"&action=login.succeeded"); len(byID.Items) != len(byName.Items) {
			t.Errorf("by id %d events, by username %d", len(byID.Items), len(byName.Items))
		}

		created := f.auditPage(t, "?action=client.created")
		if n := len(created.Items); n == 0 || created.Items[n-1].Target != c.ID || created.Items[n-1].TargetName != "billing" {
			t.Fatalf("client.created events = %+v, want the last one on %s named billing", created.Items, c.ID)
		}
		if err := f.s.Admin().DeleteClient(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		created = f.auditPage(t, "?action=client.created")
		if last := created.Items[len(created.Items)-1]; last.Target != c.ID || last.TargetName != "" {
			t.Errorf("after deleting the client: target %q name %q, want the id only", last.Target, last.TargetName)
		}

		// Order: oldest first by default and with order=asc; order=desc
		// pages newest first.
		var asc, desc []int64
		for _, e := range f.auditPage(t, "?limit=500").Items {
			asc = append(asc, e.Seq)
		}
		if !slices.IsSorted(asc) || len(asc) < 5 {
			t.Fatalf("default order = %v, want oldest first", asc)
		}
		if got := f.auditPage(t, "?order=asc&limit=500").Items; len(got) != len(asc) || got[0].Seq != asc[0] {
			t.Errorf("order=asc differs from the default")
		}
		cursor := ""
		for {
			q := "?order=desc&limit=2"
			if cursor != "" {
				q += "&after=" + cursor
			}
			p := f.auditPage(t, q)
			for _, e := range p.Items {
				desc = append(desc, e.Seq)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		want := slices.Clone(asc)
		slices.Reverse(want)
		if !slices.Equal(desc, want[:len(desc)]) || len(desc) < len(asc) {
			t.Errorf("order=desc pages = %v, want %v", desc, want)
		}

		for _, tc := range []struct{ query, code string }{
			{"?action=bogus", "invalid_action"},
			{"?action=login.faild", "invalid_action"},
			{"?result=ok", "invalid_result"},
			{"?order=sideways", "invalid_order"},
			{"?until=0001-01-01T00:00:00Z", "invalid_time"},
			{"?since=0001-01-01T00:00:00Z", "invalid_time"},
			{"?until=1900-01-01T00:00:00Z", "invalid_time"},
			{"?since=" + strconv.Itoa(60_000) + "d", "invalid_time"}, // 164 years back
		} {
			res, body := f.send(t, "GET", "/admin/audit"+tc.query, "", apiKeyHeader(f.adminKey))
			if res.StatusCode != http.StatusBadRequest || decode(t, body)["error"] != tc.code {
				t.Errorf("GET /admin/audit%s = %d %s, want 400 %s", tc.query, res.StatusCode, body, tc.code)
			}
			if tc.code == "invalid_action" && !strings.Contains(string(body), "login.failed") {
				t.Errorf("GET /admin/audit%s = %s, want the known actions listed", tc.query, body)
			}
		}
	})
}
