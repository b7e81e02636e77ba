package guard_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// TestRemoteLearnsUsernames: a remote guard gives handlers the principal
// the embedded guard gives: the username of a user's access token, learned
// by introspecting the token once (cached by jti until it expires); a
// client's own token has none and costs no call; a token the issuer calls
// inactive is refused; an issuer that cannot be asked is a 503, not an
// empty username.
func TestRemoteLearnsUsernames(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	sign := func(sub, jti, client string) string {
		return mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, func(m map[string]any) {
			m["sub"], m["jti"], m["client_id"] = sub, jti, client
		}))
	}
	bearerAnswer := func(sub, jti, username string) map[string]any {
		return map[string]any{"active": true, "token_type": "Bearer", "sub": sub, "jti": jti, "username": username,
			"client_id": "app", "scope": "read write", "iss": f.srv.URL}
	}
	user := sign("user-1", "fam.t1", "app")
	f.active[user] = bearerAnswer("user-1", "fam.t1", "alice")
	client := sign("svc", "cc.1", "svc")
	inactive := sign("user-2", "gone", "app")
	f.active[inactive] = map[string]any{"active": false}
	wrongJTI := sign("user-3", "t3", "app")
	f.active[wrongJTI] = bearerAnswer("user-3", "another", "carol")
	wrongType := sign("user-4", "t4", "app")
	f.active[wrongType] = bearerAnswer("user-4", "t4", "dave")
	f.active[wrongType]["token_type"] = "refresh_token"
	c := newClock(testNow)
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) { cfg.NegativeTTL = 2 * time.Second })

	authenticate := func(tok string) (*guard.Principal, error, int) {
		t.Helper()
		_, before := f.counts()
		p, err := g.Authenticate(bearerRequest(tok))
		_, after := f.counts()
		return p, err, after - before
	}
	for i := range 3 {
		p, err, calls := authenticate(user)
		if err != nil || p.Username != "alice" || p.Subject != "user-1" {
			t.Fatalf("user token, request %d: %+v, %v; want alice", i, p, err)
		}
		if want := boolInt(i == 0); calls != want {
			t.Errorf("user token, request %d: %d introspection calls, want %d", i, calls, want)
		}
	}
	if p, err, calls := authenticate(client); err != nil || p.Username != "" || calls != 0 {
		t.Errorf("client's own token: %+v, %v, %d introspection calls; want no username and no call", p, err, calls)
	}
	for name, tok := range map[string]string{"inactive": inactive, "answer for another jti": wrongJTI, "answer for a refresh token": wrongType} {
		for i := range 2 {
			p, err, calls := authenticate(tok)
			var ge *guard.Error
			if !errors.As(err, &ge) || ge.Status != http.StatusUnauthorized || ge.Code != guard.CodeInvalidToken ||
				!errors.Is(err, guard.ErrInactive) {
				t.Fatalf("%s token, request %d: %+v, %v; want 401 invalid_token caused by ErrInactive", name, i, p, err)
			}
			if want := boolInt(i == 0); calls != want {
				t.Errorf("%s token, request %d: %d introspection calls, want %d (then NegativeTTL)", name, i, calls, want)
			}
		}
	}
	c.Advance(3 * time.Second)
	if _, _, calls := authenticate(inactive); calls != 1 {
		t.Errorf("inactive token after NegativeTTL: %d introspection calls, want 1", calls)
	}

	// The issuer cannot be asked: 503, for a new user token and for an
	// API key, until it answers again.
	f.fail("/introspect", http.StatusServiceUnavailable, -1)
	fresh := sign("user-1", "fam.t2", "app")
	f.active[fresh] = bearerAnswer("user-1", "fam.t2", "alice")
	apiKey := mustWellFormedKey(t, "gk_")
	for name, r := range map[string]*http.Request{"user token": bearerRequest(fresh), "API key": apiKeyRequest(apiKey)} {
		wantUnavailable(t, g.Guard, name+" while introspection fails", r)
	}
	f.fail("/introspect", 0, 0)
	if p, err, _ := authenticate(fresh); err != nil || p.Username != "alice" {
		t.Errorf("user token once introspection is back: %+v, %v", p, err)
	}
}

// TestRemoteSkipUsernames: with SkipUsernames a user token costs no call
// and has no username.
func TestRemoteSkipUsernames(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	g := mustRemote(t, f, newClock(testNow), func(cfg *guard.RemoteConfig) { cfg.SkipUsernames = true })
	tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, nil))
	_, before := f.counts()
	p, err := g.Authenticate(bearerRequest(tok))
	if _, after := f.counts(); err != nil || p.Username != "" || after != before {
		t.Errorf("SkipUsernames: %+v, %v, %d introspection calls; want no username and no call", p, err, after-before)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
