package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// The self-service API (/users/me, /api-keys): who may call it, the
// scopes of the keys a credential may make, one user's keys hidden from
// another, the account rule (what may manage an account) and bad input.

// selfFixture is a server with two ordinary users and credentials of
// various reach.
type selfFixture struct {
	*adminFixture
	bob        gatehouse.User
	bobToken   string
	readToken  string // alice, narrowed to read
	readKey    string // alice's key with read only
	readKeyID  string
	noScopeKey string // alice's key with no scope at all
	clientTok  string // client-credentials token: not a user
}

func newSelfFixture(t *testing.T, newServer newServerFunc) *selfFixture {
	t.Helper()
	f := &selfFixture{adminFixture: newAdminFixture(t, newServer)}
	s := f.s
	f.bob = mustCreateUser(t, s, "bob", adminTestPassword, "read", "write")
	f.bobToken = mustToken(t, s, "bob", adminTestPassword)["access_token"].(string)
	f.readToken = mustToken(t, s, "alice", adminTestPassword, "read")["access_token"].(string)
	var err error
	if f.readKeyID, f.readKey, err = s.CreateAPIKey(context.Background(), "alice", "ro", []string{"read"}, 0); err != nil {
		t.Fatal(err)
	}
	// A key with no scopes, made while its user had none; the user gets
	// scopes later, which the key must not be able to pass on.
	mustCreateUser(t, s, "carol", adminTestPassword)
	f.noScopeKey = mustAPIKey(t, s, "carol")
	if _, err := s.Admin().SetScopes(context.Background(), "carol", []string{"read"}); err != nil {
		t.Fatal(err)
	}
	cc := mustClient(t, s, gatehouse.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	res, body := doForm(t, s.URL+"/token", map[string][]string{"grant_type": {"client_credentials"}}, basicHeader(cc))
	if res.StatusCode != 200 {
		t.Fatalf("client credentials = %d %s", res.StatusCode, body)
	}
	f.clientTok = decode(t, body)["access_token"].(string)
	return f
}

// TestSelfServiceAuthorizationMatrix sends every self-service route with
// every kind of caller: anonymous → 401 with a bare challenge, a bad
// credential → 401 invalid_token, a client (not a user) → 403, any user
// credential → 2xx.
func TestSelfServiceAuthorizationMatrix(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newSelfFixture(t, newServer)
		ctx := context.Background()
		type caller struct {
			name   string
			hdr    map[string]string
			owner  string // whose keys the caller manages; "" for non-users
			status int    // 0: the route's success status
			code   string
			// noManage: a key without the account scope may list keys but
			// not create or revoke them (403 insufficient_scope).
			noManage bool
		}
		callers := []caller{
			{name: "anonymous", status: 401},
			{name: "garbage bearer", hdr: bearer("eyJhbGciOiJub25lIn0.e30."), status: 401, code: "invalid_token"},
			{name: "mistyped api key", hdr: apiKeyHeader(mistype(f.userKey)), status: 401, code: "invalid_token"},
			{name: "client credentials token", hdr: bearer(f.clientTok), status: 403, code: "not_a_user"},
			{name: "user token", hdr: bearer(f.userToken), owner: "alice"},
			{name: "narrow user token", hdr: bearer(f.readToken), owner: "alice"},
			{name: "user api key", hdr: apiKeyHeader(f.userKey), owner: "alice", noManage: true},
			{name: "read-only api key", hdr: apiKeyHeader(f.readKey), owner: "alice", noManage: true},
			{name: "admin token", hdr: bearer(f.adminToken), owner: "root"},
			{name: "admin api key", hdr: apiKeyHeader(f.adminKey), owner: "root", noManage: true},
		}
		type sroute struct {
			name   string
			status int
			req    func(owner string) route
		}
		routes := []sroute{
			{name: "me", status: 200, req: func(string) route { return route{"GET", "/users/me", ""} }},
			{name: "create key", status: 201, req: func(string) route { return route{"POST", "/api-keys", `{"name":"mine","scopes":["read"]}`} }},
			{name: "list keys", status: 200, req: func(string) route { return route{"GET", "/api-keys", ""} }},
			{name: "revoke key", status: 200, req: func(owner string) route {
				if owner == "" {
					owner = "alice"
				}
				id, _, err := f.s.CreateAPIKey(ctx, owner, "doomed", []string{"read"}, 0)
				if err != nil {
					t.Fatal(err)
				}
				return route{"DELETE", "/api-keys/" + id, ""}
			}},
		}
		for _, rt := range routes {
			for _, c := range callers {
				if rt.name == "me" && c.code == "not_a_user" {
					continue // /users/me answers for clients too
				}
				t.Run(rt.name+"/"+c.name, func(t *testing.T) {
					r := rt.req(c.owner)
					res, body := f.send(t, r.method, r.path, r.body, c.hdr)
					want := c.status
					if want == 0 {
						want = rt.status
					}
					if c.noManage && (rt.name == "create key" || rt.name == "revoke key") {
						want, c.code = 403, "insufficient_scope"
					}
					if res.StatusCode != want {
						t.Fatalf("%s %s = %d %s, want %d", r.method, r.path, res.StatusCode, body, want)
					}
					if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
						t.Errorf("Content-Type = %q", res.Header.Get("Content-Type"))
					}
					ch := res.Header.Get("WWW-Authenticate")
					switch {
					case want == 401 && c.code == "":
						if ch != `Bearer realm="gatehouse"` {
							t.Errorf("WWW-Authenticate = %q, want a bare Bearer challenge", ch)
						}
					case want == 401:
						if !strings.Contains(ch, `error="`+c.code+`"`) {
							t.Errorf("WWW-Authenticate = %q, want error=%q", ch, c.code)
						}
					case want == 403:
						if got := decode(t, body)["error"]; got != c.code {
							t.Errorf("error = %v, want %s", got, c.code)
						}
					case rt.name == "create key":
						k := decode(t, body)
						if k["user"] != c.owner || !strings.HasPrefix(fmt.Sprint(k["key"]), "gk_") {
							t.Errorf("created key = %v, want one of %s with its secret", k, c.owner)
						}
						if res.Header.Get("Cache-Control") != "no-store" {
							t.Error("the response with the secret is cacheable")
						}
					case rt.name == "list keys":
						var pg struct{ Items []map[string]any }
						_ = json.Unmarshal(body, &pg)
						if len(pg.Items) == 0 {
							t.Fatal("no keys listed")
						}
						for _, k := range pg.Items {
							if k["user"] != c.owner {
								t.Errorf("%s sees a key of %v", c.owner, k["user"])
							}
							if _, ok := k["key"]; ok {
								t.Errorf("listed key carries its secret: %v", k)
							}
							for _, field := range []string{"id", "prefix", "name", "scopes", "created_at", "last_used_at", "expires_at"} {
								if _, ok := k[field]; !ok {
									t.Errorf("listed key lacks %q", field)
								}
							}
						}
					}
				})
			}
		}
	})
}

