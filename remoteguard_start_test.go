package gatehouse_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestRemoteGuardRefusedClient: NewRemote with a wrong client secret or an
// unknown client fails at once, naming the client and the endpoint (not
// the secret), instead of retrying the 401 until its deadline; a client
// deleted while a guard follows the feed is logged at error level
// (issue 13 item 14).
func TestRemoteGuardRefusedClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		follower := mustFollower(t, s)
		for _, tc := range []struct{ name, id, secret string }{
			{"wrong secret", follower.ID, "not-the-secret-0123456789"},
			{"unknown client", "no-such-client", "not-the-secret-0123456789"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // against a hang only
				defer cancel()
				r, err := guard.NewRemote(ctx, guard.RemoteConfig{Issuer: s.URL, ClientID: tc.id, ClientSecret: tc.secret})
				if err == nil {
					r.Close()
					t.Fatal("NewRemote() error = nil")
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("NewRemote() error = %v: it waited for the deadline", err)
				}
				if msg := err.Error(); !strings.Contains(msg, `"`+tc.id+`"`) || !strings.Contains(msg, s.URL+"/oauth2/") ||
					strings.Contains(msg, tc.secret) {
					t.Errorf("NewRemote() error = %q, want the client id and the endpoint, not the secret", msg)
				}
			})
		}

		logs := &lockedWriter{b: &strings.Builder{}}
		mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.Guard.Logger = slog.New(slog.NewTextHandler(logs, nil))
		})
		if err := s.Manager().DeleteClient(t.Context(), manage.CLI(), follower.ID); err != nil {
			t.Fatal(err)
		}
		s.CloseStreams() // the follower reconnects, as after a server restart
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), follower.ID) {
			if time.Now().After(deadline) {
				t.Fatalf("the refused feed was not logged at error level with the client id; logs:\n%s", logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if strings.Contains(logs.String(), follower.Secret) {
			t.Error("the log holds the client secret")
		}
	})
}
