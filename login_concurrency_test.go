package gatehouse_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

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
	evs, err := s.Store().ListAudit(t.Context(), store.AuditFilter{Action: "login.failed"})
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
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
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
