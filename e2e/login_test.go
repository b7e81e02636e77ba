package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Logins: the throttle of failed password logins per account and per
// address, the lock an attacker earns (not the account's owner), how an
// admin ends it, on one server and across replicas, and guesses sent all
// at once.

// login posts a password grant and returns the status and body.
func login(t *testing.T, s *testServer, user, pw string) (int, string, http.Header) {
	t.Helper()
	res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}, nil)
	return res.StatusCode, string(body), res.Header
}

// TestLoginThrottle: growing delays, then a lock, per account; the same
// answers for an account that does not exist; a success resets the run.
func TestLoginThrottle(t *testing.T) {
	clock := newClock()
	s := newTestServer(t, withClock(clock), func(c *gatehouse.Config) {
		c.LoginMaxFailures = 6
		c.LoginLockout = 10 * time.Minute
	})
	mustCreateUser(t, s, "alice", "alice-password", "read")
	type step struct {
		advance time.Duration
		want    int
	}
	// Failures 1-3 cost nothing; after the 4th the account waits 1 s,
	// after the 5th 2 s; the 6th locks it.
	steps := []step{{0, 400}, {0, 400}, {0, 400}, {0, 400}, {0, 429}, {1100 * time.Millisecond, 400}, {time.Second, 429},
		{time.Second, 400}, {0, 429}, {5 * time.Minute, 429}}
	answers := map[string][]string{}
	for _, user := range []string{"alice", "ghost"} {
		var got []int
		var bodies []string
		for _, st := range steps {
			clock.Advance(st.advance)
			code, body, h := login(t, s, user, "wrong-password")
			got = append(got, code)
			bodies = append(bodies, body)
			if code == 429 && h.Get("Retry-After") == "" {
				t.Errorf("%s: 429 without Retry-After", user)
			}
		}
		for i, st := range steps {
			if got[i] != st.want {
				t.Errorf("%s: attempt %d = %d %s, want %d (all: %v)", user, i+1, got[i], bodies[i], st.want, got)
			}
		}
		answers[user] = bodies
		// Locked: even the right password is refused.
		if user == "alice" {
			if code, body, _ := login(t, s, "alice", "alice-password"); code != 429 {
				t.Errorf("right password while locked = %d %s, want 429", code, body)
			}
		}
	}
	// Every answer for the existing account equals the one for the
	// unknown account at the same step.
	for i := range steps {
		if answers["alice"][i] != answers["ghost"][i] {
			t.Errorf("attempt %d: alice got %s, ghost got %s: they must look the same", i+1, answers["alice"][i], answers["ghost"][i])
		}
	}
	clock.Advance(11 * time.Minute)
	if code, body, _ := login(t, s, "alice", "alice-password"); code != 200 {
		t.Fatalf("after the lock = %d %s, want 200", code, body)
	}
	// The success reset the run: three failures cost nothing again.
	for i := range 3 {
		if code, _, _ := login(t, s, "alice", "wrong-password"); code != 400 {
			t.Errorf("failure %d after a success = %d, want 400", i+1, code)
		}
	}
	evs, _ := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: "login.locked"})
	if len(evs) == 0 || len(evs) > 4 {
		t.Errorf("%d login.locked events, want a few (sampled per minute)", len(evs))
	}
}

func TestLoginThrottlePerIP(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.LoginIPLimit = "3/h" })
	mustCreateUser(t, s, "alice", "alice-password", "read")
	for i := range 3 {
		if code, body, _ := login(t, s, fmt.Sprintf("user%d", i), "wrong-password"); code != 400 {
			t.Fatalf("failure %d = %d %s", i+1, code, body)
		}
	}
	// The address is done guessing, whatever the account.
	for _, u := range []string{"alice", "nobody"} {
		if code, body, _ := login(t, s, u, "alice-password"); code != 429 {
			t.Errorf("login %s after 3 failures from the address = %d %s, want 429", u, code, body)
		}
	}
	// Guesses at fresh usernames from the refused address do not become
	// an audit row each: one sampled login.locked per address per minute,
	// and no token-endpoint failure row for a refusal before the check.
	before, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{})
	for i := range 30 {
		if code, _, _ := login(t, s, fmt.Sprintf("random%d", i), "guess"); code != 429 {
			t.Fatalf("guess %d = %d, want 429", i, code)
		}
	}
	after, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{})
	if n := len(after) - len(before); n > 1 {
		t.Errorf("30 refused guesses wrote %d audit rows, want at most 1 (sampled)", n)
	}
	if locked, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"}); len(locked) == 0 {
		t.Error("no login.locked event for the refused address")
	}
}

