package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
)

// API keys: how the guard takes them, what ends them (revocation, expiry,
// a disabled owner, a rotation), and the scopes they carry.

func TestAPIKeys(t *testing.T) {
	eachBackend(t, testAPIKeys)
}

func testAPIKeys(t *testing.T, newServer newServerFunc) {
	s := newServer(t)
	mustCreateUser(t, s, "dave", "password-1", "read", "write")
	key := mustAPIKey(t, s, "dave", "read")
	if !strings.HasPrefix(key, "gk_") {
		t.Fatalf("key %q lacks the gk_ prefix", key)
	}
	for _, hdr := range []map[string]string{{"X-API-Key": key}, {"Authorization": "Bearer " + key}} {
		res, body := get(t, s.URL+"/users/me", hdr)
		if res.StatusCode != 200 {
			t.Fatalf("GET /users/me with %v = %d %s", hdr, res.StatusCode, body)
		}
		me := decode(t, body)
		if me["username"] != "dave" || me["auth_method"] != "api_key" {
			t.Errorf("/users/me = %v", me)
		}
		if sc := me["scopes"].([]any); len(sc) != 1 || sc[0] != "read" {
			t.Errorf("scopes = %v, want the key's own [read]", sc)
		}
	}

	// Missing and wrong keys.
	res, body := get(t, s.URL+"/users/me", nil)
	if res.StatusCode != 401 || !strings.Contains(string(body), "Missing API Key") {
		t.Errorf("no key: %d %s", res.StatusCode, body)
	}
	if h := res.Header.Get("WWW-Authenticate"); h != `Bearer realm="gatehouse"` {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	for name, k := range map[string]string{"mistyped": mistype(key), "garbage": "gk_nope", "other prefix": "sk_live_123"} {
		res, body := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": k})
		if res.StatusCode != 401 || !strings.Contains(string(body), "Invalid or inactive API Key") {
			t.Errorf("%s key: %d %s", name, res.StatusCode, body)
		}
		if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s key: WWW-Authenticate = %q", name, res.Header.Get("WWW-Authenticate"))
		}
	}
	// In a query string: refused with a clear error.
	res, body = get(t, s.URL+"/users/me?api_key="+url.QueryEscape(key), nil)
	if res.StatusCode != 400 || !strings.Contains(string(body), "query string") {
		t.Errorf("query-string key: %d %s", res.StatusCode, body)
	}

	// Last-used is recorded through the coalesced flush, at the latest
	// when the server stops.
	s.close()
	ks, err := s.DB.ListAPIKeys(t.Context(), "", "", 0)
	if err != nil || len(ks) != 1 || ks[0].LastUsedAt == nil {
		t.Fatalf("keys = %+v, %v; want last-used set", ks, err)
	}
	if strings.Contains(string(ks[0].Hash), key) {
		t.Fatal("store holds the key in plain text")
	}
}