func (f *selfFixture) createKey(t *testing.T, hdr map[string]string, body string) (int, map[string]any) {
	t.Helper()
	res, b := f.send(t, "POST", "/api-keys", body, hdr)
	return res.StatusCode, decode(t, b)
}

// TestSelfServiceKeyScopes checks that a key or token cannot mint a key
// with more scopes than it has itself, nor more than its user has.
func TestSelfServiceKeyScopes(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newSelfFixture(t, newServer)
		// Keys without the account scope may not create keys at all (see
		// the account rule's tests below; TestAccountRuleAllowed also
		// bounds an account key's keys).
		const noAccount = "insufficient_scope"
		tests := []struct {
			name       string
			hdr        map[string]string
			body       string
			wantStatus int
			wantScopes []string
			wantCode   string // for 403; "" = invalid_scope
		}{
			{"read key asks for write", apiKeyHeader(f.readKey), `{"scopes":["write"]}`, 403, nil, noAccount},
			{"read key asks for read and write", apiKeyHeader(f.readKey), `{"scopes":["read","write"]}`, 403, nil, noAccount},
			{"read key asks for nothing", apiKeyHeader(f.readKey), `{}`, 403, nil, noAccount},
			{"read key asks for read", apiKeyHeader(f.readKey), `{"scopes":["read"]}`, 403, nil, noAccount},
			{"read token asks for write", bearer(f.readToken), `{"scopes":["write"]}`, 403, nil, ""},
			{"read token asks for nothing: gets read", bearer(f.readToken), ``, 201, []string{"read"}, ""},
			{"user asks for admin", bearer(f.userToken), `{"scopes":["admin"]}`, 403, nil, ""},
			{"user key asks for admin", apiKeyHeader(f.userKey), `{"scopes":["admin"]}`, 403, nil, noAccount},
			{"user asks for a scope nobody has", bearer(f.userToken), `{"scopes":["billing"]}`, 403, nil, ""},
			{"user asks for nothing: gets all theirs", bearer(f.userToken), `{}`, 201, []string{"read", "write"}, ""},
			{"scope-less key asks for read", apiKeyHeader(f.noScopeKey), `{"scopes":["read"]}`, 403, nil, noAccount},
			{"scope-less key asks for nothing", apiKeyHeader(f.noScopeKey), `{}`, 403, nil, noAccount},
			{"admin's weak key asks for admin", apiKeyHeader(f.weakKey), `{"scopes":["admin"]}`, 403, nil, noAccount},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, k := f.createKey(t, tc.hdr, tc.body)
				if status != tc.wantStatus {
					t.Fatalf("POST /api-keys %s = %d %v, want %d", tc.body, status, k, tc.wantStatus)
				}
				if status == 403 {
					want := tc.wantCode
					if want == "" {
						want = "invalid_scope"
					}
					if k["error"] != want {
						t.Errorf("error = %v, want %s", k["error"], want)
					}
					return
				}
				got := []string{}
				for _, s := range k["scopes"].([]any) {
					got = append(got, s.(string))
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.wantScopes) {
					t.Errorf("scopes = %v, want %v", got, tc.wantScopes)
				}
				// The new key works and carries exactly those scopes.
				res, body := get(t, f.s.URL+"/users/me", apiKeyHeader(k["key"].(string)))
				if res.StatusCode != 200 {
					t.Fatalf("new key: /users/me = %d %s", res.StatusCode, body)
				}
				if fmt.Sprint(decode(t, body)["scopes"]) != fmt.Sprint(anySlice(tc.wantScopes)) {
					t.Errorf("new key's /users/me scopes = %v, want %v", decode(t, body)["scopes"], tc.wantScopes)
				}
			})
		}
	})
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestSelfServiceCrossUser checks that a user can neither see nor revoke
// another user's keys: someone else's key id is 404, exactly like an id
// that does not exist, and the key keeps working.
func TestSelfServiceCrossUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newSelfFixture(t, newServer)
		if _, err := f.s.Admin().SetScopes(context.Background(), "bob", []string{"read", "write", service.ScopeAccount}); err != nil {
			t.Fatal(err)
		}
		for _, hdr := range []map[string]string{bearer(f.bobToken), apiKeyHeader(mustAPIKey(t, f.s, "bob"))} {
			res, body := f.send(t, "DELETE", "/api-keys/"+f.userKeyID, "", hdr)
			if res.StatusCode != 404 || decode(t, body)["error"] != "not_found" {
				t.Errorf("bob revokes alice's key = %d %s, want 404 not_found", res.StatusCode, body)
			}
			res2, body2 := f.send(t, "DELETE", "/api-keys/"+"aaaaaaaaaaaaaaaaaaaaaaaaaa", "", hdr)
			if res2.StatusCode != 404 || decode(t, body2)["error"] != "not_found" {
				t.Errorf("unknown key = %d %s", res2.StatusCode, body2)
			}
			res, body = f.send(t, "GET", "/api-keys?limit=500", "", hdr)
			if res.StatusCode != 200 {
				t.Fatalf("bob lists = %d %s", res.StatusCode, body)
			}
			if strings.Contains(string(body), f.userKeyID) || strings.Contains(string(body), f.readKeyID) || strings.Contains(string(body), `"alice"`) {
				t.Errorf("bob's list shows alice's keys: %s", body)
			}
			// Paging with alice's key id as cursor shows bob nothing of hers.
			res, body = f.send(t, "GET", "/api-keys?after="+f.userKeyID, "", hdr)
			if res.StatusCode != 200 || strings.Contains(string(body), `"alice"`) {
				t.Errorf("bob lists after alice's key = %d %s", res.StatusCode, body)
			}
		}
		if res, _ := get(t, f.s.URL+"/users/me", apiKeyHeader(f.userKey)); res.StatusCode != 200 {
			t.Errorf("alice's key after bob's attempts: /users/me = %d, want 200", res.StatusCode)
		}
		// Alice revokes her own key: it stops working at once.
		res, body := f.send(t, "DELETE", "/api-keys/"+f.readKeyID, "", bearer(f.userToken))
		if res.StatusCode != 200 || decode(t, body)["revoked_at"] == nil {
			t.Fatalf("alice revokes her key = %d %s", res.StatusCode, body)
		}
		if res, _ := get(t, f.s.URL+"/users/me", apiKeyHeader(f.readKey)); res.StatusCode != 401 {
			t.Errorf("revoked key: /users/me = %d, want 401", res.StatusCode)
		}
		wantAudited(t, f.s, "apikey.revoked", f.user.ID)
	})
}