// loginForm is the password grant's form.
func loginForm(user, pw string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
}

// loginFrom posts a password grant as if from addr, through a trusted
// proxy (the test server must trust 127.0.0.1).
func loginFrom(t *testing.T, s *testServer, addr, user, pw string) (int, string) {
	t.Helper()
	res, body := doForm(t, s.URL+"/token", loginForm(user, pw), http.Header{"X-Forwarded-For": {addr}})
	return res.StatusCode, string(body)
}

// TestLoginIPLimitGroupsIPv6: the per-address failed-login limit counts an
// IPv6 client by its /64, like every other per-address limit, so rotating
// addresses inside one /64 does not reset it; and the refusals are audited
// once per /64, not once per address.
func TestLoginIPLimitGroupsIPv6(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t, func(c *gatehouse.Config) {
			c.LoginIPLimit = "3/h"
			c.TrustedProxies = []string{"127.0.0.1/32"}
		})
		mustCreateUser(t, s, "alice", "alice-password", "read")
		for i := range 3 {
			addr := fmt.Sprintf("2001:db8:1:2::%x", i+1)
			if code, body := loginFrom(t, s, addr, fmt.Sprintf("user%d", i), "wrong-password"); code != 400 {
				t.Fatalf("failure %d from %s = %d %s, want 400", i+1, addr, code, body)
			}
		}
		before, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		for i := range 5 {
			addr := fmt.Sprintf("2001:db8:1:2:%x::9", i+1)
			if code, _ := loginFrom(t, s, addr, "alice", "alice-password"); code != 429 {
				t.Errorf("login from %s, in the /64 that failed 3 times = %d, want 429", addr, code)
			}
		}
		after, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		if n := len(after) - len(before); n != 1 {
			t.Errorf("5 refusals from one /64 wrote %d login.locked events, want 1 (sampled per /64)", n)
		}
		if code, body := loginFrom(t, s, "2001:db8:1:3::1", "alice", "alice-password"); code != 200 {
			t.Errorf("login from another /64 = %d %.200s, want 200", code, body)
		}
	})
}

// lockoutServer is a server whose login throttle runs on a fake clock and
// that trusts 127.0.0.1 to name the client address.
func lockoutServer(t *testing.T, newServer newServerFunc, clock *clock) *testServer {
	t.Helper()
	s := newServer(t, withClock(clock), func(c *gatehouse.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
		c.RateLimitToken = "unlimited"
	})
	mustCreateUser(t, s, "alice", "alice-password", "read")
	return s
}

// failFrom makes n wrong-password logins for user from addr, waiting out
// (on the fake clock) any slow-down in between; it fails the test on any
// other refusal.
func failFrom(t *testing.T, s *testServer, clock *clock, addr, user string, n int) {
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

// TestLockoutLocksTheAttackerNotTheUser: ten wrong passwords from one
// address lock that address out of the account, not the account: its owner
// logs in from an address she used before at once, and from a new address
// after the slow-down (at most a minute); guesses from many addresses only
// ever slow the account down. The lock shows in the admin API.
func TestLockoutLocksTheAttackerNotTheUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		clock := newClock()
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
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		clock := newClock()
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
			// A second on: a password reset and a disable revoke what was
			// issued in their second, and the server would wait for the
			// next one before issuing a token.
			clock.Advance(time.Second)
			// The running server hears of it through the revocation feed.
			waitFor(t, "the login after "+st.name, func() bool {
				code, _ := loginFrom(t, s, home, "alice", password)
				return code == 200
			})
		}
		evs, _ := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "user.unlocked"})
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
			if _, err := b.Admin().UnlockUser(t.Context(), user); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "replica A to hear of the unlock", func() bool {
				code, _ := loginFrom(t, a, addr, user, "the-password")
				return code == 200
			})
		})
	}
}

// randomClientAddr returns an IPv6 address in a /64 of its own, so that
// per-address counts kept in a shared Redis never meet another test's (or
// another run's).
func randomClientAddr() string {
	return fmt.Sprintf("2001:db8:%x:%x::1", rand.Uint32N(1<<16), rand.Uint32N(1<<16))
}

