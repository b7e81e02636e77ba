package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Rate limits: per address, per user, per API key and per client, the
// token endpoint's stricter limit, the password hasher's queue, and the
// limits shared by replicas through Redis.

// want429 checks the shape of a rate-limit refusal: 429, Retry-After of at
// least one second, the RateLimit-* headers, no-store and a JSON error.
func want429(t *testing.T, what string, res *http.Response, body []byte, code string) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("%s = %d %s, want 429", what, res.StatusCode, body)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("%s: Retry-After = %q, want whole seconds ≥ 1", what, res.Header.Get("Retry-After"))
	}
	if res.Header.Get("RateLimit-Remaining") != "0" || res.Header.Get("RateLimit-Limit") == "" || res.Header.Get("RateLimit-Reset") == "" {
		t.Errorf("%s: RateLimit headers = %q/%q/%q", what, res.Header.Get("RateLimit-Limit"),
			res.Header.Get("RateLimit-Remaining"), res.Header.Get("RateLimit-Reset"))
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Content-Type %q, Cache-Control %q", what, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m["error"] != code || m["error_description"] == "" {
		t.Errorf("%s: body %s, want JSON error %q with a description", what, body, code)
	}
}

func TestRateLimitIP(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.RateLimitIP = "2/h" })
	for i, want := range []string{"1", "0"} {
		res, body := get(t, s.URL+"/healthz", nil)
		if res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
		if res.Header.Get("RateLimit-Limit") != "2" || res.Header.Get("RateLimit-Remaining") != want {
			t.Errorf("request %d: RateLimit-Limit %q Remaining %q, want 2 and %s", i+1,
				res.Header.Get("RateLimit-Limit"), res.Header.Get("RateLimit-Remaining"), want)
		}
	}
	res, body := get(t, s.URL+"/healthz", nil)
	want429(t, "third GET /healthz", res, body, "rate_limited")
	if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 1700 || ra > 1800 {
		t.Errorf("Retry-After = %d, want about half an hour (2/h)", ra)
	}
	// The refusal is audited (sampled) with the real address.
	evs, err := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: "ratelimit.exceeded"})
	if err != nil || len(evs) != 1 || evs[0].Target != "ip:127.0.0.1" || evs[0].IP != "127.0.0.1" || evs[0].Result != "failure" {
		t.Errorf("ratelimit.exceeded events = %+v, %v; want one for ip:127.0.0.1", evs, err)
	}
	// A second refusal within the minute is not audited again.
	get(t, s.URL+"/healthz", nil)
	if evs, _ := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: "ratelimit.exceeded"}); len(evs) != 1 {
		t.Errorf("%d ratelimit.exceeded events after two refusals, want 1 (sampled)", len(evs))
	}
}