// TestSelfServiceKeyOptions checks expiry and rate limit, and that the
// list shows the last-used time once the key has been used.
func TestSelfServiceKeyOptions(t *testing.T) {
	f := newSelfFixture(t, newTestServer)
	status, k := f.createKey(t, bearer(f.userToken), `{"name":"ci","scopes":["read"],"expires_in":"90d","rate_limit":"10/s"}`)
	if status != 201 {
		t.Fatalf("create = %d %v", status, k)
	}
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(k["expires_at"]))
	if err != nil || time.Until(exp) < 89*24*time.Hour || time.Until(exp) > 91*24*time.Hour {
		t.Errorf("expires_at = %v, want about 90 days from now", k["expires_at"])
	}
	if k["rate_limit"] != "10/s" || k["name"] != "ci" || k["id"] == "" || k["user"] != "alice" {
		t.Errorf("created key = %v", k)
	}
	wantAudited(t, f.s, "apikey.created", f.user.ID)
	for _, body := range []string{`{"expires_in":"soon"}`, `{"expires_in":"-1h"}`, `{"expires_in":"0s"}`, `{"rate_limit":"fast"}`, `{"name":"` + strings.Repeat("n", 200) + `"}`} {
		if status, m := f.createKey(t, bearer(f.userToken), body); status != 400 || m["error"] == "" {
			t.Errorf("POST /api-keys %s = %d %v, want 400", body, status, m)
		}
	}
	// Use the key, and find last_used_at in the list once the server has
	// written the usage it coalesces (at the latest when it stops).
	if res, _ := get(t, f.s.URL+"/users/me", apiKeyHeader(k["key"].(string))); res.StatusCode != 200 {
		t.Fatalf("new key refused: %d", res.StatusCode)
	}
	f.s = f.s.restart(t)
	res, body := f.send(t, "GET", "/api-keys?limit=500", "", bearer(f.userToken))
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	var pg struct{ Items []map[string]any }
	_ = json.Unmarshal(body, &pg)
	i := slices.IndexFunc(pg.Items, func(m map[string]any) bool { return m["id"] == k["id"] })
	if i < 0 {
		t.Fatal("new key not listed")
	}
	if pg.Items[i]["last_used_at"] == nil || pg.Items[i]["prefix"] == "" {
		t.Errorf("listed key = %v, want last_used_at and prefix", pg.Items[i])
	}
}

