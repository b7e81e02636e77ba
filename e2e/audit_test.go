package e2e_test

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
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The audit log: every action that leaves an event, the hash chain that
// shows edits made behind the server's back, retention, and the text of
// requests stored on both stores.

// auditSince returns the events after seq with the given action.
func auditSince(t *testing.T, s *testServer, after int64, action audit.Action) []store.AuditEvent {
	t.Helper()
	evs, err := s.DB.ListAudit(context.Background(), store.AuditFilter{AfterSeq: after, Action: string(action)})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	return evs
}

func lastSeq(t *testing.T, s *testServer) int64 {
	t.Helper()
	evs, err := s.DB.ListAudit(context.Background(), store.AuditFilter{})
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
// result and, for HTTP requests, address, user agent and request id. The
// server serves the HTTP steps; the CLI (internal/clidb on the same
// database) makes the changes an operator makes, with the actor "cli".
func TestAuditActions(t *testing.T) {
	s := newTestServer(t, withClock(newClock()), func(c *gatehouse.Config) {
		c.RefreshReuseGrace = -1
		c.LoginMaxFailures = 5
	})
	ctx := context.Background()
	cli := audit.CLI()
	m := mustCLI(t, s)
	alice := mustCreateUser(t, s, "alice", "alice-password", "read", "write")
	svc := mustClient(t, s, gatehouse.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}, RateLimit: "1/h"})
	var (
		key       service.CreatedAPIKey
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
			if _, err := s.CreateUser(ctx, "bob", "bob-password-1", nil, false); err != nil {
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
			if key, err = m.CreateAPIKey(ctx, cli, service.NewAPIKey{Owner: "alice"}); err != nil {
				t.Fatal(err)
			}
		}, "", "success", false},
		{audit.APIKeyUsed, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/users/me", nil)
			req.Header.Set("X-API-Key", key.Secret)
			if res, body := do(t, req); res.StatusCode != 200 {
				t.Fatalf("GET /users/me = %d %s", res.StatusCode, body)
			}
			// The server coalesces key use and writes it at the latest
			// when it stops; the steps after this one need only the CLI.
			s.close()
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
			if _, err := m.CreateClient(ctx, cli, service.NewClient{Name: "other", GrantTypes: []string{"client_credentials"}}); err != nil {
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
			if n, err := m.PruneAudit(ctx, time.Now()); err != nil || n == 0 {
				t.Fatalf("PruneAudit = %d, %v; want some events pruned", n, err)
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
	rep, err := audit.Verify(ctx, s.DB)
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
				eachBackend(t, func(t *testing.T, newServer newServerFunc) {
					s := newServer(t)
					ctx := context.Background()
					for _, name := range []string{"u1", "u2", "u3", "u4", "u5"} {
						mustCreateUser(t, s, name, "password-"+name)
					}
					if rep, err := audit.Verify(ctx, s.DB); err != nil || !rep.OK {
						t.Fatalf("Verify before the edit = %+v, %v", rep, err)
					}
					if _, err := s.DB.SQL().ExecContext(ctx, tc.sql); err != nil {
						t.Fatalf("%s: %v", tc.sql, err)
					}
					rep, err := audit.Verify(ctx, s.DB)
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
	clk := newClock()
	old := newTestServer(t, withClock(clk))
	for _, name := range []string{"u1", "u2", "u3"} {
		mustCreateUser(t, old, name, "password-"+name)
	}
	clk.Advance(72 * time.Hour)
	s := old.restart(t, func(c *gatehouse.Config) { c.AuditRetention = 48 * time.Hour })
	mustCreateUser(t, s, "u4", "password-u4")
	ctx := context.Background()
	// The prune runs in the background at start; it records audit.pruned,
	// then deletes: wait for both.
	waitFor(t, "the prune at start with a 48h retention", func() bool {
		return len(auditSince(t, s, 0, audit.AuditPruned)) > 0 && len(auditSince(t, s, 0, audit.UserCreated)) <= 1
	})
	evs, _ := s.DB.ListAudit(ctx, store.AuditFilter{Action: string(audit.UserCreated)})
	if len(evs) != 1 || evs[0].Target == "" {
		t.Errorf("user.created events left = %d, want only the new one", len(evs))
	}
	rep, err := audit.Verify(ctx, s.DB)
	if err != nil || !rep.OK || !rep.Anchored {
		t.Errorf("Verify after retention = %+v, %v; want OK and anchored", rep, err)
	}
}

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
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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
				evs, err := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: string(audit.LoginFailed)})
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
