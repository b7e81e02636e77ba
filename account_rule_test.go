package gatehouse_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

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

func newAccountFixture(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) *accountFixture {
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
	app := mustClient(t, s, manage.NewClient{Name: "app", GrantTypes: []string{"password"}})
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

// TestAccountRuleNarrowCredentials checks issue 13 item 11: a credential
// that neither came from a password login nor carries the "account" scope
// cannot create or revoke the user's keys nor log them out everywhere
// (403 insufficient_scope naming "account"); it can still list them, and
// the admin automation key survives every attempt. On both stores.
func TestAccountRuleNarrowCredentials(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
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
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
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
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		f := newAccountFixture(t, newServer)
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
		login := mustToken(t, f.s, "root", adminTestPassword, "read")["access_token"].(string)
		if status, m, _ := f.send(t, "POST", "/users/me/logout", "", bearer(login)); status != 200 {
			t.Errorf("password login logs out everywhere = %d %v, want 200", status, m)
		}
	})
}
