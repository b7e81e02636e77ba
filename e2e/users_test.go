package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Users: the rules for their names, passwords and scopes wherever users
// are made, and what disabling a user and resetting a password end.

// TestPasswordMinimumCountsCharacters: the 8-character minimum counts
// characters, not bytes — "éééé" is 8 bytes but 4 characters — on the
// admin API and the embedding API, on both stores.
func TestPasswordMinimumCountsCharacters(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		for i, pw := range []string{"éééé", "🔑🔑🔑🔑"} {
			res, body := f.send(t, "POST", "/admin/users/alice/password", `{"password":"`+pw+`"}`, bearer(f.adminToken))
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_password" {
				t.Errorf("reset password to %q = %d %s, want 400 invalid_password", pw, res.StatusCode, body)
			}
			var me *gatehouse.Error
			if _, err := f.s.CreateUser(t.Context(), fmt.Sprintf("eve%d", i), pw, nil, false); !errors.As(err, &me) || me.Code != "invalid_password" {
				t.Errorf("CreateUser(password %q) error = %v, want invalid_password", pw, err)
			}
		}
		res, body := f.send(t, "POST", "/admin/users/alice/password", `{"password":"密码密码密码密码"}`, bearer(f.adminToken))
		if res.StatusCode != 200 {
			t.Errorf("reset password to 8 Chinese characters = %d %s, want 200", res.StatusCode, body)
		}
	})
}

// TestUsernameImpersonationRefused: a name mixing scripts ("rооt" with
// Cyrillic о) or written wholly in look-alikes of a Latin name is refused
// wherever users are created — the admin API and the embedding API — on
// both stores; names in one script are welcome.
func TestUsernameImpersonationRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		for name, code := range map[string]string{"rооt": "mixed_script", "аlice": "mixed_script", "аре": "confusable_username"} {
			res, body := f.send(t, "POST", "/admin/users", `{"username":"`+name+`","password":"a long passphrase"}`, bearer(f.adminToken))
			if res.StatusCode != 400 || decode(t, body)["error"] != code {
				t.Errorf("POST /admin/users %q = %d %s, want 400 %s", name, res.StatusCode, body, code)
			}
			if _, err := f.s.CreateUser(t.Context(), name, "a long passphrase", nil, false); err == nil {
				t.Errorf("CreateUser(%q) = nil error, want %s", name, code)
			}
		}
		res, body := f.send(t, "POST", "/admin/users", `{"username":"Алиса","password":"a long passphrase"}`, bearer(f.adminToken))
		if res.StatusCode != 201 || decode(t, body)["username"] != "алиса" {
			t.Errorf("POST /admin/users Алиса = %d %s, want 201 алиса", res.StatusCode, body)
		}
	})
}

// TestScopeNameWithCommaRefused checks on the server that a comma inside
// a scope name ("read,write", which someone meant as two scopes) is
// refused with a clear 400 wherever scopes are set — users, clients, API
// keys, the admin API, self-service and the embedding API — on both
// stores.
func TestScopeNameWithCommaRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newAdminFixture(t, newServer)
		cc := mustClient(t, f.s, gatehouse.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}})
		tests := []struct {
			name               string
			method, path, body string
			hdr                map[string]string
		}{
			{"create user", "POST", "/admin/users", `{"username":"carol","scopes":["read,write"]}`, bearer(f.adminToken)},
			{"set user scopes", "PUT", "/admin/users/alice/scopes", `{"scopes":["read","a,b"]}`, bearer(f.adminToken)},
			{"create client", "POST", "/admin/clients", `{"name":"c","grant_types":["client_credentials"],"scopes":["read,write"]}`, bearer(f.adminToken)},
			{"update client", "PATCH", "/admin/clients/" + cc.ID, `{"scopes":["read,write"]}`, bearer(f.adminToken)},
			{"create own key", "POST", "/api-keys", `{"scopes":["read,write"]}`, bearer(f.userToken)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, body := f.send(t, tc.method, tc.path, tc.body, tc.hdr)
				m := decode(t, body)
				if res.StatusCode != 400 || m["error"] != "invalid_scope" || !strings.Contains(m["error_description"].(string), "comma") {
					t.Errorf("%s %s %s = %d %s, want 400 invalid_scope naming the comma", tc.method, tc.path, tc.body, res.StatusCode, body)
				}
			})
		}
		if _, err := f.s.CreateUser(context.Background(), "dave", adminTestPassword, []string{"read,write"}, false); err == nil {
			t.Error(`Admin.CreateUser(scopes ["read,write"]) = nil error, want one`)
		}
	})
}

