package gatehouse_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestPasswordResetLogsOut: a new password ends every session of the old
// one (access and refresh tokens); the user's API keys keep working, and
// the new password signs in.
func TestPasswordResetLogsOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "old-password-1", "read")
		key := mustAPIKey(t, s, "alice", "read")
		tok := mustToken(t, s, "alice", "old-password-1")
		// Reset early in a second, so that the new login below falls in
		// the same second as the reset (tokens are revoked by the second
		// they were issued in).
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
		resetSecond := time.Now().Unix() // the reset is in this second or, on a slow machine, a later one
		if _, err := s.Manager().SetPassword(t.Context(), manage.CLI(), "alice", "new-password-2"); err != nil {
			t.Fatal(err)
		}
		// Logging in again at once works: the server does not mint a token
		// that the reset's revocation would refuse, it waits for the next
		// second (under one).
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
