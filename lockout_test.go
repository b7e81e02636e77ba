package gatehouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// lockoutServer is a server whose login throttle runs on a fake clock and
// that trusts 127.0.0.1 to name the client address.
func lockoutServer(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer, clock *fakeClock) *testServer {
	t.Helper()
	s := newServer(t, func(c *gatehouse.Config) {
		c.Now = clock.Now
		c.TrustedProxies = []string{"127.0.0.1/32"}
		c.RateLimitToken = "unlimited"
	})
	mustCreateUser(t, s, "alice", "alice-password", "read")
	return s
}

// failFrom makes n wrong-password logins for user from addr, waiting out
// (on the fake clock) any slow-down in between; it fails the test on any
// other refusal.
func failFrom(t *testing.T, s *testServer, clock *fakeClock, addr, user string, n int) {
	t.Helper()
	for i := 0; i < n; {
		code, body := loginFrom(t, s, addr, user, "wrong-password")
		switch code {
		case 400:
			i++
		case 429:
			clock.Advance(time.Minute + time.Second) // the longest slow-down
		default:
			t.Fatalf("failure %d of %s from %s = %d %s", i+1, user, addr, code, body)
		}
	}
}

// lockedUntil reads "locked_until" of a user from the admin API.
func lockedUntil(t *testing.T, s *testServer, adminKey, user string) any {
	t.Helper()
	res, body := get(t, s.URL+"/admin/users/"+user, map[string]string{"X-API-Key": adminKey})
	var u map[string]any
	if res.StatusCode != 200 || json.Unmarshal(body, &u) != nil {
		t.Fatalf("GET /admin/users/%s = %d %s", user, res.StatusCode, body)
	}
	v, ok := u["locked_until"]
	if !ok {
		t.Fatalf("GET /admin/users/%s has no locked_until: %s", user, body)
	}
	return v
}

// mustAdminKey returns an API key with the admin scope (it does not
// expire when a test moves the clock on).
func mustAdminKey(t *testing.T, s *testServer) string {
	t.Helper()
	if _, err := s.CreateUser(context.Background(), "root", adminTestPassword, nil, true); err != nil {
		t.Fatal(err)
	}
	return mustAPIKey(t, s, "root", "admin")
}

// TestLockoutLocksTheAttackerNotTheUser: ten wrong passwords from one
// address lock that address out of the account, not the account: its owner
// logs in from an address she used before at once, and from a new address
// after the slow-down (at most a minute); guesses from many addresses only
// ever slow the account down. The lock shows in the admin API.
func TestLockoutLocksTheAttackerNotTheUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		clock := newFakeClock()
		s := lockoutServer(t, newServer, clock)
		admin := mustAdminKey(t, s)
		const home, attacker, cafe = "2001:db8:aaaa:1::5", "198.51.100.66", "192.0.2.10"
		if code, body := loginFrom(t, s, home, "alice", "alice-password"); code != 200 {
			t.Fatalf("first login from home = %d %s", code, body)
		}
		if v := lockedUntil(t, s, admin, "alice"); v != nil {
			t.Errorf("locked_until before any failure = %v, want null", v)
		}

		failFrom(t, s, clock, attacker, "alice", 10)
		if code, _ := loginFrom(t, s, attacker, "alice", "alice-password"); code != 429 {
			t.Errorf("the attacker's address, even with the right password = %d, want 429 (locked out of the account)", code)
		}
		v, _ := lockedUntil(t, s, admin, "alice").(string)
		if until, err := time.Parse(time.RFC3339Nano, v); err != nil || !until.After(clock.Now()) {
			t.Errorf("locked_until during the attack = %q, want a time after now", v)
		}
		res, body := doForm(t, s.URL+"/token", loginForm("alice", "alice-password"), http.Header{"X-Forwarded-For": {cafe}})
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode != 429 || ra < 1 || ra > 60 {
			t.Errorf("a new address right after the attack = %d (Retry-After %q) %.100s, want 429 for at most a minute",
				res.StatusCode, res.Header.Get("Retry-After"), body)
		}
		if code, body := loginFrom(t, s, home, "alice", "alice-password"); code != 200 {
			t.Errorf("the owner from her usual address during the attack = %d %.100s, want 200", code, body)
		}

		// Many addresses, one guess each: slowed, never locked.
		for i := range 30 {
			failFrom(t, s, clock, fmt.Sprintf("203.0.113.%d", i+1), "alice", 1)
		}
		res, _ = doForm(t, s.URL+"/token", loginForm("alice", "alice-password"), http.Header{"X-Forwarded-For": {cafe}})
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode == 429 {
			if ra < 1 || ra > 60 {
				t.Errorf("a new address after 30 guesses from 30 addresses: Retry-After %d, want at most a minute", ra)
			}
			clock.Advance(time.Duration(ra) * time.Second)
		}
		if code, body := loginFrom(t, s, cafe, "alice", "alice-password"); code != 200 {
			t.Errorf("a new address after the slow-down = %d %.100s, want 200", code, body)
		}
		if v := lockedUntil(t, s, admin, "alice"); v != nil {
			t.Errorf("locked_until after the owner logged in = %v, want null", v)
		}
	})
}