func TestDisabledUserTokensStopWorking(t *testing.T) {
	eachBackend(t, testDisabledUserTokensStopWorking)
}

func testDisabledUserTokensStopWorking(t *testing.T, newServer newServerFunc) {
	s := newServer(t)
	mustCreateUser(t, s, "gina", "password-1", "read")
	tok := mustToken(t, s, "gina", "password-1")["access_token"].(string)
	auth := map[string]string{"Authorization": "Bearer " + tok}
	if res, body := get(t, s.URL+"/users/me", auth); res.StatusCode != 200 {
		t.Fatalf("before: %d %s", res.StatusCode, body)
	}
	if _, err := s.Admin().DisableUser(t.Context(), "gina"); err != nil {
		t.Fatal(err)
	}
	res, body := get(t, s.URL+"/users/me", auth)
	if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("after disable: %d %s", res.StatusCode, body)
	}
	res, _ = doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"gina"}, "password": {"password-1"}}, nil)
	if res.StatusCode != 400 {
		t.Errorf("login of a disabled user = %d, want 400", res.StatusCode)
	}
}

// TestPasswordResetLogsOut: a new password ends every session of the old
// one (access and refresh tokens); the user's API keys keep working, and
// the new password signs in.
func TestPasswordResetLogsOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		clk := newClock()
		s := newServer(t, withClock(clk))
		mustCreateUser(t, s, "alice", "old-password-1", "read")
		key := mustAPIKey(t, s, "alice", "read")
		tok := mustToken(t, s, "alice", "old-password-1")
		// Reset in a later second, at its very end (the server's clock
		// moves only when the test moves it): the new login below falls in
		// the same second as the reset (tokens are revoked by the second
		// they were issued in), and the server waits a millisecond for the
		// next one.
		clk.Advance(time.Second + 999*time.Millisecond)
		resetSecond := clk.Now().Unix()
		if _, err := s.Admin().SetPassword(t.Context(), "alice", "new-password-2"); err != nil {
			t.Fatal(err)
		}
		// Logging in again at once works: the server does not mint a token
		// that the reset's revocation would refuse, it waits for the next
		// second.
		fresh := mustToken(t, s, "alice", "new-password-2")["access_token"].(string)
		if res, _ := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + fresh}); res.StatusCode != http.StatusOK {
			t.Errorf("token for the new password, right after the reset = %d, want 200", res.StatusCode)
		}
		if iat := issuedAt(t, fresh); iat <= resetSecond {
			t.Errorf("new token iat = %d, want after the second the reset began in, %d", iat, resetSecond)
		}
		if res, _ := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("old access token after a password reset = %d, want 401", res.StatusCode)
		}
		res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("old refresh token after a password reset = %d %s, want 400 invalid_grant", res.StatusCode, body)
		}
		if res, _ := get(t, s.URL+"/users/me", map[string]string{"X-API-Key": key}); res.StatusCode != http.StatusOK {
			t.Errorf("API key after a password reset = %d, want 200", res.StatusCode)
		}
	})
}

// issuedAt returns the iat of a JWT, read without checking the signature
// (the server has checked it).
func issuedAt(t *testing.T, token string) int64 {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.HS256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	var c jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil || c.IssuedAt == nil {
		t.Fatalf("token claims: %v (iat %v)", err, c.IssuedAt)
	}
	return c.IssuedAt.Time().Unix()
}

// TestBcryptHashIsUpgraded: a user whose password hash is bcrypt (from an
// import) logs in, and the hash is replaced with argon2id.
func TestBcryptHashIsUpgraded(t *testing.T) {
	s := newTestServer(t)
	u := mustCreateUser(t, s, "ivan", "password-1")
	legacy, _ := bcrypt.GenerateFromPassword([]byte("tutorial-pass"), 4)
	if _, err := s.DB.UpdateUser(t.Context(), u.ID, func(x store.User) (store.User, error) {
		x.PasswordHash = string(legacy)
		return x, nil
	}); err != nil {
		t.Fatal(err)
	}
	mustToken(t, s, "ivan", "tutorial-pass")
	got, err := s.DB.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Errorf("hash after login = %.12s…, want argon2id", got.PasswordHash)
	}
	mustToken(t, s, "ivan", "tutorial-pass") // still works after the upgrade
}