// TestAPIKeyRefusedWhenRevokedExpiredOrOwnerDisabled: a key is refused
// once it is revoked, once it has expired (the server's clock moves past
// its expiry) and once its owner is disabled.
func TestAPIKeyRefusedWhenRevokedExpiredOrOwnerDisabled(t *testing.T) {
	clk := newClock()
	s := newTestServer(t, withClock(clk))
	ctx := context.Background()
	mustCreateUser(t, s, "erin", "password-1", "read")
	mustCreateUser(t, s, "frank", "password-1", "read")
	revoked := mustAPIKey(t, s, "erin")
	id, _, _ := strings.Cut(strings.TrimPrefix(revoked, "gk_"), "_")
	_, expired, err := s.CreateAPIKey(ctx, "erin", "short", nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	owner := mustAPIKey(t, s, "frank")
	check := func(key string, want int) {
		t.Helper()
		res, body := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": key})
		if res.StatusCode != want {
			t.Errorf("status = %d, want %d (%s)", res.StatusCode, want, body)
		}
	}
	check(revoked, 200)
	check(owner, 200)
	check(expired, 200)
	if _, err := s.Admin().RevokeAPIKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	check(revoked, 401)
	clk.Advance(time.Minute + time.Second)
	check(expired, 401)
	if _, err := s.Admin().DisableUser(ctx, "frank"); err != nil {
		t.Fatal(err)
	}
	check(owner, 401)
}

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

// TestAPIKeyEmptyScopesMeanNone checks that an empty scope list is a key
// with no scopes, never "all of the owner's"; only an absent list means
// the default, which is the owner's scopes within the caller's.
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
		t.Run("Admin.CreateAPIKey", func(t *testing.T) {
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

// TestAPIKeyScopesFollowOwner: a user's scopes are the most any key of
// theirs may carry: never more than the owner's. When an admin takes a
// scope away from a user — here "admin" — a key that was created with it
// loses it at once, the way the refresh grant narrows to the user's
// current scopes; it must not keep the admin API for as long as it lives.
func TestAPIKeyScopesFollowOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		// An admin makes alice a (scope-only) administrator; she mints a key with it.
		if _, err := f.s.Admin().SetScopes(t.Context(), f.user.ID, []string{"read", "write", "admin"}); err != nil {
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
		rs := mustClient(t, f.s, gatehouse.NewClient{Name: "rs", GrantTypes: []string{"client_credentials"}})
		if got := introspect(t, f.s, rs, key)["scope"]; got != "read" {
			t.Errorf("introspect scope after demotion = %v, want read", got)
		}
		// Scopes given back are not restored to the key beyond what it was created with.
		if _, err := f.s.Admin().SetScopes(t.Context(), f.user.ID, []string{"read", "write", "admin", "extra"}); err != nil {
			t.Fatal(err)
		}
		_, body = f.send(t, "GET", "/users/me", "", apiKeyHeader(key))
		if got := decode(t, body)["scopes"]; len(got.([]any)) != 3 {
			t.Errorf("/users/me scopes after re-promotion = %v, want the key's own three", got)
		}
	})
}

// TestAPIKeyRotationGrace: after `gatehouse apikey rotate --grace 24h`
// both secrets work until the grace ends, then only the new one; without
// a grace the old secret ends at once. The CLI rotates; the running server
// hears of it on the revocation feed, and its clock moves the day on.
func TestAPIKeyRotationGrace(t *testing.T) {
	clk := newClock()
	s := newTestServer(t, withClock(clk))
	cli := mustCLI(t, s)
	ctx := t.Context()
	mustCreateUser(t, s, "frank", "correct horse battery", "read")
	id, old, err := s.CreateAPIKey(ctx, "frank", "k", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := meStatus(t, s, apiKeyCred(old)); got != http.StatusOK {
		t.Fatalf("new key: status %d, want 200", got)
	}

	// Without a grace: the old secret ends as soon as the server hears.
	rot, err := cli.RotateAPIKey(ctx, audit.CLI(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Secret == old || rot.ID != id {
		t.Fatalf("RotateAPIKey gave id %s (want %s) and the same secret: %v", rot.ID, id, rot.Secret == old)
	}
	waitFor(t, "the server to refuse the secret rotated away without grace", func() bool {
		return meStatus(t, s, apiKeyCred(old)) == http.StatusUnauthorized
	})
	if got := meStatus(t, s, apiKeyCred(rot.Secret)); got != http.StatusOK {
		t.Errorf("new secret after rotate --grace 0: status %d, want 200", got)
	}

	// With a day's grace: both work until it ends.
	rot2, err := cli.RotateAPIKey(ctx, audit.CLI(), id, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to accept the secret of the rotation with grace", func() bool {
		return meStatus(t, s, apiKeyCred(rot2.Secret)) == http.StatusOK
	})
	for _, tc := range []struct {
		name     string
		advance  time.Duration
		old, new int
	}{
		{"right after", 0, 200, 200},
		{"an hour before the grace ends", 23 * time.Hour, 200, 200},
		{"after the grace", time.Hour + time.Minute, 401, 200},
	} {
		clk.Advance(tc.advance)
		if got := meStatus(t, s, apiKeyCred(rot.Secret)); got != tc.old {
			t.Errorf("%s: old secret status %d, want %d", tc.name, got, tc.old)
		}
		if got := meStatus(t, s, apiKeyCred(rot2.Secret)); got != tc.new {
			t.Errorf("%s: new secret status %d, want %d", tc.name, got, tc.new)
		}
	}
}
