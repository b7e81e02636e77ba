package gatehouse_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestReplicasRevocationPostgres: three replicas on one PostgreSQL and a
// remote guard that knows only the issuer URL. Every kind of revocation
// made on one replica is refused by all of them and by the remote guard.
func TestReplicasRevocationPostgres(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	testRevocationEverywhere(t, newCluster(t, url, 3))
}

// TestReplicasRevocationSQLite: the same events on one SQLite node flow
// in-process to its guard and to a remote guard.
func TestReplicasRevocationSQLite(t *testing.T) {
	testRevocationEverywhere(t, newCluster(t, sqlstoretest.SQLiteURL(t), 1))
}

func testRevocationEverywhere(t *testing.T, c *cluster) {
	ctx := t.Context()
	n0 := c.nodes[0]
	on := func(i int) *testServer { return c.nodes[i%len(c.nodes)] }
	follower := mustFollower(t, n0)
	remote := mustRemoteGuard(t, c.issuer, follower, nil)
	remoteKeys := introspectionWorks(t, n0, follower)
	if !remoteKeys {
		t.Log("POST /oauth2/introspect is not served yet: API keys are checked on the replicas only " +
			"(the remote guard's introspection is tested against a fake in package guard)")
	}
	keyWhere := func() *guard.Remote {
		if remoteKeys {
			return remote
		}
		return nil
	}

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
		if err := on(2).Manager().Revoker.Revoke(ctx, store.RevokeToken, p.TokenID, time.Time{}, p.ExpiresAt.Add(time.Minute)); err != nil {
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
		wantAccepted(t, c, keyWhere(), apiKeyCred(key))
		// A token issued after the logout's second works.
		deadline := time.Now().Add(5 * time.Second)
		for {
			fresh := bearerCred(mustToken(t, n0, "bob", "correct horse battery")["access_token"].(string))
			if len(acceptedBy(t, c, remote, fresh)) == len(c.nodes)+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("tokens issued after the logout are refused")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		tok := bearerCred(mustToken(t, n0, "carol", "correct horse battery")["access_token"].(string))
		key := apiKeyCred(mustAPIKey(t, n0, "carol"))
		wantAccepted(t, c, remote, tok)
		wantAccepted(t, c, keyWhere(), key)
		if _, err := on(1).Manager().SetDisabled(ctx, manage.CLI(), "carol", true); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, tok)
		waitRefused(t, c, keyWhere(), key)
	})

	t.Run("api key", func(t *testing.T) {
		id, key, err := n0.CreateAPIKey(ctx, "alice", "k", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantAccepted(t, c, keyWhere(), apiKeyCred(key))
		if _, err := on(2).Manager().RevokeAPIKey(ctx, manage.CLI(), id, ""); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, keyWhere(), apiKeyCred(key))
	})

	t.Run("client", func(t *testing.T) {
		cc := mustFollower(t, n0)
		tok := bearerCred(clientToken(t, on(1), cc))
		wantAccepted(t, c, remote, tok)
		if err := on(2).Manager().DeleteClient(ctx, manage.CLI(), cc.ID); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, tok)
	})

	t.Run("signing key", func(t *testing.T) {
		tok := mustToken(t, on(1), "alice", "correct horse battery")["access_token"].(string)
		wantAccepted(t, c, remote, bearerCred(tok))
		kid := kidOf(t, tok)
		if err := on(2).Manager().RevokeSigningKey(ctx, manage.CLI(), kid); err != nil {
			t.Fatal(err)
		}
		waitRefused(t, c, remote, bearerCred(tok))
		// Every replica signs with the replacement, and everyone accepts it.
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; ; i++ {
			fresh := mustToken(t, on(i), "alice", "correct horse battery")["access_token"].(string)
			if kidOf(t, fresh) != kid && len(acceptedBy(t, c, remote, bearerCred(fresh))) == len(c.nodes)+1 {
				if i >= len(c.nodes) {
					break
				}
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("token from node %d (kid %s) after revoking %s is not accepted everywhere", i%len(c.nodes), kidOf(t, fresh), kid)
			}
			time.Sleep(20 * time.Millisecond)
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

// TestReplicasListenerReconnect kills a replica's LISTEN connection with
// pg_terminate_backend: it reconnects and keeps converging.
func TestReplicasListenerReconnect(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	c := newCluster(t, url, 2)
	n0, n1 := c.nodes[0], c.nodes[1]
	mustCreateUser(t, n0, "dave", "correct horse battery", "read")

	waitPID := func(not uint32) uint32 {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			if pid := n1.ListenerPID(); pid != 0 && pid != not {
				return pid
			}
			if time.Now().After(deadline) {
				t.Fatal("the listener did not (re)connect")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	pid := waitPID(0)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok bool
	if err := db.QueryRowContext(t.Context(), `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
	// Revoke while the listener may be down: the poll catches up.
	tok := bearerCred(mustToken(t, n0, "dave", "correct horse battery")["access_token"].(string))
	if _, err := n0.Manager().Logout(t.Context(), manage.CLI(), "dave"); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, c, nil, tok)
	newPID := waitPID(pid)
	if newPID == pid {
		t.Fatalf("listener pid unchanged (%d) after pg_terminate_backend", pid)
	}
	// After reconnecting, notifications flow again.
	id, key, err := n0.CreateAPIKey(t.Context(), "dave", "k", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantAccepted(t, c, nil, apiKeyCred(key))
	if _, err := n0.Manager().RevokeAPIKey(t.Context(), manage.CLI(), id, ""); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, c, nil, apiKeyCred(key))
	if !strings.Contains(n1.Logs.String(), "revocation listener disconnected") {
		t.Error("the replica did not log that its listener was disconnected")
	}
}

// TestReplicasKeyRotationUnderLoad rotates the signing key on different
// replicas while verifications run on every replica and on a remote guard:
// no valid token is refused.
func TestReplicasKeyRotationUnderLoad(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	// Well under the 5 s default, but with room for a loaded CI machine
	// (the race detector, other packages' tests) to deliver the new key.
	c := newCluster(t, url, 2, func(cfg *gatehouse.Config) { cfg.KeyPublishDelay = 3 * time.Second })
	n0 := c.nodes[0]
	mustCreateUser(t, n0, "erin", "correct horse battery", "read")
	remote := mustRemoteGuard(t, c.issuer, mustFollower(t, n0), nil)

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
		k, err := s.Manager().RotateSigningKey(t.Context(), manage.CLI())
		if err != nil {
			t.Fatalf("rotate %d: %v", round, err)
		}
		// Mint tokens on both replicas until each signs with the new key.
		deadline := time.Now().Add(20 * time.Second)
		for _, m := range c.nodes {
			for kidOf(t, addToken(m)) != k.ID {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: a replica never signed with the new key %s", round, k.ID)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	close(stop)
	wg.Wait()
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
	public, err := s.Manager().CreateClient(t.Context(), manage.CLI(), manage.NewClient{
		Name: "spa", Public: true, GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1/cb"},
	})
	if err != nil {
		t.Fatal(err)
	}
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

// TestAPIKeyRotationGrace: after `apikey rotate --grace 24h` both secrets
// work until the grace ends, then only the new one.
func TestAPIKeyRotationGrace(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	s := newTestServer(t, func(c *gatehouse.Config) { c.Now = clock })
	mustCreateUser(t, s, "frank", "correct horse battery", "read")
	id, old, err := s.CreateAPIKey(t.Context(), "frank", "k", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := s.Manager().RotateAPIKey(t.Context(), manage.CLI(), id, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Secret == old || rot.ID != id {
		t.Fatalf("RotateAPIKey gave id %s (want %s) and the same secret: %v", rot.ID, id, rot.Secret == old)
	}
	for _, tc := range []struct {
		name     string
		advance  time.Duration
		old, new int
	}{
		{"right after", 0, 200, 200},
		{"an hour before the grace ends", 23 * time.Hour, 200, 200},
		{"after the grace", time.Hour + time.Second, 401, 200},
	} {
		now.Add(int64(tc.advance))
		if got := meStatus(t, s, apiKeyCred(old)); got != tc.old {
			t.Errorf("%s: old secret status %d, want %d", tc.name, got, tc.old)
		}
		if got := meStatus(t, s, apiKeyCred(rot.Secret)); got != tc.new {
			t.Errorf("%s: new secret status %d, want %d", tc.name, got, tc.new)
		}
	}
	// Rotating without grace ends the old secret at once.
	rot2, err := s.Manager().RotateAPIKey(t.Context(), manage.CLI(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := meStatus(t, s, apiKeyCred(rot.Secret)); got != http.StatusUnauthorized {
		t.Errorf("previous secret after rotate --grace 0: status %d, want 401", got)
	}
	if got := meStatus(t, s, apiKeyCred(rot2.Secret)); got != http.StatusOK {
		t.Errorf("new secret after rotate --grace 0: status %d, want 200", got)
	}
}

// TestAutomaticKeyRotation: with KeyRotation set, a key older than the
// period is replaced by exactly one of the replicas.
func TestAutomaticKeyRotation(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	url := sqlstoretest.SQLiteURL(t)
	c := newCluster(t, url, 2, func(cfg *gatehouse.Config) { cfg.Now = clock; cfg.KeyRotation = time.Hour })
	before, err := c.nodes[0].Keys().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, rotated, err := c.nodes[0].Manager().RotateSigningKeyIfDue(t.Context(), manage.CLI(), time.Hour); err != nil || rotated {
		t.Fatalf("RotateSigningKeyIfDue with a fresh key = %v, %v; want no rotation", rotated, err)
	}
	now.Add(int64(time.Hour + time.Second))
	// Every replica finds the rotation due (their background loops may
	// too); exactly one new key per algorithm results.
	for _, s := range c.nodes {
		if _, _, err := s.Manager().RotateSigningKeyIfDue(t.Context(), manage.CLI(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	after, err := c.nodes[0].Keys().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	current := map[string][]string{}
	for _, k := range after {
		if k.RetiredAt == nil && k.RevokedAt == nil {
			current[k.Algorithm] = append(current[k.Algorithm], k.ID)
		}
	}
	for _, k := range before {
		if k.Algorithm == "ES256" && len(current["ES256"]) == 1 && current["ES256"][0] == k.ID {
			t.Errorf("the current ES256 key is still %s after a due rotation", k.ID)
		}
	}
	if len(current["ES256"]) != 1 || len(current["RS256"]) != 1 {
		var all []string
		for _, k := range after {
			all = append(all, fmt.Sprintf("%s %s created %s activates %s retired %v revoked %v", k.ID, k.Algorithm,
				k.CreatedAt.Format(time.RFC3339Nano), k.ActivatesAt.Format(time.RFC3339Nano), k.RetiredAt, k.RevokedAt))
		}
		t.Errorf("current keys after the due rotation = %v, want exactly one per algorithm (one replica won); all keys:\n%s",
			current, strings.Join(all, "\n"))
	}
}