func TestRateLimitTokenEndpointIsStricter(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.RateLimitToken = "2/h" })
	mustCreateUser(t, s, "alice", "alice-password", "read")
	mustToken(t, s, "alice", "alice-password")
	mustToken(t, s, "alice", "alice-password")
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"alice-password"}}, nil)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"error":"invalid_grant"`) {
		t.Errorf("third password attempt = %d %s %v, want 429 with Retry-After", res.StatusCode, body, res.Header)
	}
	// Other endpoints keep the (looser) per-address limit.
	if res, _ := get(t, s.URL+"/healthz", nil); res.StatusCode != 200 {
		t.Errorf("GET /healthz after the token limit = %d, want 200", res.StatusCode)
	}
}

// TestRateLimitSpoofedForwardedFor: forwarding headers from a peer that is
// not a trusted proxy change nothing; from a trusted one they name the
// client.
func TestRateLimitSpoofedForwardedFor(t *testing.T) {
	spoof := []map[string]string{
		{"X-Forwarded-For": "203.0.113.1"},
		{"X-Forwarded-For": "203.0.113.2, 198.51.100.9"},
		{"Forwarded": "for=203.0.113.3"},
		{"X-Real-IP": "203.0.113.4"},
	}
	t.Run("untrusted", func(t *testing.T) {
		s := newTestServer(t, func(c *gatehouse.Config) { c.RateLimitIP = "3/h" })
		var last *http.Response
		var body []byte
		for _, h := range spoof {
			last, body = get(t, s.URL+"/healthz", h)
		}
		want429(t, "fourth request with a new spoofed address", last, body, "rate_limited")
		evs, _ := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: "ratelimit.exceeded"})
		if len(evs) != 1 || evs[0].IP != "127.0.0.1" {
			t.Errorf("audit = %+v, want the refusal recorded for the real peer 127.0.0.1", evs)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		s := newTestServer(t, func(c *gatehouse.Config) {
			c.RateLimitIP = "3/h"
			c.TrustedProxies = []string{"127.0.0.1/32"}
		})
		for i := range 6 {
			h := map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+10)}
			if res, body := get(t, s.URL+"/healthz", h); res.StatusCode != 200 {
				t.Fatalf("request %d from its own forwarded address = %d %s", i, res.StatusCode, body)
			}
		}
		for range 3 {
			get(t, s.URL+"/healthz", map[string]string{"X-Forwarded-For": "203.0.113.99"})
		}
		res, body := get(t, s.URL+"/healthz", map[string]string{"X-Forwarded-For": "203.0.113.99"})
		want429(t, "fourth request from one forwarded address", res, body, "rate_limited")
	})
}

func TestRateLimitAPIKey(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	mustCreateUser(t, s, "alice", "alice-password", "read")
	k, secret, err := s.Admin().CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: "alice", RateLimit: "2/h"})
	if err != nil {
		t.Fatal(err)
	}
	other := mustAPIKey(t, s, "alice")
	me := func(key string) (*http.Response, []byte) {
		return get(t, s.URL+"/users/me", map[string]string{"X-API-Key": key})
	}
	for i := range 2 {
		if res, body := me(secret); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
	}
	res, body := me(secret)
	want429(t, "third request with a 2/h key", res, body, "rate_limited")
	if res, _ := me(other); res.StatusCode != 200 {
		t.Errorf("another key of the same user = %d, want 200", res.StatusCode)
	}
	// Raising the limit with `gatehouse apikey set-rate-limit` applies as
	// soon as the running server hears of it on the revocation feed.
	cli := mustCLI(t, s)
	if _, err := cli.SetAPIKeyRateLimit(ctx, audit.CLI(), k.ID, "", "100/h"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key's new limit on the server", func() bool {
		res, _ := me(secret)
		return res.StatusCode == 200
	})
	if _, err := cli.SetAPIKeyRateLimit(ctx, audit.CLI(), k.ID, "", "ten per second"); err == nil {
		t.Errorf("SetAPIKeyRateLimit(bad) succeeded")
	}
	evs, _ := s.DB.ListAudit(ctx, store.AuditFilter{Action: "apikey.updated"})
	if len(evs) != 1 || evs[0].Target != k.ID || !strings.Contains(evs[0].Reason, "2/h->100/h") {
		t.Errorf("apikey.updated events = %+v", evs)
	}
}

func TestRateLimitUserAcrossCredentials(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) { c.RateLimitUser = "3/h" })
	mustCreateUser(t, s, "alice", "alice-password", "read")
	key := mustAPIKey(t, s, "alice")
	tok := mustToken(t, s, "alice", "alice-password")["access_token"].(string)
	creds := []map[string]string{{"X-API-Key": key}, {"Authorization": "Bearer " + tok}, {"X-API-Key": key}}
	for i, h := range creds {
		if res, body := get(t, s.URL+"/users/me", h); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
	}
	res, body := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok})
	want429(t, "fourth request of one user", res, body, "rate_limited")
}

func TestRateLimitClient(t *testing.T) {
	s := newTestServer(t)
	c := mustClient(t, s, gatehouse.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, RateLimit: "2/h"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {c.Secret}}
	for i := range 2 {
		if res, body := doForm(t, s.URL+"/oauth2/token", form, nil); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
	}
	res, body := doForm(t, s.URL+"/oauth2/token", form, nil)
	want429(t, "third client_credentials request", res, body, "temporarily_unavailable")
}

// TestPasswordHasherBusy: with one hashing slot and real argon2id
// parameters, a burst of logins far beyond what the wait budget (2 s of
// hashing) holds gets 503 temporarily_unavailable with Retry-After at once
// for the part that would wait too long, and bearer requests keep being
// served.
func TestPasswordHasherBusy(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) {
		c.InsecureFastPasswordHashing = false
		c.PasswordHashConcurrency = 1
		c.RateLimitToken = "unlimited"
	})
	mustCreateUser(t, s, "alice", "alice-password", "read")
	tok := mustToken(t, s, "alice", "alice-password")["access_token"].(string)
	const n = 300 // argon2id takes a few ms at the very least: more than 2 s of hashing
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, body := doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"},
				"username": {fmt.Sprintf("flood%d", i)}, "password": {"wrong-password"}}, nil)
			if res.StatusCode == 503 {
				var m map[string]any
				if json.Unmarshal(body, &m) != nil || m["error"] != "temporarily_unavailable" || res.Header.Get("Retry-After") == "" {
					t.Errorf("busy answer = %s %v", body, res.Header)
				}
			}
			codes <- res.StatusCode
		})
	}
	if res, body := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + tok}); res.StatusCode != 200 {
		t.Errorf("GET /users/me during the burst = %d %s", res.StatusCode, body)
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[503] == 0 || count[400] == 0 || count[400]+count[503] != n {
		t.Errorf("answers %v: want some 400 (hashed) and some 503 (queue full), nothing else", count)
	}
}

// redisURL returns GATEHOUSE_TEST_REDIS_URL or skips.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_REDIS_URL is not set in CI")
		}
		t.Skip("GATEHOUSE_TEST_REDIS_URL not set")
	}
	return u
}

// TestRateLimitSharedThroughRedis: two replicas on one database and one
// Redis enforce one limit, and the login throttle counts failures on
// both.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	ru := redisURL(t)
	db := "sqlite:" + t.TempDir() + "/shared.db"
	c := newCluster(t, db, 2, func(cfg *gatehouse.Config) {
		cfg.RedisURL = ru
		cfg.LoginMaxFailures = 4
	})
	a, b := c.nodes[0], c.nodes[1]
	ctx := context.Background()
	user := "redis-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	mustCreateUser(t, a, user, "the-password", "read")
	_, key, err := a.Admin().CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: user, RateLimit: "3/h"})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"X-API-Key": key}
	for i, node := range []*testServer{a, b, a} {
		if res, body := get(t, node.URL+"/users/me", h); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
	}
	for _, node := range []*testServer{b, a} {
		res, body := get(t, node.URL+"/users/me", h)
		want429(t, "fourth request of a 3/h key across two replicas", res, body, "rate_limited")
	}
	// Failed logins on both replicas add up to one lock.
	for i, node := range []*testServer{a, b, a, b} {
		if code, body, _ := login(t, node, user, "wrong-password"); code != 400 && !(i == 3 && code == 429) {
			t.Fatalf("failure %d = %d %s", i+1, code, body)
		}
	}
	if code, body, _ := login(t, a, user, "the-password"); code != 429 {
		t.Errorf("right password after 4 failures across replicas = %d %s, want 429", code, body)
	}
	if v := gauge(t, a, `gatehouse_ratelimit_fallback{backend="limiter"}`); v != 0 {
		t.Errorf("fallback gauge = %v with Redis up, want 0", v)
	}
}

// TestRateLimitRedisDown: with Redis unreachable the server starts, keeps
// limiting with local memory, logs it and shows it in the metrics.
func TestRateLimitRedisDown(t *testing.T) {
	s := newTestServer(t, func(c *gatehouse.Config) {
		c.RedisURL = "redis://127.0.0.1:1/0" // nothing listens on port 1
		c.LoginMaxFailures = 2
	})
	ctx := context.Background()
	mustCreateUser(t, s, "alice", "alice-password", "read")
	_, key, err := s.Admin().CreateAPIKey(ctx, gatehouse.NewAPIKey{Owner: "alice", RateLimit: "2/h"})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"X-API-Key": key}
	for i := range 2 {
		if res, body := get(t, s.URL+"/users/me", h); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s", i+1, res.StatusCode, body)
		}
	}
	res, body := get(t, s.URL+"/users/me", h)
	want429(t, "third request with Redis down", res, body, "rate_limited")
	login(t, s, "alice", "wrong-password")
	login(t, s, "alice", "wrong-password")
	if code, _, _ := login(t, s, "alice", "alice-password"); code != 429 {
		t.Errorf("login throttle with Redis down: right password after the lock = %d, want 429", code)
	}
	if v := gauge(t, s, `gatehouse_ratelimit_fallback{backend="limiter"}`); v != 1 {
		t.Errorf("limiter fallback gauge = %v, want 1", v)
	}
	if v := gauge(t, s, `gatehouse_ratelimit_fallback{backend="login_throttle"}`); v != 1 {
		t.Errorf("login throttle fallback gauge = %v, want 1", v)
	}
	if logs := s.Logs.String(); !strings.Contains(logs, "rate limiter backend failed, using local fallback") {
		t.Errorf("no fallback log line in:\n%s", logs)
	}
}

// gauge reads one sample from /metrics by its exposition name and labels.
func gauge(t *testing.T, s *testServer, series string) float64 {
	t.Helper()
	res, body := get(t, s.URL+"/metrics", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("%s not in /metrics", series)
	return 0
}

// TestPublicClientBudget: a public client proves nothing by its client_id,
// so requests that name it spend its budget (--rate-limit-client or its
// own) only once they proved something — a valid refresh token, code and
// verifier, or password. Failed requests that proved nothing spend the
// caller's address's budget of failures (--rate-limit-token) instead, so
// junk from one address locks out neither the app's other users nor the
// address's own confidential clients.
func TestPublicClientBudget(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t, func(c *gatehouse.Config) {
			c.TrustedProxies = []string{"127.0.0.1/32"}
			c.RateLimitToken = "5/h"
		})
		const pw = "correct horse battery"
		mustCreateUser(t, s, "dora", pw, "read")
		pub := mustClient(t, s, gatehouse.NewClient{Name: "native app", Public: true,
			GrantTypes: []string{"password", "refresh_token"}, RateLimit: "4/h"})
		conf := mustClient(t, s, gatehouse.NewClient{Name: "service", GrantTypes: []string{"client_credentials"}})
		from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
		post := func(t *testing.T, addr string, form url.Values, hdr http.Header) (*http.Response, []byte) {
			t.Helper()
			h := from(addr)
			for k, v := range hdr {
				h[k] = v
			}
			res, body := doForm(t, s.URL+"/oauth2/token", form, h)
			if res.StatusCode >= 500 {
				t.Fatalf("POST /oauth2/token = %d %s", res.StatusCode, body)
			}
			return res, body
		}
		const attacker, user, office = "203.0.113.7", "198.51.100.20", "2001:db8:1:2::5"
		junk := url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID},
			"refresh_token": {"grt_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}

		// A legitimate user of the app logs in (one event of its budget).
		res, body := post(t, user, url.Values{"grant_type": {"password"}, "client_id": {pub.ID},
			"username": {"dora"}, "password": {pw}}, nil)
		if res.StatusCode != 200 {
			t.Fatalf("login through the public client = %d %s", res.StatusCode, body)
		}
		rt := decode(t, body)["refresh_token"].(string)

		// Junk refresh tokens from one address: invalid_grant until the
		// address's failure budget is spent, then 429 before any lookup.
		for i := range 5 {
			res, body := post(t, attacker, junk, nil)
			if m := decode(t, body); res.StatusCode != 400 || m["error"] != "invalid_grant" {
				t.Fatalf("junk refresh %d = %d %s, want 400 invalid_grant", i+1, res.StatusCode, body)
			}
		}
		for range 10 {
			res, body = post(t, attacker, junk, nil)
		}
		want429(t, "junk refresh after the address's failures", res, body, "temporarily_unavailable")
		// The same /64 is the same address.
		res, body = post(t, "2001:db8:1:2::1", junk, nil)
		if res.StatusCode != 400 {
			t.Fatalf("junk from an office address = %d %s, want 400 (its own budget)", res.StatusCode, body)
		}
		for range 5 {
			res, body = post(t, office, junk, nil)
		}
		want429(t, "junk from another address of the same /64", res, body, "temporarily_unavailable")

		// The app's other user is not locked out: the junk spent none of
		// the client's budget.
		res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
		if res.StatusCode != 200 {
			t.Fatalf("legitimate refresh from another address after the junk = %d %s, want 200", res.StatusCode, body)
		}
		rt = decode(t, body)["refresh_token"].(string)

		// A confidential client proves itself with its secret: the
		// attacker's address's spent failures do not touch it.
		res, body = post(t, attacker, url.Values{"grant_type": {"client_credentials"}}, basicHeader(conf))
		if res.StatusCode != 200 {
			t.Errorf("client_credentials from the blocked address = %d %s, want 200", res.StatusCode, body)
		}

		// Proven requests still spend the client's budget (4/h: the login,
		// a refresh, two more; the fifth is refused).
		for i := range 2 {
			res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("refresh %d within the client's budget = %d %s", i+2, res.StatusCode, body)
			}
			rt = decode(t, body)["refresh_token"].(string)
		}
		res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
		want429(t, "refresh beyond the client's own limit", res, body, "temporarily_unavailable")

		// Failed client authentication spends the address's failures too
		// (a wrong secret, an unknown client).
		bad := client{Client: conf.Client, Secret: "gcs_wrong"}
		for i := range 5 {
			res, body = post(t, "192.0.2.30", url.Values{"grant_type": {"client_credentials"}}, basicHeader(bad))
			if res.StatusCode != 401 {
				t.Fatalf("wrong secret %d = %d %s, want 401", i+1, res.StatusCode, body)
			}
		}
		res, body = post(t, "192.0.2.30", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"},
			"client_secret": {"gcs_x"}}, nil)
		want429(t, "client authentication after the address's failures", res, body, "temporarily_unavailable")
		// … and the first-party client's junk likewise, per address.
		fp := url.Values{"grant_type": {"refresh_token"}, "refresh_token": junk["refresh_token"]}
		for range 6 {
			res, body = post(t, "192.0.2.40", fp, nil)
		}
		want429(t, "first-party junk after the address's failures", res, body, "temporarily_unavailable")
		if res, body = post(t, "192.0.2.41", url.Values{"grant_type": {"password"}, "username": {"dora"}, "password": {pw}}, nil); res.StatusCode != 200 {
			t.Errorf("first-party login from another address = %d %s, want 200", res.StatusCode, body)
		}
	})
}
