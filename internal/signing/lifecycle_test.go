package signing

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestRotationTimeline(t *testing.T) {
	clk := newClock()
	const delay, ttl = 10 * time.Minute, 15 * time.Minute
	k := mustKeys(t, Config{IDTokenAlgorithm: ES256, Now: clk.Now, PublishDelay: delay, MaxTokenTTL: ttl})
	mustEnsure(t, k)
	old := k.ActiveKeyID()
	t0 := clk.Now()
	oldTok := mustIssue(t, k, t0)

	nk := mustRotate(t, k)
	if !nk.ActivatesAt.Equal(t0.Add(delay)) {
		t.Errorf("new key ActivatesAt = %v, want %v", nk.ActivatesAt, t0.Add(delay))
	}

	type state struct {
		active         string
		jwks           []string
		oldStatus      string
		newStatus      string
		oldVerifyError error
	}
	check := func(name string, want state) {
		t.Helper()
		got := state{
			active:    k.ActiveKeyID(),
			jwks:      jwksKIDs(k.JWKS()),
			oldStatus: statusOf(mustList(t, k), old),
			newStatus: statusOf(mustList(t, k), nk.ID),
		}
		_, got.oldVerifyError = verifyKeySet(t, k, oldTok)
		slices.Sort(got.jwks)
		slices.Sort(want.jwks)
		if got.active != want.active || !slices.Equal(got.jwks, want.jwks) || got.oldStatus != want.oldStatus ||
			got.newStatus != want.newStatus || !errors.Is(got.oldVerifyError, want.oldVerifyError) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}

	check("just rotated: new key published, old one signs",
		state{active: old, jwks: []string{old, nk.ID}, oldStatus: StatusActive, newStatus: StatusNext})
	if kid := header(t, mustIssue(t, k, clk.Now()), jose.ES256).KeyID; kid != old {
		t.Errorf("token signed during the publish delay has kid %s, want %s", kid, old)
	}

	clk.Add(delay - time.Second)
	check("just before activation",
		state{active: old, jwks: []string{old, nk.ID}, oldStatus: StatusActive, newStatus: StatusNext})

	clk.Add(time.Second)
	check("activation: new key signs, old one still verifies",
		state{active: nk.ID, jwks: []string{old, nk.ID}, oldStatus: StatusRetired, newStatus: StatusActive})
	if kid := header(t, mustIssue(t, k, clk.Now()), jose.ES256).KeyID; kid != nk.ID {
		t.Errorf("token signed after activation has kid %s, want %s", kid, nk.ID)
	}

	clk.Add(ttl + time.Minute - time.Second)
	check("just before the old key expires",
		state{active: nk.ID, jwks: []string{old, nk.ID}, oldStatus: StatusRetired, newStatus: StatusActive})

	clk.Add(time.Second)
	check("old key expired: gone from the JWKS",
		state{active: nk.ID, jwks: []string{nk.ID}, oldStatus: StatusExpired, newStatus: StatusActive, oldVerifyError: ErrKeyExpired})
	if slices.Contains(jwksKIDs(mustJWKSJSON(t, k)), old) {
		t.Errorf("JWKSJSON() still lists the expired key %s", old)
	}
}

func mustJWKSJSON(t *testing.T, k *Keys) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(k.JWKSJSON(), &set); err != nil {
		t.Fatalf("JWKSJSON() does not parse: %v", err)
	}
	return set
}

func TestRotateRotatesEveryAlgorithm(t *testing.T) {
	clk := newClock()
	k := mustKeys(t, Config{Now: clk.Now}) // ES256 access tokens, RS256 ID tokens
	mustEnsure(t, k)
	nk := mustRotate(t, k)
	if nk.Algorithm != ES256 {
		t.Errorf("Rotate() returned a %s key, want the ES256 access-token key", nk.Algorithm)
	}
	l := mustList(t, k)
	count := map[string]int{}
	for _, ki := range l {
		if ki.RetiredAt == nil {
			count[ki.Algorithm]++
		}
		if ki.Status != StatusActive && ki.Status != StatusRetired {
			t.Errorf("key %s (%s) status %s, want active or retired", ki.ID, ki.Algorithm, ki.Status)
		}
	}
	if len(l) != 4 || count[ES256] != 1 || count[RS256] != 1 {
		t.Errorf("after Rotate: %d keys, current per alg %v; want 4 keys and one current ES256 and RS256 key", len(l), count)
	}
}

func TestConcurrentRotation(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) { testConcurrentRotation(t, db) })
}

