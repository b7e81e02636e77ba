package e2e_test

import (
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// Replicas: several servers on one database, and remote guards following
// them. A change made on one replica — a revocation, a disabled user, a
// rotated or revoked key — reaches every replica and every remote guard.

// acceptedBy lists where cred is accepted: "node0".., and "remote".
func acceptedBy(t testing.TB, c *cluster, remote *guard.Remote, cred credential) []string {
	t.Helper()
	var out []string
	for i, s := range c.nodes {
		if meStatus(t, s, cred) == http.StatusOK {
			out = append(out, fmt.Sprintf("node%d", i))
		}
	}
	if remote != nil {
		if _, err := remote.Authenticate(cred.request("http://resource.example/")); err == nil {
			out = append(out, "remote")
		}
	}
	return out
}

// waitRefused waits until no replica and no remote guard accepts cred.
func waitRefused(t *testing.T, c *cluster, remote *guard.Remote, cred credential) {
	t.Helper()
	waitFor(t, "every replica and the remote guard to refuse the credential", func() bool {
		return len(acceptedBy(t, c, remote, cred)) == 0
	})
}

// wantAccepted fails unless every replica and the remote guard accept cred.
func wantAccepted(t *testing.T, c *cluster, remote *guard.Remote, cred credential) {
	t.Helper()
	want := len(c.nodes)
	if remote != nil {
		want++
	}
	if got := acceptedBy(t, c, remote, cred); len(got) != want {
		t.Fatalf("credential accepted only by %v, want every replica and the remote guard", got)
	}
}

// TestReplicasRevocationPostgres: three replicas on one PostgreSQL and a
// remote guard that knows only the issuer URL. Every kind of revocation
// made on one replica is refused by all of them and by the remote guard.
func TestReplicasRevocationPostgres(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	clk := newClock()
	testRevocationEverywhere(t, newCluster(t, url, 3, withClock(clk)), clk)
}

// TestReplicasRevocationSQLite: the same events on one SQLite node flow
// in-process to its guard and to a remote guard.
func TestReplicasRevocationSQLite(t *testing.T) {
	clk := newClock()
	testRevocationEverywhere(t, newCluster(t, sqlstoretest.SQLiteURL(t), 1, withClock(clk)), clk)
}

// testRevocationEverywhere runs the revocations on c, whose replicas read
// the time from clk (the remote guard: from clk, running).
func testRevocationEverywhere(t *testing.T, c *cluster, clk *clock) {
	ctx := t.Context()
	n0 := c.nodes[0]
	on := func(i int) *testServer { return c.nodes[i%len(c.nodes)] }
	remote := mustRemoteGuard(t, c.issuer, mustFollower(t, n0), func(cfg *guard.RemoteConfig) { cfg.Guard.Now = clk.Running() })
	admin := mustAdminKey(t, n0)

	mustCreateUser(t, n0, "alice", "correct horse battery", "read")
	mustCreateUser(t, n0, "bob", "correct horse battery", "read")
	mustCreateUser(t, n0, "carol", "correct horse battery", "read")

	t.Run("access token", func(t *testing.T) {
		tok := mustToken(t, on(1), "alice", "correct horse battery")
		cred := bearerCred(tok["access_token"].(string))
		wantAccepted(t, c, remote, cred)
		p, err := n0.Guard().VerifyAccessToken(ctx, tok["access_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := on(2).Admin().RevokeAccessToken(ctx, p.TokenID); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, cred)
		// alice's other tokens are unaffected.
		wantAccepted(t, c, remote, bearerCred(mustToken(t, n0, "alice", "correct horse battery")["access_token"].(string)))
	})

	t.Run("logout everywhere by the user", func(t *testing.T) {
		tok := mustToken(t, n0, "bob", "correct horse battery")["access_token"].(string)
		key := mustAPIKey(t, n0, "bob")
		wantAccepted(t, c, remote, bearerCred(tok))
		req, _ := http.NewRequest(http.MethodPost, on(1).URL+"/users/me/logout", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, body := do(t, req)
		if res.StatusCode != http.StatusOK || decode(t, body)["logged_out"] != true {
			t.Fatalf("POST /users/me/logout = %d %s", res.StatusCode, body)
		}
		waitRefused(t, c, remote, bearerCred(tok))
		// Logging out ends sessions, not API keys.
		wantAccepted(t, c, remote, apiKeyCred(key))
		// A token issued after the logout's second works. (In the second
		// itself the server would wait for the next one before issuing.)
		clk.Advance(time.Second)
		waitFor(t, "a token issued after the logout accepted everywhere", func() bool {
			fresh := bearerCred(mustToken(t, n0, "bob", "correct horse battery")["access_token"].(string))
			return len(acceptedBy(t, c, remote, fresh)) == len(c.nodes)+1
		})
	})

	t.Run("disabled user", func(t *testing.T) {
		tok := bearerCred(mustToken(t, n0, "carol", "correct horse battery")["access_token"].(string))
		key := apiKeyCred(mustAPIKey(t, n0, "carol"))
		wantAccepted(t, c, remote, tok)
		wantAccepted(t, c, remote, key)
		if _, err := on(1).Admin().DisableUser(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, tok)
		waitRefused(t, c, remote, key)
	})

	t.Run("api key", func(t *testing.T) {
		id, key, err := n0.CreateAPIKey(ctx, "alice", "k", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantAccepted(t, c, remote, apiKeyCred(key))
		if _, err := on(2).Admin().RevokeAPIKey(ctx, id); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, apiKeyCred(key))
	})

	t.Run("client", func(t *testing.T) {
		cc := mustFollower(t, n0)
		tok := bearerCred(clientToken(t, on(1), cc))
		wantAccepted(t, c, remote, tok)
		if err := on(2).Admin().DeleteClient(ctx, cc.ID); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, tok)
	})

	t.Run("signing key", func(t *testing.T) {
		tok := mustToken(t, on(1), "alice", "correct horse battery")["access_token"].(string)
		wantAccepted(t, c, remote, bearerCred(tok))
		kid := kidOf(t, tok)
		req, _ := http.NewRequest("DELETE", on(2).URL+"/admin/signing-keys/"+kid, nil)
		req.Header.Set("X-API-Key", admin)
		if res, body := do(t, req); res.StatusCode != http.StatusOK {
			t.Fatalf("DELETE /admin/signing-keys/%s = %d %s", kid, res.StatusCode, body)
		}
		waitRefused(t, c, remote, bearerCred(tok))
		// Every replica signs with the replacement, and everyone accepts it.
		for i, n := range c.nodes {
			waitFor(t, fmt.Sprintf("node %d to sign with a key everyone accepts", i), func() bool {
				fresh := mustToken(t, n, "alice", "correct horse battery")["access_token"].(string)
				return kidOf(t, fresh) != kid && len(acceptedBy(t, c, remote, bearerCred(fresh))) == len(c.nodes)+1
			})
		}
	})

	if st := remote.Status(); !st.Connected || st.Stale || st.Cursor == 0 {
		t.Errorf("remote.Status() = %+v, want connected and fresh with a cursor", st)
	}
}

func kidOf(t testing.TB, tok string) string {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.HS256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	return jws.Signatures[0].Header.KeyID
}

// TestReplicasListenerReconnect kills the replicas' LISTEN connections
// with pg_terminate_backend: they reconnect and keep converging.
func TestReplicasListenerReconnect(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	c := newCluster(t, url, 2)
	n0, n1 := c.nodes[0], c.nodes[1]
	mustCreateUser(t, n0, "dave", "correct horse battery", "read")

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// listeners returns the backend pids of the replicas' LISTEN
	// connections, as PostgreSQL sees them.
	listeners := func() []int64 {
		t.Helper()
		rows, err := db.QueryContext(t.Context(), `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var pids []int64
		for rows.Next() {
			var pid int64
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	var old []int64
	waitFor(t, "both replicas listening", func() bool { old = listeners(); return len(old) == len(c.nodes) })
	for _, pid := range old {
		var ok bool
		if err := db.QueryRowContext(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
		}
	}
	// Revoke while the listener may be down: the poll catches up.
	tok := bearerCred(mustToken(t, n0, "dave", "correct horse battery")["access_token"].(string))
	if _, err := n0.Admin().LogoutUser(t.Context(), "dave"); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, c, nil, tok)
	waitFor(t, "both replicas listening again on new connections", func() bool {
		now := listeners()
		return len(now) == len(c.nodes) && !slices.ContainsFunc(now, func(pid int64) bool { return slices.Contains(old, pid) })
	})
	// After reconnecting, notifications flow again.
	id, key, err := n0.CreateAPIKey(t.Context(), "dave", "k", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, c, nil, apiKeyCred(key))
	if _, err := n0.Admin().RevokeAPIKey(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, c, nil, apiKeyCred(key))
	if !strings.Contains(n1.Logs.String(), "revocation listener disconnected") {
		t.Error("the replica did not log that its listener was disconnected")
	}
}

// TestReplicasKeyRotationUnderLoad rotates the signing key on different
// replicas while verifications run on every replica and on a remote guard:
// no valid token is refused. The replicas read the time from the test's
// clock (the remote guard too, running): each round waits until every
// verifier has the new key, then moves the clock past the publish delay,
// and the key signs.
func TestReplicasKeyRotationUnderLoad(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	clk := newClock()
	const publishDelay = 5 * time.Second
	c := newCluster(t, url, 2, withClock(clk), func(cfg *gatehouse.Config) { cfg.KeyPublishDelay = publishDelay })
	n0 := c.nodes[0]
	mustCreateUser(t, n0, "erin", "correct horse battery", "read")
	remote := mustRemoteGuard(t, c.issuer, mustFollower(t, n0), func(cfg *guard.RemoteConfig) { cfg.Guard.Now = clk.Running() })

	var (
		mu       sync.Mutex
		tokens   []string
		refusals []string
		checks   atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	addToken := func(s *testServer) string {
		tok := mustToken(t, s, "erin", "correct horse battery")["access_token"].(string)
		mu.Lock()
		tokens = append(tokens, tok)
		mu.Unlock()
		return tok
	}
	addToken(n0)
	// The verifiers stop before the servers do, also when the test fails.
	stopVerifiers := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopVerifiers)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				tok := tokens[(i*7+w)%len(tokens)]
				mu.Unlock()
				r := bearerCred(tok).request("http://resource.example/")
				guards := []interface {
					Authenticate(*http.Request) (*guard.Principal, error)
				}{c.nodes[0].Guard(), c.nodes[1].Guard(), remote}
				g := guards[i%len(guards)]
				if _, err := g.Authenticate(r); err != nil {
					mu.Lock()
					refusals = append(refusals, err.Error())
					mu.Unlock()
				}
				checks.Add(1)
			}
		})
	}
	for round := range 3 {
		s := c.nodes[round%2]
		kid, err := s.Admin().RotateSigningKey(t.Context())
		if err != nil {
			t.Fatalf("rotate %d: %v", round, err)
		}
		// The key is published first: every replica's JWKS and the remote
		// guard have it before it signs.
		waitFor(t, fmt.Sprintf("round %d: every verifier to know the new key %s", round, kid), func() bool {
			for _, m := range c.nodes {
				if _, body := get(t, m.URL+"/.well-known/jwks.json", nil); !strings.Contains(string(body), `"`+kid+`"`) {
					return false
				}
			}
			_, _, err := remote.Keys.VerificationKey(t.Context(), kid)
			return err == nil
		})
		clk.Advance(publishDelay)
		// Mint tokens on both replicas until each signs with the new key.
		for _, m := range c.nodes {
			waitFor(t, fmt.Sprintf("round %d: a replica to sign with the new key %s", round, kid), func() bool {
				return kidOf(t, addToken(m)) == kid
			})
		}
	}
	stopVerifiers()
	if checks.Load() == 0 {
		t.Fatal("no verification ran")
	}
	if len(refusals) > 0 {
		t.Errorf("%d of %d verifications refused a valid token during rotation; first: %s", len(refusals), checks.Load(), refusals[0])
	}
	t.Logf("%d verifications, %d tokens, 3 rotations, no refusal", checks.Load(), len(tokens))
}

// TestRevocationFeedEndpoint: only confidential clients may follow the
// feed; the cursor is validated.
func TestRevocationFeedEndpoint(t *testing.T) {
	s := newTestServer(t)
	cc := mustFollower(t, s)
	public := mustClient(t, s, gatehouse.NewClient{
		Name: "spa", Public: true, GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1/cb"},
	})
	tests := []struct {
		name   string
		auth   string
		cursor string
		want   int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong secret", basic(cc.ID, "nope"), "", http.StatusUnauthorized},
		{"public client", basic(public.ID, ""), "", http.StatusUnauthorized},
		{"bad cursor", basic(cc.ID, cc.Secret), "x", http.StatusBadRequest},
		{"negative cursor", basic(cc.ID, cc.Secret), "-1", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/oauth2/revocations?after="+tc.cursor, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", "Basic "+tc.auth)
			}
			res, body := do(t, req)
			if res.StatusCode != tc.want {
				t.Fatalf("GET /oauth2/revocations = %d %s, want %d", res.StatusCode, body, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestAutomaticKeyRotation: with KeyRotation set, a key older than the
// period is replaced by exactly one of the replicas. Two replicas run in
// a synctest bubble on one SQLite file: their rotation checks run on the
// bubble's timers, the key's age on the test's clock.
func TestAutomaticKeyRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const period = time.Hour
		clk := newClock()
		url := sqlstoretest.SQLiteURL(t)
		var nodes []*testServer
		for range 2 {
			nodes = append(nodes, newInProcessServer(t, withClock(clk), func(c *gatehouse.Config) {
				c.DatabaseURL, c.KeyRotation = url, period
			}))
		}
		current := func() map[string][]string {
			t.Helper()
			ks, err := nodes[0].DB.ListSigningKeys(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][]string{}
			for _, k := range ks {
				if k.RetiredAt == nil && k.RevokedAt == nil {
					out[k.Algorithm] = append(out[k.Algorithm], k.ID)
				}
			}
			return out
		}
		// The replicas check every minute; a fresh key is not due.
		before := current()
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if got := current(); !maps.EqualFunc(got, before, slices.Equal) {
			t.Fatalf("current keys after a check with a fresh key = %v, want %v (no rotation)", got, before)
		}
		clk.Advance(period + time.Second)
		// Every replica finds the rotation due at its next check; exactly
		// one new key per algorithm results.
		time.Sleep(time.Minute)
		synctest.Wait()
		after := current()
		for alg, ids := range before {
			if len(after[alg]) != 1 || after[alg][0] == ids[0] {
				t.Errorf("current %s keys after a due rotation = %v (before: %v), want exactly one new key", alg, after[alg], ids)
			}
		}
		if len(after["ES256"]) != 1 || len(after["RS256"]) != 1 {
			t.Errorf("current keys after the due rotation = %v, want exactly one ES256 and one RS256 key", after)
		}
	})
}