// TestSelfServicePagination walks GET /api-keys over several pages.
func TestSelfServicePagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newSelfFixture(t, newServer)
		for range 5 {
			mustAPIKey(t, f.s, "alice", "read")
		}
		ks, err := f.s.DB.ListAPIKeys(context.Background(), f.user.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		got := pageThrough(t, f.adminFixture, "/api-keys", "id", 2, bearer(f.userToken))
		if len(got) != len(ks) {
			t.Errorf("paged %d keys, alice has %d", len(got), len(ks))
		}
		if !slices.IsSorted(got) {
			t.Errorf("keys not in id order: %v", got)
		}
	})
}

// TestSelfServiceMalformedRequests throws oversized, malformed and
// hostile requests at the self-service API: each gets a 4xx with a JSON
// error body, never a 500 or a panic, and the server stays healthy.
func TestSelfServiceMalformedRequests(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "victim", "password-1", "read")
	good := mustToken(t, s, "victim", "password-1")["access_token"].(string)
	key := mustAPIKey(t, s, "victim")
	wantRefusedCleanly(t, s, good, []badRequest{
		{name: "5 MB api-keys body", method: "POST", path: "/api-keys", body: bytes.Repeat([]byte("{"), 5<<20), ctype: "application/json", hdr: map[string]string{"Authorization": "Bearer " + good}},
		{name: "api-keys malformed json", method: "POST", path: "/api-keys", body: []byte(`{"name":`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys unknown field", method: "POST", path: "/api-keys", body: []byte(`{"name":"x","admin":true}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys wrong types", method: "POST", path: "/api-keys", body: []byte(`{"scopes":"read"}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys scope widening", method: "POST", path: "/api-keys", body: []byte(`{"scopes":["admin"]}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys bad expiry", method: "POST", path: "/api-keys", body: []byte(`{"expires_in":"-5d"}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "delete someone else's key", method: "DELETE", path: "/api-keys/aaaaaaaaaaaa", hdr: map[string]string{"X-API-Key": key}},
		{name: "sql in key id", method: "DELETE", path: "/api-keys/x'%20OR%20'1'='1", hdr: map[string]string{"X-API-Key": key}},
		{name: "bad page limit", method: "GET", path: "/api-keys?limit=-1", hdr: map[string]string{"X-API-Key": key}},
	})
}

// TestSelfServiceBadInput sends malformed bodies to POST /api-keys.
func TestSelfServiceBadInput(t *testing.T) {
	f := newSelfFixture(t, newTestServer)
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	tests := []struct {
		name, body string
		chunked    bool
		status     int
		code       string
	}{
		{"malformed", `{"name":`, false, 400, "invalid_json"},
		{"unknown field", `{"name":"x","user_id":"someone"}`, false, 400, "invalid_json"},
		{"wrong type", `{"scopes":"read"}`, false, 400, "invalid_json"},
		{"trailing data", `{} []`, false, 400, "invalid_json"},
		{"bad scope token", `{"scopes":["a b\""]}`, false, 400, "invalid_scope"},
		{"oversized (Content-Length)", big, false, 413, "request_too_large"},
		{"oversized (chunked)", big, true, 413, "request_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(bytes.NewReader([]byte(tc.body)))
			}
			req, _ := http.NewRequest("POST", f.s.URL+"/api-keys", rd)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.userToken)
			res, body := do(t, req)
			if res.StatusCode != tc.status {
				t.Fatalf("POST /api-keys = %d %.200s, want %d", res.StatusCode, body, tc.status)
			}
			if got := decode(t, body)["error"]; got != tc.code {
				t.Errorf("error = %v, want %s", got, tc.code)
			}
		})
	}
}

