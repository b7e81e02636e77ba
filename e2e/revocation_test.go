package e2e_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Revocation (POST /oauth2/revoke, RFC 7009) on one server: what a
// revoked token stops doing at once, and the endpoint's errors. Logging
// out and revocation across replicas have users_test.go and
// replicas_test.go.

// revoke posts token to /oauth2/revoke with the given client headers/form.
func revoke(t testing.TB, s *testServer, form url.Values, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	return doForm(t, s.URL+"/oauth2/revoke", form, hdr)
}

func TestRevocation(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		rs := mustClient(t, s, gatehouse.NewClient{GrantTypes: []string{"client_credentials"}})

		t.Run("access token refused by the guard at once", func(t *testing.T) {
			at := clientToken(t, s, rs)
			if !guardAccepts(t, s, at) {
				t.Fatal("fresh token refused")
			}
			res, body := revoke(t, s, url.Values{"token": {at}, "token_type_hint": {"access_token"}}, basicHeader(rs))
			if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("revoke = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("revoked access token still accepted by the guard")
			}
			wantInactive(t, "revoked access token", introspect(t, s, rs, at))
		})
		t.Run("refresh token revokes its family and its access tokens", func(t *testing.T) {
			tok := mustToken(t, s, "alice", "correct horse battery")
			at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
			// A misleading hint is not trusted.
			res, body := revoke(t, s, url.Values{"token": {rt}, "token_type_hint": {"access_token"},
				"client_id": {"gatehouse"}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("revoke refresh token = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("access token of a revoked refresh family still accepted")
			}
			res, body = doForm(t, s.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, nil)
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_grant" {
				t.Errorf("refresh with a revoked token = %d %s, want 400 invalid_grant", res.StatusCode, body)
			}
		})
		t.Run("unknown tokens get 200", func(t *testing.T) {
			for _, v := range []string{"nope", "grt_nothing", "a.b.c", "gk_x"} {
				res, body := revoke(t, s, url.Values{"token": {v}}, basicHeader(rs))
				if res.StatusCode != 200 {
					t.Errorf("revoke(%q) = %d %s, want 200", v, res.StatusCode, body)
				}
			}
		})
		t.Run("errors", func(t *testing.T) {
			res, body := revoke(t, s, url.Values{}, basicHeader(rs))
			if res.StatusCode != 400 || decode(t, body)["error"] != "invalid_request" {
				t.Errorf("revoke without token = %d %s", res.StatusCode, body)
			}
			res, body = revoke(t, s, url.Values{"token": {"x"}}, nil)
			if res.StatusCode != 401 || decode(t, body)["error"] != "invalid_client" {
				t.Errorf("revoke without client = %d %s", res.StatusCode, body)
			}
			bad := rs
			bad.Secret = "gcs_wrong"
			res, body = revoke(t, s, url.Values{"token": {"x"}}, basicHeader(bad))
			if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("revoke with a wrong secret = %d %s %v", res.StatusCode, body, res.Header)
			}
		})
	})
}

func TestAttackRevokeAndIntrospect(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		f := newOAuthFixture(t, newServer)
		s := f.s

		t.Run("revoked access token refused by the guard at once", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			at := tok["access_token"].(string)
			res, body := revoke(t, s, url.Values{"token": {at}}, basicHeader(f.a))
			if res.StatusCode != 200 {
				t.Fatalf("revoke = %d %s", res.StatusCode, body)
			}
			if guardAccepts(t, s, at) {
				t.Error("revoked access token accepted")
			}
			// The refresh token of the same login is untouched (RFC 7009
			// leaves it to the server; gatehouse revokes only the token).
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("refresh after revoking only the access token = %d %v", st, m)
			}
		})
		t.Run("revoking someone else's token does nothing", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			for _, v := range []string{tok["access_token"].(string), tok["refresh_token"].(string)} {
				res, body := revoke(t, s, url.Values{"token": {v}}, basicHeader(f.b))
				if res.StatusCode != 200 {
					t.Errorf("revoke of another client's token = %d %s, want 200", res.StatusCode, body)
				}
				res, body = revoke(t, s, url.Values{"token": {v}, "client_id": {"gatehouse"}}, nil)
				if res.StatusCode != 200 {
					t.Errorf("revoke by the public first-party client = %d %s, want 200", res.StatusCode, body)
				}
			}
			if !guardAccepts(t, s, tok["access_token"].(string)) {
				t.Error("client B revoked client A's access token")
			}
			if st, m := f.refresh(t, f.a, tok["refresh_token"].(string), nil); st != 200 {
				t.Errorf("client B revoked client A's refresh token: %d %v", st, m)
			}
		})
		t.Run("introspection needs an authenticated confidential client", func(t *testing.T) {
			at := f.login(t, f.a, "")["access_token"].(string)
			for _, tc := range []struct {
				name string
				form url.Values
				hdr  http.Header
			}{
				{"no client", url.Values{"token": {at}}, nil},
				{"public client by id", url.Values{"token": {at}, "client_id": {"gatehouse"}}, nil},
				{"public client with a secret", url.Values{"token": {at}, "client_id": {"gatehouse"}, "client_secret": {"x"}}, nil},
				{"wrong secret, post", url.Values{"token": {at}, "client_id": {f.rs.ID}, "client_secret": {"gcs_wrong"}}, nil},
				{"wrong secret, basic", url.Values{"token": {at}}, http.Header{"Authorization": {"Basic " + basic(f.rs.ID, "gcs_wrong")}}},
				{"unknown client", url.Values{"token": {at}}, http.Header{"Authorization": {"Basic " + basic("nobody", "x")}}},
				{"bearer token instead", url.Values{"token": {at}}, http.Header{"Authorization": {"Bearer " + at}}},
			} {
				res, body := doForm(t, s.URL+"/oauth2/introspect", tc.form, tc.hdr)
				m := decode(t, body)
				if res.StatusCode != 401 || m["error"] != "invalid_client" || m["active"] != nil {
					t.Errorf("%s: introspect = %d %s, want 401 invalid_client", tc.name, res.StatusCode, body)
				}
				basicUsed := tc.hdr != nil && strings.HasPrefix(tc.hdr.Get("Authorization"), "Basic")
				if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic"); got != basicUsed {
					t.Errorf("%s: WWW-Authenticate = %q", tc.name, res.Header.Get("WWW-Authenticate"))
				}
			}
		})
		t.Run("tampered, alg none and expired tokens are inactive", func(t *testing.T) {
			at := f.login(t, f.a, "")["access_token"].(string)
			parts := strings.Split(at, ".")
			none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			forged := strings.Replace(string(payload), `"scope":"read write"`, `"scope":"admin"`, 1)
			tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
			for name, v := range map[string]string{"alg none": none, "tampered payload": tampered,
				"bad signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))} {
				wantInactive(t, name, introspect(t, s, f.rs, v))
			}
			if m := introspect(t, s, f.rs, at); m["active"] != true {
				t.Fatalf("introspect(valid) = %v", m)
			}
			f.clock.Advance(16 * time.Minute)
			wantInactive(t, "expired", introspect(t, s, f.rs, at))
		})
		t.Run("introspection of a replayed family", func(t *testing.T) {
			tok := f.login(t, f.a, "")
			rt := tok["refresh_token"].(string)
			f.refresh(t, f.a, rt, nil)
			f.clock.Advance(time.Minute)
			f.refresh(t, f.a, rt, nil) // replay: family revoked
			wantInactive(t, "access token of a revoked family", introspect(t, s, f.rs, tok["access_token"].(string)))
			wantInactive(t, "used refresh token", introspect(t, s, f.a, rt))
		})
	})
}
