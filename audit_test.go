package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// auditSince returns the events after seq with the given action.
func auditSince(t *testing.T, s *testServer, after int64, action audit.Action) []store.AuditEvent {
	t.Helper()
	evs, err := s.Store().ListAudit(context.Background(), store.AuditFilter{AfterSeq: after, Action: string(action)})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

func lastSeq(t *testing.T, s *testServer) int64 {
	t.Helper()
	evs, err := s.Store().ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// TestAuditActions drives every action that should leave an audit event
// and checks that exactly that action was recorded, with its target,
// result and, for HTTP requests, address, user agent and request id.
func TestAuditActions(t *testing.T) {
	clock := newFakeClock()
	s := newTestServer(t, func(c *gatehouse.Config) {
		c.Now = clock.Now
		c.RefreshReuseGrace = -1
		c.LoginMaxFailures = 5
	})
	ctx := context.Background()
	cli := manage.CLI()
	m := s.Manager()
	alice := mustCreateUser(t, s, "alice", "alice-password", "read", "write")
	svc, err := m.CreateClient(ctx, cli, manage.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, RateLimit: "1/h"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		key       manage.CreatedAPIKey
		refresh   string
		clientTok string
	)
	ua := "audit-test/1.0"
	post := func(path string, form url.Values, hdr http.Header) (*http.Response, []byte) {
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("User-Agent", ua)
		return doForm(t, s.URL+path, form, hdr)
	}
	tests := []struct {
		action audit.Action
		do     func(t *testing.T)
		target string // "" = any
		result string
		http   bool // made by an HTTP request: IP, user agent and request id set
	}{
		{audit.UserCreated, func(t *testing.T) {
			if _, err := m.CreateUser(ctx, cli, manage.NewUser{Username: "bob", Password: "bob-password-1"}); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.LoginSucceeded, func(t *testing.T) {
			res, body := post("/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("login = %d %s", res.StatusCode, body)
			}
			var tr map[string]any
			_ = json.Unmarshal(body, &tr)
			refresh, _ = tr["refresh_token"].(string)
		}, alice.ID, "success", true},
		{audit.TokenIssued, func(t *testing.T) {
			res, body := post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}, "client_secret": {svc.Secret}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("client_credentials = %d %s", res.StatusCode, body)
			}
			var tr map[string]any
			_ = json.Unmarshal(body, &tr)
			clientTok, _ = tr["access_token"].(string)
			// client_credentials issuance is aggregated; a password
			// grant records token.issued at once.
			if res, body := post("/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}}, nil); res.StatusCode != 200 {
				t.Fatalf("login = %d %s", res.StatusCode, body)
			}
		}, alice.ID, "success", true},
		{audit.RateLimitExceeded, func(t *testing.T) {
			res, _ := post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}, "client_secret": {svc.Secret}}, nil)
			if res.StatusCode != 429 {
				t.Fatalf("second client_credentials with a 1/h client = %d", res.StatusCode)
			}
		}, "client:" + svc.ID, "failure", true},
		{audit.TokenRevoked, func(t *testing.T) {
			res, body := post("/oauth2/revoke", url.Values{"token": {clientTok}, "client_id": {svc.ID}, "client_secret": {svc.Secret}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("revoke = %d %s", res.StatusCode, body)
			}
		}, "", "success", true},
		{audit.TokenRefreshed, func(t *testing.T) {
			res, body := post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("refresh = %d %s", res.StatusCode, body)
			}
		}, alice.ID, "success", true},
		{audit.TokenReuseDetected, func(t *testing.T) {
			res, _ := post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil)
			if res.StatusCode != 400 {
				t.Fatalf("replayed refresh = %d", res.StatusCode)
			}
		}, alice.ID, "failure", true},
		{audit.LoginFailed, func(t *testing.T) {
			post("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"wrong-password"}}, nil)
		}, "", "failure", true},
		{audit.LoginLocked, func(t *testing.T) {
			for range 4 {
				post("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"wrong-password"}}, nil)
			}
			res, _ := post("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {"bob-password-1"}}, nil)
			if res.StatusCode != 429 {
				t.Fatalf("login after 5 failures = %d, want 429", res.StatusCode)
			}
		}, "bob", "failure", true},
		{audit.APIKeyCreated, func(t *testing.T) {
			var err error
			if key, err = m.CreateAPIKey(ctx, cli, manage.NewAPIKey{Owner: "alice"}); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.APIKeyUsed, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/users/me", nil)
			req.Header.Set("X-API-Key", key.Secret)
			if res, body := do(t, req); res.StatusCode != 200 {
				t.Fatalf("GET /users/me = %d %s", res.StatusCode, body)
			}
			if err := gatehouse.FlushUsage(ctx, s.Server); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.APIKeyUpdated, func(t *testing.T) {
			if _, err := m.SetAPIKeyRateLimit(ctx, cli, key.ID, "", "5/s"); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.APIKeyRotated, func(t *testing.T) {
			if _, err := m.RotateAPIKey(ctx, cli, key.ID, 0); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.APIKeyRevoked, func(t *testing.T) {
			if _, err := m.RevokeAPIKey(ctx, cli, key.ID, ""); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.ClientCreated, func(t *testing.T) {
			if _, err := m.CreateClient(ctx, cli, manage.NewClient{Name: "other", GrantTypes: []string{"client_credentials"}}); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.ClientSecretRotated, func(t *testing.T) {
			if _, err := m.RotateClientSecret(ctx, cli, svc.ID); err != nil {
				t.Fatal(err)
			}
		}, svc.ID, "success", false},
		{audit.ClientUpdated, func(t *testing.T) {
			if _, err := m.SetClientGrant(ctx, cli, svc.ID, "refresh_token", true); err != nil {
				t.Fatal(err)
			}
		}, svc.ID, "success", false},
		{audit.ClientDeleted, func(t *testing.T) {
			if err := m.DeleteClient(ctx, cli, svc.ID); err != nil {
				t.Fatal(err)
			}
		}, svc.ID, "success", false},
		{audit.UserPasswordChanged, func(t *testing.T) {
			if _, err := m.SetPassword(ctx, cli, "alice", "new-alice-password"); err != nil {
				t.Fatal(err)
			}
		}, alice.ID, "success", false},
		{audit.UserLoggedOut, func(t *testing.T) {
			if _, err := m.Logout(ctx, cli, "alice"); err != nil {
				t.Fatal(err)
			}
		}, alice.ID, "success", false},
		{audit.UserDisabled, func(t *testing.T) {
			if _, err := m.SetDisabled(ctx, cli, "alice", true); err != nil {
				t.Fatal(err)
			}
		}, alice.ID, "success", false},
		{audit.UserEnabled, func(t *testing.T) {
			if _, err := m.SetDisabled(ctx, cli, "alice", false); err != nil {
				t.Fatal(err)
			}
		}, alice.ID, "success", false},
		{audit.KeyRotated, func(t *testing.T) {
			if _, err := m.RotateSigningKey(ctx, cli); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.AuditPruned, func(t *testing.T) {
			clock.Advance(48 * time.Hour)
			if n, err := audit.Prune(ctx, m.Audit, clock.Now().Add(-24*time.Hour)); err != nil || n == 0 {
				t.Fatalf("Prune = %d, %v; want some events pruned", n, err)
			}
		}, "audit", "success", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.action), func(t *testing.T) {
			before := lastSeq(t, s)
			tc.do(t)
			evs := auditSince(t, s, before, tc.action)
			if len(evs) == 0 {
				t.Fatalf("no %s event recorded", tc.action)
			}
			e := evs[len(evs)-1]
			if e.Time.IsZero() || (tc.target != "" && e.Target != tc.target) || e.Result != tc.result {
				t.Errorf("%s event = %+v, want target %q and result %q", tc.action, e, tc.target, tc.result)
			}
			if tc.http && (e.IP != "127.0.0.1" || e.UserAgent != ua || e.RequestID == "") {
				t.Errorf("%s event from HTTP = ip %q, user agent %q, request id %q", tc.action, e.IP, e.UserAgent, e.RequestID)
			}
			if !tc.http && tc.action != audit.APIKeyUsed && tc.action != audit.TokenIssued && tc.action != audit.AuditPruned &&
				tc.action != audit.UserCreated && e.Actor != "cli" {
				t.Errorf("%s event actor = %q, want cli", tc.action, e.Actor)
			}
		})
	}
	// Events are also structured log lines.
	if logs := s.Logs.String(); !strings.Contains(logs, "msg=audit action=login.failed") {
		t.Errorf("no structured audit log line for login.failed")
	}
	rep, err := audit.Verify(ctx, s.Store())
	if err != nil || !rep.OK || !rep.Anchored {
		t.Errorf("Verify after the whole table and a prune = %+v, %v; want OK and anchored", rep, err)
	}
}

// TestAuditChainDetectsSQLEdits edits and deletes audit rows with direct
// SQL and checks that Verify names the broken event.
func TestAuditChainDetectsSQLEdits(t *testing.T) {
	{
		tests := []struct {
			name    string
			sql     string
			problem audit.Problem
			seq     int64
		}{
			{"edit reason", `UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3`, audit.ProblemEdited, 3},
			{"edit actor", `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2`, audit.ProblemEdited, 2},
			{"delete a row", `DELETE FROM audit_events WHERE seq = 3`, audit.ProblemDeleted, 4},
			{"delete the oldest", `DELETE FROM audit_events WHERE seq = 1`, audit.ProblemDeleted, 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
					s := newServer(t)
					ctx := context.Background()
					for _, name := range []string{"u1", "u2", "u3", "u4", "u5"} {
						mustCreateUser(t, s, name, "password-"+name)
					}
					if rep, err := audit.Verify(ctx, s.Store()); err != nil || !rep.OK {
						t.Fatalf("Verify before the edit = %+v, %v", rep, err)
					}
					db := s.Store().(*sqlstore.DB).SQL()
					if _, err := db.ExecContext(ctx, tc.sql); err != nil {
						t.Fatalf("%s: %v", tc.sql, err)
					}
					rep, err := audit.Verify(ctx, s.Store())
					if err != nil {
						t.Fatal(err)
					}
					if rep.OK || rep.Problem != tc.problem || rep.BrokenSeq != tc.seq {
						t.Errorf("Verify after %q = %+v, want %s at seq %d", tc.sql, rep, tc.problem, tc.seq)
					}
				})
			})
		}
	}
}

// TestAuditRetention: a server with a retention prunes old events on start
// and the chain still verifies.
func TestAuditRetention(t *testing.T) {
	clock := newFakeClock()
	dbURL := "sqlite:" + t.TempDir() + "/retention.db"
	secret := make([]byte, 32)
	cfg := func(c *gatehouse.Config) { c.DatabaseURL, c.Secret, c.Now = dbURL, secret, clock.Now }
	old := newTestServer(t, cfg)
	for _, name := range []string{"u1", "u2", "u3"} {
		mustCreateUser(t, old, name, "password-"+name)
	}
	old.HTTP.Close()
	old.Close()
	clock.Advance(72 * time.Hour)
	s := newTestServer(t, cfg, func(c *gatehouse.Config) { c.AuditRetention = 48 * time.Hour })
	mustCreateUser(t, s, "u4", "password-u4")
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	// The prune records audit.pruned, then deletes: wait for both.
	for len(auditSince(t, s, 0, audit.AuditPruned)) == 0 || len(auditSince(t, s, 0, audit.UserCreated)) > 1 {
		if time.Now().After(deadline) {
			t.Fatal("no audit.pruned event 10 s after start with a 48h retention")
		}
		time.Sleep(10 * time.Millisecond) // the prune runs in the background
	}
	evs, _ := s.Store().ListAudit(ctx, store.AuditFilter{Action: string(audit.UserCreated)})
	if len(evs) != 1 || evs[0].Target == "" {
		t.Errorf("user.created events left = %d, want only the new one", len(evs))
	}
	rep, err := audit.Verify(ctx, s.Store())
	if err != nil || !rep.OK || !rep.Anchored {
		t.Errorf("Verify after retention = %+v, %v; want OK and anchored", rep, err)
	}
}