// accountFixture is a server whose user root holds an admin automation
// key and credentials of every reach: a password login (a token of the
// first-party client), a key with no scopes, a key with everything but
// "account", a third-party app's openid-only token and a key with the
// "account" scope.
type accountFixture struct {
	s          *testServer
	adminKeyID string // root's automation key: admin read write
	adminKey   string
	login      string // root's password login: all of root's scopes
	readLogin  string // root's password login narrowed to read
	noScopeKey string
	noScopeID  string
	wideKey    string // admin read write, no account
	openidApp  string // a third-party app's token with openid only
	accountKey string // account read
}

func newAccountFixture(t *testing.T, newServer newServerFunc) *accountFixture {
	t.Helper()
	s := newServer(t)
	ctx := context.Background()
	f := &accountFixture{s: s}
	if _, err := s.CreateUser(ctx, "root", adminTestPassword, []string{"read", "write", "account"}, true); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.adminKeyID, f.adminKey, err = s.CreateAPIKey(ctx, "root", "automation", []string{"admin", "read", "write"}, 0); err != nil {
		t.Fatal(err)
	}
	f.login = mustToken(t, s, "root", adminTestPassword)["access_token"].(string)
	f.readLogin = mustToken(t, s, "root", adminTestPassword, "read")["access_token"].(string)
	if f.noScopeID, f.noScopeKey, err = s.CreateAPIKey(ctx, "root", "none", []string{}, 0); err != nil {
		t.Fatal(err)
	}
	f.wideKey = mustAPIKey(t, s, "root", "admin", "read", "write")
	f.accountKey = mustAPIKey(t, s, "root", "account", "read")
	app := mustClient(t, s, gatehouse.NewClient{Name: "app", GrantTypes: []string{"password"}})
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"root"},
		"password": {adminTestPassword}, "scope": {"openid"}}, basicHeader(app))
	if res.StatusCode != 200 {
		t.Fatalf("third-party password grant = %d %s", res.StatusCode, body)
	}
	f.openidApp = decode(t, body)["access_token"].(string)
	return f
}