func testConcurrentRotation(t *testing.T, base store.SigningKeys) {
	mustEnsure(t, mustKeys(t, Config{Store: base}))

	// Two processes read the same current keys before either writes.
	var barrier sync.WaitGroup
	barrier.Add(2)
	wait := func() { barrier.Done(); barrier.Wait() }
	var procs [2]*Keys
	for i := range procs {
		hs := &hookStore{SigningKeys: base}
		procs[i] = mustKeys(t, Config{Store: hs, PublishDelay: time.Minute})
		mustEnsure(t, procs[i])
		hs.setOnList(wait)
	}
	var errs [2]error
	var wg sync.WaitGroup
	for i, k := range procs {
		wg.Go(func() { _, errs[i] = k.Rotate(t.Context()) })
	}
	wg.Wait()

	wins, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("Rotate() error = %v", err)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Errorf("Rotate() results %v: want one winner and one ErrConflict", errs)
	}
	assertOneCurrent(t, base, ES256, RS256)
	for _, k := range procs {
		if err := k.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if procs[0].ActiveKeyID() != procs[1].ActiveKeyID() {
		t.Errorf("processes sign with %s and %s, want one key", procs[0].ActiveKeyID(), procs[1].ActiveKeyID())
	}
}

func TestConcurrentEnsure(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) { testConcurrentEnsure(t, db) })
}

