package guard_test

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// TestRemoteServesOnceStarted: NewRemote returns once the revocation feed
// has synced, so the guard it returns must not think the feed silent: the
// very first request is served, never refused as stale. (The feed's
// "ready" event once released NewRemote before it recorded the contact, so
// a request right after the start could get 503 "feed not heard from".)
func TestRemoteServesOnceStarted(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, func(m map[string]any) {
		m["sub"], m["client_id"] = "svc", "svc" // a client's own token: no introspection
	}))
	for i := range 200 {
		g := mustRemote(t, f, newClock(testNow), func(cfg *guard.RemoteConfig) { cfg.SkipUsernames = true })
		if _, err := g.Authenticate(bearerRequest(tok)); err != nil {
			t.Fatalf("start %d: first request refused: %v", i, err)
		}
		if st := g.Status(); st.Stale {
			t.Fatalf("start %d: stale right after NewRemote: %+v", i, st)
		}
		g.Close()
	}
}
