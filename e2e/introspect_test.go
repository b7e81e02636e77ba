package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// Introspection (POST /oauth2/introspect, RFC 7662): what it says of
// access tokens, client tokens, refresh tokens, API keys and garbage. Its
// attack table is TestAttackRevokeAndIntrospect (revocation_test.go).

// introspect posts token to /oauth2/introspect as cc and returns the
// decoded answer (failing on a non-200).
func introspect(t testing.TB, s *testServer, cc client, tok string) map[string]any {
	t.Helper()
	res, body := doForm(t, s.URL+"/oauth2/introspect", url.Values{"token": {tok}}, basicHeader(cc))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("introspect = %d %s", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("introspect Cache-Control = %q, want no-store", cc)
	}
	return decode(t, body)
}

// wantInactive fails unless m is exactly {"active":false}.
func wantInactive(t testing.TB, what string, m map[string]any) {
	t.Helper()
	if len(m) != 1 || m["active"] != false {
		t.Errorf("introspect(%s) = %v, want exactly {\"active\":false}", what, m)
	}
}

// guardAccepts reports whether the embedded guard accepts an access token.
func guardAccepts(t testing.TB, s *testServer, tok string) bool {
	t.Helper()
	return meStatus(t, s, bearerCred(tok)) == http.StatusOK
}

func TestIntrospection(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "read", "write")
		rs := mustClient(t, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}})
		tok := mustToken(t, s, "alice", "correct horse battery", "read")

		t.Run("access token", func(t *testing.T) {
			m := introspect(t, s, rs, tok["access_token"].(string))
			want := map[string]any{"active": true, "scope": "read", "client_id": "gatehouse", "username": "alice",
				"sub": alice.ID, "iss": s.Config().Issuer, "token_type": "Bearer"}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("introspect[%q] = %v, want %v (all: %v)", k, m[k], v, m)
				}
			}
			for _, k := range []string{"exp", "iat", "jti", "aud"} {
				if m[k] == nil {
					t.Errorf("introspect has no %q: %v", k, m)
				}
			}
		})
		t.Run("client credentials token", func(t *testing.T) {
			m := introspect(t, s, rs, clientToken(t, s, rs))
			if m["active"] != true || m["sub"] != rs.ID || m["client_id"] != rs.ID || m["username"] != nil {
				t.Errorf("introspect(client token) = %v", m)
			}
		})
		t.Run("refresh token by its client only", func(t *testing.T) {
			rt := tok["refresh_token"].(string)
			wantInactive(t, "another client's refresh token", introspect(t, s, rs, rt))
			// The first-party client is public and cannot introspect; a
			// confidential client with the password grant can.
			app := mustClient(t, s, gatehouse.NewClient{GrantTypes: []string{"password", "refresh_token"}})
			res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"},
				"username": {"alice"}, "password": {"correct horse battery"}}, basicHeader(app))
			if res.StatusCode != 200 {
				t.Fatalf("password grant = %d %s", res.StatusCode, body)
			}
			m := introspect(t, s, app, decode(t, body)["refresh_token"].(string))
			if m["active"] != true || m["token_type"] != "refresh_token" || m["client_id"] != app.ID || m["sub"] != alice.ID {
				t.Errorf("introspect(own refresh token) = %v", m)
			}
		})
		t.Run("api key", func(t *testing.T) {
			id, key, err := s.CreateAPIKey(t.Context(), "alice", "ci", []string{"read"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			m := introspect(t, s, rs, key)
			if m["active"] != true || m["key_id"] != id || m["sub"] != alice.ID || m["username"] != "alice" ||
				m["scope"] != "read" || m["token_type"] != "api_key" {
				t.Errorf("introspect(api key) = %v", m)
			}
			if _, err := s.Admin().RevokeAPIKey(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			wantInactive(t, "revoked api key", introspect(t, s, rs, key))
		})
		t.Run("garbage", func(t *testing.T) {
			for _, v := range []string{"x", "gk_nothing", "grt_nothing", "a.b.c", strings.Repeat("A", 5000)} {
				wantInactive(t, v[:min(len(v), 12)], introspect(t, s, rs, v))
			}
		})
	})
}
