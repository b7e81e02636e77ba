package gatehouse_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

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
		if _, err := s.Manager().SetPassword(t.Context(), manage.CLI(), "alice", "new-password-2"); err != nil {
			t.Fatal(err)
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
		// Tokens are refused by the second they were issued in; one
		// issued in a later second works.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
		fresh := mustToken(t, s, "alice", "new-password-2")["access_token"].(string)
		if res, _ := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + fresh}); res.StatusCode != http.StatusOK {
			t.Errorf("token for the new password = %d, want 200", res.StatusCode)
		}
	})
}