// guessAtOnce sends n wrong passwords at the same moment, spread over the
// nodes, from addr through the trusted proxy 127.0.0.1, for the username
// user(i); it returns the answers by status.
func guessAtOnce(t *testing.T, nodes []*testServer, n int, addr string, user func(i int) string) map[int]int {
	t.Helper()
	start := make(chan struct{})
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			form := url.Values{"grant_type": {"password"}, "username": {user(i)}, "password": {"wrong-password"}}
			res, _ := doForm(t, nodes[i%len(nodes)].URL+"/token", form, http.Header{"X-Forwarded-For": {addr}})
			codes <- res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	return count
}

// verifiedGuesses counts the passwords that were checked and failed: one
// login.failed event each (a refusal before the check records none).
func verifiedGuesses(t *testing.T, s *testServer) int {
	t.Helper()
	evs, err := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "login.failed"})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// concurrencyLimits: 8 hashing slots, the token endpoint's per-address
// limit off; only the login throttle stands between the guesses and the
// hasher.
func concurrencyLimits(c *gatehouse.Config) {
	c.PasswordHashConcurrency = 8
	c.RateLimitToken = "unlimited"
	c.RateLimitIP = "unlimited"
	c.TrustedProxies = []string{"127.0.0.1/32"}
}

// TestConcurrentGuessesStayWithinTheLimits: 60 wrong passwords sent at the
// same moment get at most the limit verified — per account (10 failures)
// and per address (10 failures) — however many run at once.
func TestConcurrentGuessesStayWithinTheLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		t.Run("one account", func(t *testing.T) {
			s := newServer(t, concurrencyLimits, func(c *gatehouse.Config) { c.LoginMaxFailures = 10 })
			user := fmt.Sprintf("alice-%x", rand.Uint64())
			mustCreateUser(t, s, user, "alice-password", "read")
			before := verifiedGuesses(t, s)
			answers := guessAtOnce(t, []*testServer{s}, 60, randomClientAddr(), func(int) string { return user })
			if n := verifiedGuesses(t, s) - before; n > 10 || n == 0 {
				t.Errorf("60 parallel guesses at one account: %d verified (answers %v), want 1 to 10", n, answers)
			}
		})
		t.Run("one address", func(t *testing.T) {
			s := newServer(t, concurrencyLimits, func(c *gatehouse.Config) { c.LoginIPLimit = "10/h" })
			before := verifiedGuesses(t, s)
			answers := guessAtOnce(t, []*testServer{s}, 60, randomClientAddr(), func(i int) string { return fmt.Sprintf("user%d", i) })
			if n := verifiedGuesses(t, s) - before; n > 10 || n == 0 {
				t.Errorf("60 parallel guesses from one address: %d verified (answers %v), want 1 to 10", n, answers)
			}
		})
	})
}

// TestConcurrentGuessesAcrossReplicas: the same through two replicas that
// share Redis.
func TestConcurrentGuessesAcrossReplicas(t *testing.T) {
	ru := redisURL(t)
	db := "sqlite:" + t.TempDir() + "/shared.db"
	c := newCluster(t, db, 2, concurrencyLimits, func(cfg *gatehouse.Config) {
		cfg.RedisURL = ru
		cfg.LoginMaxFailures = 10
		cfg.LoginIPLimit = "10/h"
	})
	// A fresh name per run: the account's count lives in the shared Redis.
	user := fmt.Sprintf("burst-%x", rand.Uint64())
	mustCreateUser(t, c.nodes[0], user, "the-password", "read")
	answers := guessAtOnce(t, c.nodes, 60, randomClientAddr(), func(int) string { return user })
	if n := verifiedGuesses(t, c.nodes[0]); n > 10 || n == 0 {
		t.Errorf("60 parallel guesses at one account on two replicas: %d verified (answers %v), want 1 to 10", n, answers)
	}
	before := verifiedGuesses(t, c.nodes[0])
	prefix := fmt.Sprintf("burst-%x-", rand.Uint64())
	answers = guessAtOnce(t, c.nodes, 60, randomClientAddr(), func(i int) string { return fmt.Sprint(prefix, i) })
	if n := verifiedGuesses(t, c.nodes[0]) - before; n > 10 || n == 0 {
		t.Errorf("60 parallel guesses from one address on two replicas: %d verified (answers %v), want 1 to 10", n, answers)
	}
}