func testConcurrentEnsure(t *testing.T, base store.SigningKeys) {
	var barrier sync.WaitGroup
	barrier.Add(2)
	wait := func() { barrier.Done(); barrier.Wait() }
	var procs [2]*Keys
	for i := range procs {
		hs := &hookStore{SigningKeys: base}
		hs.setOnList(wait) // both see an empty store
		procs[i] = mustKeys(t, Config{Store: hs, IDTokenAlgorithm: ES256})
	}
	var errs [2]error
	var wg sync.WaitGroup
	for i, k := range procs {
		wg.Go(func() { _, errs[i] = k.Ensure(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Ensure() error = %v", err)
		}
	}
	recs, _ := base.ListSigningKeys(t.Context())
	if len(recs) != 2 {
		t.Fatalf("%d keys, want 2 (both processes created one)", len(recs))
	}
	assertOneCurrent(t, base, ES256)
	for _, k := range procs {
		if err := k.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if procs[0].ActiveKeyID() != procs[1].ActiveKeyID() {
		t.Errorf("processes sign with %s and %s, want one key", procs[0].ActiveKeyID(), procs[1].ActiveKeyID())
	}
}

// assertOneCurrent checks that each algorithm has exactly one key that is
// neither retired nor revoked.
func assertOneCurrent(t *testing.T, st store.SigningKeys, algs ...string) {
	t.Helper()
	recs, err := st.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range algs {
		n := 0
		for _, r := range recs {
			if r.Algorithm == alg && r.RetiredAt == nil && r.RevokedAt == nil {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d current %s keys, want 1", n, alg)
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Run("current key", func(t *testing.T) {
		clk := newClock()
		st := newStore(t)
		k := mustKeys(t, Config{Store: st, Now: clk.Now})
		mustEnsure(t, k)
		other := mustKeys(t, Config{Store: st, Now: clk.Now})
		mustEnsure(t, other)
		kid := k.ActiveKeyID()
		tok := mustIssue(t, k, clk.Now())

		if err := k.Revoke(t.Context(), kid); err != nil {
			t.Fatalf("Revoke() error = %v", err)
		}
		if slices.Contains(jwksKIDs(k.JWKS()), kid) {
			t.Errorf("revoked key %s still in the JWKS", kid)
		}
		if _, err := verifyKeySet(t, k, tok); !errors.Is(err, ErrKeyRevoked) {
			t.Errorf("VerificationKey(revoked) error = %v, want ErrKeyRevoked", err)
		}
		if k.ActiveKeyID() == kid || k.ActiveKeyID() == "" {
			t.Errorf("ActiveKeyID() after revoking the current key = %q, want a replacement", k.ActiveKeyID())
		}
		if kid2 := header(t, mustIssue(t, k, clk.Now()), jose.ES256).KeyID; kid2 == kid {
			t.Errorf("still signing with the revoked key")
		}
		assertOneCurrent(t, st, ES256, RS256)
		if s := statusOf(mustList(t, k), kid); s != StatusRevoked {
			t.Errorf("status of the revoked key = %s, want revoked", s)
		}

		// Another replica learns of it on Reload.
		if err := other.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := verifyKeySet(t, other, tok); !errors.Is(err, ErrKeyRevoked) {
			t.Errorf("other replica: VerificationKey(revoked) error = %v, want ErrKeyRevoked", err)
		}
		if err := k.Revoke(t.Context(), kid); err != nil {
			t.Errorf("Revoke() twice error = %v, want nil", err)
		}
	})

	t.Run("unknown kid", func(t *testing.T) {
		k := mustKeys(t, Config{IDTokenAlgorithm: ES256})
		mustEnsure(t, k)
		if err := k.Revoke(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Revoke(unknown) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("during a rotation the next key takes over at once", func(t *testing.T) {
		clk := newClock()
		st := newStore(t)
		k := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256, Now: clk.Now, PublishDelay: time.Hour})
		mustEnsure(t, k)
		old := k.ActiveKeyID()
		nk := mustRotate(t, k)
		if k.ActiveKeyID() != old {
			t.Fatalf("the new key signs before its publish delay")
		}
		if err := k.Revoke(t.Context(), old); err != nil {
			t.Fatal(err)
		}
		if k.ActiveKeyID() != nk.ID {
			t.Errorf("ActiveKeyID() = %s, want the pending key %s activated", k.ActiveKeyID(), nk.ID)
		}
		if l := mustList(t, k); len(l) != 2 {
			t.Errorf("%d keys, want 2: no extra key when one is pending", len(l))
		}
	})
}

func TestAlgorithmSwitch(t *testing.T) {
	clk := newClock()
	st := newStore(t)
	ed := mustKeys(t, Config{Store: st, Algorithm: EdDSA, IDTokenAlgorithm: EdDSA, Now: clk.Now, MaxTokenTTL: time.Hour})
	mustEnsure(t, ed)
	edKID := ed.ActiveKeyID()
	tok := mustIssue(t, ed, clk.Now())

	es := mustKeys(t, Config{Store: st, Algorithm: ES256, IDTokenAlgorithm: ES256, Now: clk.Now, MaxTokenTTL: time.Hour})
	created, err := es.Ensure(t.Context())
	if err != nil || !created {
		t.Fatalf("Ensure() after switching to ES256 = %v, %v; want true, nil", created, err)
	}
	if s := statusOf(mustList(t, es), edKID); s != StatusRetired {
		t.Errorf("the EdDSA key is %s, want retired", s)
	}
	if _, err := verifyKeySet(t, es, tok); err != nil {
		t.Errorf("an EdDSA token from before the switch no longer verifies: %v", err)
	}
	clk.Add(time.Hour + time.Minute)
	if slices.Contains(jwksKIDs(es.JWKS()), edKID) {
		t.Errorf("the EdDSA key is still published after its tokens expired")
	}
	if got := es.Algorithms(); !slices.Equal(got, []string{ES256}) {
		t.Errorf("Algorithms() = %v, want [ES256]", got)
	}
}

func TestSignerFallback(t *testing.T) {
	// A replica whose clock runs behind the one that rotated: the new key
	// has not activated for it, and the old one is retired only later.
	// Whatever happens, some published key keeps signing.
	clk := newClock()
	now := clk.Now()
	mk := func(id string, act time.Time, retired *time.Time) *key {
		return &key{id: id, alg: jose.ES256, private: struct{}{}, rec: store.SigningKey{ID: id, ActivatesAt: act, RetiredAt: retired}}
	}
	past := now.Add(-time.Minute)
	tests := []struct {
		name string
		keys []*key
		want string
	}{
		{"newest activated wins", []*key{mk("a", now.Add(-2*time.Hour), nil), mk("b", now.Add(-time.Hour), nil)}, "b"},
		{"pending key does not sign", []*key{mk("a", now.Add(-time.Hour), nil), mk("b", now.Add(time.Minute), nil)}, "a"},
		{"retired key does not sign", []*key{mk("a", now.Add(-2*time.Hour), &past), mk("b", now.Add(-time.Hour), nil)}, "b"},
		{"all retired: newest activated keeps signing", []*key{mk("a", now.Add(-2*time.Hour), &past), mk("b", now.Add(-time.Hour), &past)}, "b"},
		{"only pending: none", []*key{mk("a", now.Add(time.Minute), nil)}, ""},
		{"tie broken by kid", []*key{mk("a", past, nil), mk("b", past, nil)}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if kk := selectSigner(tc.keys, jose.ES256, now); kk != nil {
				got = kk.id
			}
			if got != tc.want {
				t.Errorf("selectSigner() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWatchFollowsOtherProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		cli := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		server := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		mustEnsure(t, server)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { server.Watch(ctx, 30*time.Second); close(done) }()

		nk := mustRotate(t, cli)
		if server.ActiveKeyID() == nk.ID {
			t.Fatalf("the server saw the rotation before reloading")
		}
		time.Sleep(30 * time.Second) // fake time: the next tick
		synctest.Wait()
		if server.ActiveKeyID() != nk.ID {
			t.Errorf("after one Watch interval ActiveKeyID() = %s, want %s", server.ActiveKeyID(), nk.ID)
		}
		cancel()
		<-done
	})
}