// TestUserUnlock: an admin ends a lock at once — with unlock, a password
// reset or enable — on the running server; each is audited.
func TestUserUnlock(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		clock := newFakeClock()
		s := lockoutServer(t, newServer, clock)
		admin := mustAdminKey(t, s)
		hdr := map[string]string{"X-API-Key": admin}
		const home = "198.51.100.20"
		password := "alice-password"
		post := func(path, body string) (*http.Response, []byte) {
			req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			return do(t, req)
		}
		steps := []struct {
			name   string
			action func()
		}{
			{"unlock", func() {
				res, body := post("/admin/users/alice/unlock", "")
				var u map[string]any
				if res.StatusCode != 200 || json.Unmarshal(body, &u) != nil || u["locked_until"] != nil {
					t.Errorf("POST /admin/users/alice/unlock = %d %s, want 200 with locked_until null", res.StatusCode, body)
				}
			}},
			{"password reset", func() {
				password = "a new long passphrase"
				if res, body := post("/admin/users/alice/password", `{"password":"`+password+`"}`); res.StatusCode != 200 {
					t.Errorf("password reset = %d %s", res.StatusCode, body)
				}
			}},
			{"disable and enable", func() {
				post("/admin/users/alice/disable", "")
				if res, body := post("/admin/users/alice/enable", ""); res.StatusCode != 200 {
					t.Errorf("enable = %d %s", res.StatusCode, body)
				}
			}},
		}
		for _, st := range steps {
			failFrom(t, s, clock, home, "alice", 10)
			if code, _ := loginFrom(t, s, home, "alice", password); code != 429 {
				t.Fatalf("%s: right password after locking herself out = %d, want 429", st.name, code)
			}
			if v := lockedUntil(t, s, admin, "alice"); v == nil {
				t.Errorf("%s: locked_until = null while locked", st.name)
			}
			st.action()
			if v := lockedUntil(t, s, admin, "alice"); v != nil {
				t.Errorf("%s: locked_until = %v after, want null", st.name, v)
			}
			// The running server hears of it through the revocation feed.
			waitFor(t, "the login after "+st.name, func() bool {
				code, _ := loginFrom(t, s, home, "alice", password)
				return code == 200
			})
		}
		evs, _ := s.Store().ListAudit(t.Context(), store.AuditFilter{Action: "user.unlocked"})
		if len(evs) != len(steps) {
			t.Errorf("%d user.unlocked events, want %d", len(evs), len(steps))
		}
		if res, body := post("/admin/users/nobody/unlock", ""); res.StatusCode != 404 {
			t.Errorf("unlock of an unknown user = %d %s, want 404", res.StatusCode, body)
		}
	})
}

// TestUnlockReachesEveryReplica: a user locked out on one replica is
// unlocked by an admin on another, with the counts in each replica's
// memory (the unlock travels through the revocation feed) and in a shared
// Redis.
func TestUnlockReachesEveryReplica(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			opts := []func(*gatehouse.Config){func(c *gatehouse.Config) {
				c.TrustedProxies = []string{"127.0.0.1/32"}
				c.LoginMaxFailures = 3 // within the free failures: no slow-down to wait out
			}}
			if backend == "redis" {
				ru := redisURL(t)
				opts = append(opts, func(c *gatehouse.Config) { c.RedisURL = ru })
			}
			c := newCluster(t, "sqlite:"+t.TempDir()+"/shared.db", 2, opts...)
			a, b := c.nodes[0], c.nodes[1]
			user, addr := fmt.Sprintf("replica-%x", time.Now().UnixNano()), randomClientAddr()
			mustCreateUser(t, a, user, "the-password", "read")
			for i := range 3 {
				if code, body := loginFrom(t, a, addr, user, "wrong-password"); code != 400 {
					t.Fatalf("failure %d = %d %s", i+1, code, body)
				}
			}
			if code, _ := loginFrom(t, a, addr, user, "the-password"); code != 429 {
				t.Fatalf("right password after 3 failures on replica A = %d, want 429", code)
			}
			if _, err := b.Manager().Unlock(t.Context(), manage.CLI(), user); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "replica A to hear of the unlock", func() bool {
				code, _ := loginFrom(t, a, addr, user, "the-password")
				return code == 200
			})
		})
	}
}