func (f *accountFixture) send(t *testing.T, method, path, body string, hdr map[string]string) (int, map[string]any, string) {
	t.Helper()
	a := &adminFixture{s: f.s}
	res, b := a.send(t, method, path, body, hdr)
	return res.StatusCode, decode(t, b), res.Header.Get("WWW-Authenticate")
}

// TestAccountRuleNarrowCredentials checks the account rule: a credential
// that neither came from a password login nor carries the "account" scope
// cannot create or revoke the user's keys nor log them out everywhere
// (403 insufficient_scope naming "account"); it can still list them, and
// the admin automation key survives every attempt. On both stores.
func TestAccountRuleNarrowCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAccountFixture(t, newServer)
		callers := map[string]map[string]string{
			"key with no scopes":       apiKeyHeader(f.noScopeKey),
			"key without account":      apiKeyHeader(f.wideKey),
			"third-party openid token": bearer(f.openidApp),
		}
		for name, hdr := range callers {
			t.Run(name, func(t *testing.T) {
				for _, r := range []route{
					{"DELETE", "/api-keys/" + f.adminKeyID, ""},
					{"POST", "/api-keys", `{"scopes":[]}`},
					{"POST", "/users/me/logout", ""},
				} {
					status, m, challenge := f.send(t, r.method, r.path, r.body, hdr)
					if status != 403 || m["error"] != "insufficient_scope" || !strings.Contains(m["error_description"].(string), "account") {
						t.Errorf("%s %s = %d %v, want 403 insufficient_scope naming account", r.method, r.path, status, m)
					}
					if !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="account"`) {
						t.Errorf("%s %s: WWW-Authenticate = %q, want insufficient_scope and scope=\"account\"", r.method, r.path, challenge)
					}
				}
				if status, m, _ := f.send(t, "GET", "/api-keys", "", hdr); status != 200 {
					t.Errorf("GET /api-keys = %d %v, want 200: listing needs any credential", status, m)
				}
			})
		}
		// Still standing: the automation key and the password login.
		if res, body := get(t, f.s.URL+"/admin/users", apiKeyHeader(f.adminKey)); res.StatusCode != 200 {
			t.Errorf("admin key after the attempts: /admin/users = %d %s", res.StatusCode, body)
		}
		if res, body := get(t, f.s.URL+"/users/me", bearer(f.login)); res.StatusCode != 200 {
			t.Errorf("password login after the attempts: /users/me = %d %s", res.StatusCode, body)
		}
	})
}

// TestAccountRuleNarrowCannotRevokeWider checks that even a credential
// that may manage the account revokes only keys whose scopes it holds
// itself, and that any key may revoke itself.
func TestAccountRuleNarrowCannotRevokeWider(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAccountFixture(t, newServer)
		for name, hdr := range map[string]map[string]string{
			"password login narrowed to read": bearer(f.readLogin),
			"key with account and read":       apiKeyHeader(f.accountKey),
		} {
			status, m, challenge := f.send(t, "DELETE", "/api-keys/"+f.adminKeyID, "", hdr)
			if status != 403 || m["error"] != "insufficient_scope" || !strings.Contains(challenge, "admin") {
				t.Errorf("%s revokes the admin key = %d %v (%s), want 403 insufficient_scope naming admin", name, status, m, challenge)
			}
			readID, _, err := f.s.CreateAPIKey(context.Background(), "root", "r", []string{"read"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if status, m, _ := f.send(t, "DELETE", "/api-keys/"+readID, "", hdr); status != 200 {
				t.Errorf("%s revokes a read key = %d %v, want 200", name, status, m)
			}
		}
		if status, m, _ := f.send(t, "DELETE", "/api-keys/"+f.noScopeID, "", apiKeyHeader(f.noScopeKey)); status != 200 {
			t.Errorf("a key revokes itself = %d %v, want 200", status, m)
		}
		if status, m, _ := f.send(t, "DELETE", "/api-keys/"+f.adminKeyID, "", bearer(f.login)); status != 200 {
			t.Errorf("the full password login revokes the admin key = %d %v, want 200", status, m)
		}
	})
}

// TestAccountRuleAllowed checks what may manage the account: a password
// login and a key with the "account" scope create keys within their own
// scopes and log the user out everywhere.
func TestAccountRuleAllowed(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		clk := newClock()
		f := newAccountFixture(t, func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer {
			return newServer(t, append(opts, withClock(clk))...)
		})
		if status, m, _ := f.send(t, "POST", "/api-keys", `{"scopes":["read"]}`, apiKeyHeader(f.accountKey)); status != 201 {
			t.Errorf("account key creates a read key = %d %v, want 201", status, m)
		}
		if status, m, _ := f.send(t, "POST", "/api-keys", `{}`, apiKeyHeader(f.accountKey)); status != 201 || fmt.Sprint(m["scopes"]) != "[read account]" {
			t.Errorf("account key creates a key with default scopes = %d %v, want 201 with its own [read account]", status, m)
		}
		if status, m, _ := f.send(t, "POST", "/api-keys", `{"scopes":["write"]}`, apiKeyHeader(f.accountKey)); status != 403 || m["error"] != "invalid_scope" {
			t.Errorf("account key creates a write key = %d %v, want 403 invalid_scope", status, m)
		}
		if status, m, _ := f.send(t, "POST", "/api-keys", `{"scopes":["read"]}`, bearer(f.readLogin)); status != 201 {
			t.Errorf("password login creates a read key = %d %v, want 201", status, m)
		}
		if status, m, _ := f.send(t, "POST", "/users/me/logout", "", apiKeyHeader(f.accountKey)); status != 200 {
			t.Errorf("account key logs out everywhere = %d %v, want 200", status, m)
		}
		clk.Advance(time.Second) // past the logout's second, in which no token is issued
		login := mustToken(t, f.s, "root", adminTestPassword, "read")["access_token"].(string)
		if status, m, _ := f.send(t, "POST", "/users/me/logout", "", bearer(login)); status != 200 {
			t.Errorf("password login logs out everywhere = %d %v, want 200", status, m)
		}
	})
}
