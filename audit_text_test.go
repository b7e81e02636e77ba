package gatehouse_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestAuditStoresRequestTextOnBothStores: a User-Agent that is not valid
// UTF-8, or whose length limit falls inside a character, still leaves its
// login.failed event, with the same storable text on SQLite and
// PostgreSQL (invalid bytes become U+FFFD, the cut falls on a character
// boundary).
func TestAuditStoresRequestTextOnBothStores(t *testing.T) {
	long := strings.Repeat("a", 255) + "é" + strings.Repeat("b", 10) // 256 bytes end inside "é"
	tests := []struct {
		name, ua, want string
	}{
		{"invalid utf-8", "curl/\xff\xfe 8", "curl/\uFFFD 8"},
		{"cut inside a character", long, strings.Repeat("a", 255)},
	}
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		mustCreateUser(t, s, "victim", "password-1")
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rid := "ua-" + strings.ReplaceAll(tc.name, " ", "-")
				form := url.Values{"grant_type": {"password"}, "username": {"victim"}, "password": {"wrong-password"}}
				res, body := doForm(t, s.URL+"/token", form, http.Header{"User-Agent": {tc.ua}, "X-Request-Id": {rid}})
				if res.StatusCode != http.StatusBadRequest {
					t.Fatalf("POST /token with a wrong password = %d %s, want 400", res.StatusCode, body)
				}
				evs, err := s.Store().ListAudit(context.Background(), store.AuditFilter{Action: string(audit.LoginFailed)})
				if err != nil {
					t.Fatal(err)
				}
				var found bool
				for _, e := range evs {
					if e.RequestID != rid {
						continue
					}
					found = true
					if e.UserAgent != tc.want {
						t.Errorf("stored user agent = %q, want %q", e.UserAgent, tc.want)
					}
				}
				if !found {
					t.Errorf("no login.failed event with request id %s: the event was lost", rid)
				}
			})
		}
	})
}
