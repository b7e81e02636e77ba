package guard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// fakeIssuer is a stand-in gatehouse server for remote-guard tests: it
// serves discovery, a JWKS, RFC 7662 introspection (gatehouse's own
// /oauth2/introspect is tested against the real server in the root
// package) and the revocation feed as server-sent events.
type fakeIssuer struct {
	srv *httptest.Server

	mu          sync.Mutex
	jwks        jose.JSONWebKeySet
	jwksFetches int
	entries     []guard.FeedEntry
	wake        chan struct{} // closed and replaced on every new entry
	kill        chan struct{} // closed to end every open stream
	resumes     []string      // Last-Event-ID of each feed request
	active      map[string]map[string]any
	introCalls  int
	feedDown    bool
	failures    map[string]*failure // path → answer to give instead
}

// failure makes the fake answer a path with status, times times (-1:
// until changed).
type failure struct {
	status, times int
}

func newFakeIssuer(t testing.TB) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{wake: make(chan struct{}), kill: make(chan struct{}), active: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/jwks", "introspection_endpoint": f.srv.URL + "/introspect",
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.jwksFetches++
		set := f.jwks
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if id, sec, ok := r.BasicAuth(); !ok || id != "rs" || sec != "rs-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := r.PostFormValue("token")
		f.mu.Lock()
		f.introCalls++
		resp, ok := f.active[tok]
		f.mu.Unlock()
		if !ok {
			resp = f.introspectJWT(tok)
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /oauth2/revocations", f.serveFeed)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := f.failure(r.URL.Path); st != 0 {
			w.WriteHeader(st)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		f.killStreams()
		f.srv.Close()
	})
	return f
}

// introspectJWT answers for an access token that is not in f.active as
// the real server does for a valid one (without checking the signature):
// active, with its subject, jti and the username "name-of-" + subject.
func (f *fakeIssuer) introspectJWT(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	var c struct {
		Sub string `json:"sub"`
		Jti string `json:"jti"`
	}
	if len(parts) != 3 {
		return map[string]any{"active": false}
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &c) != nil {
		return map[string]any{"active": false}
	}
	return map[string]any{"active": true, "token_type": "Bearer", "sub": c.Sub, "jti": c.Jti,
		"username": "name-of-" + c.Sub, "iss": f.srv.URL}
}

func (f *fakeIssuer) serveFeed(w http.ResponseWriter, r *http.Request) {
	if id, sec, ok := r.BasicAuth(); !ok || id != "rs" || sec != "rs-secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.resumes = append(f.resumes, r.Header.Get("Last-Event-ID"))
	down, kill := f.feedDown, f.kill
	f.mu.Unlock()
	if down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	cursor, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	send := func() {
		f.mu.Lock()
		var pending []guard.FeedEntry
		for _, e := range f.entries {
			if e.Seq > cursor {
				pending = append(pending, e)
			}
		}
		f.mu.Unlock()
		for _, e := range pending {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: revocation\ndata: %s\n\n", e.Seq, b)
			cursor = e.Seq
		}
	}
	for first := true; ; first = false {
		f.mu.Lock()
		wake := f.wake
		f.mu.Unlock()
		send()
		if first {
			fmt.Fprint(w, ": comment lines are ignored\nevent: ready\ndata: {}\n\n")
		}
		w.(http.Flusher).Flush()
		select {
		case <-wake:
		case <-kill:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// fail makes the next times requests to path (-1: all of them, until
// fail is called again) answer status.
func (f *fakeIssuer) fail(path string, status, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures == nil {
		f.failures = map[string]*failure{}
	}
	f.failures[path] = &failure{status: status, times: times}
}

func (f *fakeIssuer) failure(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.failures[path]
	if fl == nil || fl.times == 0 {
		return 0
	}
	if fl.times > 0 {
		fl.times--
	}
	return fl.status
}

func (f *fakeIssuer) push(e guard.FeedEntry) {
	f.mu.Lock()
	e.Seq = int64(len(f.entries) + 1)
	f.entries = append(f.entries, e)
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeIssuer) killStreams() {
	f.mu.Lock()
	close(f.kill)
	f.kill = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeIssuer) setFeedDown(down bool) {
	f.mu.Lock()
	f.feedDown = down
	f.mu.Unlock()
}

func (f *fakeIssuer) publish(kid string, key any) {
	f.mu.Lock()
	f.jwks.Keys = append(f.jwks.Keys, jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	f.mu.Unlock()
}

func (f *fakeIssuer) counts() (jwks, intro int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jwksFetches, f.introCalls
}

// clock is a settable clock for remote tests.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustRemote(t testing.TB, f *fakeIssuer, c *clock, edit func(*guard.RemoteConfig)) *guard.Remote {
	t.Helper()
	cfg := guard.RemoteConfig{
		Issuer: f.srv.URL, Audience: testAudience, ClientID: "rs", ClientSecret: "rs-secret",
		Guard: guard.Config{Now: c.Now},
	}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := guard.NewRemote(ctx, cfg)
	if err != nil {
		t.Fatalf("NewRemote() error = %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func remoteClaims(f *fakeIssuer, edit func(map[string]any)) map[string]any {
	c := claims()
	c["iss"] = f.srv.URL
	if edit != nil {
		edit(c)
	}
	return c
}

func status(t *testing.T, g *guard.Remote, r *http.Request) int {
	t.Helper()
	w := httptest.NewRecorder()
	g.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, r)
	return w.Code
}

func TestRemoteFollowsFeed(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	// An entry from before the guard started arrives in the catch-up.
	f.push(guard.FeedEntry{Kind: guard.RevokeToken, Value: "old", ExpiresAt: testNow.Add(time.Hour)})
	c := newClock(testNow)
	g := mustRemote(t, f, c, nil)

	old := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, func(m map[string]any) { m["jti"] = "old" }))
	if got := status(t, g, bearerRequest(old)); got != http.StatusUnauthorized {
		t.Errorf("token revoked before start: status %d, want 401", got)
	}
	tests := []struct {
		name  string
		entry guard.FeedEntry
		edit  func(map[string]any)
	}{
		{"jti", guard.FeedEntry{Kind: guard.RevokeToken, Value: "fam.t1"}, func(m map[string]any) { m["jti"] = "fam.t1" }},
		{"family", guard.FeedEntry{Kind: guard.RevokeFamily, Value: "fam2"}, func(m map[string]any) { m["jti"] = "fam2.t9" }},
		{"user", guard.FeedEntry{Kind: guard.RevokeUser, Value: "u-logout", At: testNow}, func(m map[string]any) { m["sub"] = "u-logout" }},
		{"client", guard.FeedEntry{Kind: guard.RevokeClient, Value: "c-gone", At: testNow}, func(m map[string]any) { m["client_id"] = "c-gone" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, tc.edit))
			if got := status(t, g, bearerRequest(tok)); got != http.StatusOK {
				t.Fatalf("before revocation: status %d, want 200", got)
			}
			tc.entry.ExpiresAt = testNow.Add(time.Hour)
			f.push(tc.entry)
			eventually(t, "the revoked token is refused", func() bool {
				return status(t, g, bearerRequest(tok)) == http.StatusUnauthorized
			})
		})
	}
	if st := g.Status(); !st.Connected || !st.Synced || st.Stale || st.Cursor != int64(len(tests)+1) {
		t.Errorf("Status() = %+v, want connected, synced, fresh, cursor %d", st, len(tests)+1)
	}

	// A dropped stream resumes from the last id seen, without a gap.
	f.killStreams()
	f.push(guard.FeedEntry{Kind: guard.RevokeToken, Value: "after-reconnect", ExpiresAt: testNow.Add(time.Hour)})
	tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, func(m map[string]any) { m["jti"] = "after-reconnect" }))
	eventually(t, "the entry sent while reconnecting is applied", func() bool {
		return status(t, g, bearerRequest(tok)) == http.StatusUnauthorized
	})
	f.mu.Lock()
	resumes := append([]string(nil), f.resumes...)
	f.mu.Unlock()
	if len(resumes) < 2 || resumes[0] != "" || resumes[1] != strconv.Itoa(len(tests)+1) {
		t.Errorf("Last-Event-ID of the feed requests = %q, want [\"\" %q ...]", resumes, strconv.Itoa(len(tests)+1))
	}
}

func TestRemoteStaleFailsSafe(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	c := newClock(testNow)
	var statuses atomic.Int32
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) {
		cfg.MaxStale = 30 * time.Second
		cfg.OnStatus = func(guard.RemoteStatus) { statuses.Add(1) }
	})
	tok := mustSign(t, key, jose.ES256, headers("k1"), remoteClaims(f, nil))

	f.setFeedDown(true)
	f.killStreams()
	eventually(t, "the guard sees the stream is gone", func() bool { return !g.Status().Connected })
	c.Advance(29 * time.Second)
	if got := status(t, g, bearerRequest(tok)); got != http.StatusOK {
		t.Fatalf("within MaxStale: status %d, want 200", got)
	}
	c.Advance(2 * time.Second)
	w := httptest.NewRecorder()
	g.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, bearerRequest(tok))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("beyond MaxStale: status %d, want 503", w.Code)
	}
	var body errorBody
	_ = json.NewDecoder(w.Body).Decode(&body)
	if body.Error != guard.CodeUnavailable {
		t.Errorf("beyond MaxStale: error %q, want %q", body.Error, guard.CodeUnavailable)
	}
	_, err := g.Authenticate(bearerRequest(tok))
	var se *guard.StaleError
	if !errors.As(err, &se) {
		t.Errorf("Authenticate() error = %v, want a *guard.StaleError", err)
	}
	if !g.Status().Stale {
		t.Error("Status().Stale = false beyond MaxStale")
	}
	// The feed returns: the guard reconnects, resumes and serves again.
	f.setFeedDown(false)
	eventually(t, "the guard recovers", func() bool { return status(t, g, bearerRequest(tok)) == http.StatusOK })
	if statuses.Load() == 0 {
		t.Error("OnStatus was never called")
	}
}

func TestRemoteJWKSRefetch(t *testing.T) {
	f := newFakeIssuer(t)
	k1, k2 := mustECKey(t), mustECKey(t)
	f.publish("k1", &k1.PublicKey)
	c := newClock(testNow)
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) { cfg.JWKSMinInterval, cfg.MaxStale = time.Minute, time.Hour })
	fetches, _ := f.counts()

	// A new key: an unknown kid refetches once.
	f.publish("k2", &k2.PublicKey)
	c.Advance(2 * time.Minute)
	tok2 := mustSign(t, k2, jose.ES256, headers("k2"), remoteClaims(f, nil))
	if got := status(t, g, bearerRequest(tok2)); got != http.StatusOK {
		t.Fatalf("token of a newly published key: status %d, want 200", got)
	}
	// Made-up kids within the minimum interval do not refetch.
	for i := range 20 {
		bad := mustSign(t, k2, jose.ES256, headers(fmt.Sprintf("nope%d", i)), remoteClaims(f, nil))
		if got := status(t, g, bearerRequest(bad)); got != http.StatusUnauthorized {
			t.Fatalf("unknown kid: status %d, want 401", got)
		}
	}
	if got, _ := f.counts(); got != fetches+1 {
		t.Errorf("JWKS fetches = %d, want %d (one refetch for k2, none for made-up kids)", got, fetches+1)
	}
	// A "keys" notice on the feed refetches at once, whatever the interval.
	f.push(guard.FeedEntry{Kind: guard.RevokeEvent, Value: "keys", ExpiresAt: testNow.Add(time.Hour)})
	eventually(t, "the keys notice refetches the JWKS", func() bool { n, _ := f.counts(); return n == fetches+2 })
}

func TestRemoteIntrospection(t *testing.T) {
	f := newFakeIssuer(t)
	key := mustECKey(t)
	f.publish("k1", &key.PublicKey)
	good, bad := mustWellFormedKey(t, "gk_"), mustWellFormedKey(t, "gk_")
	f.active[good] = map[string]any{"active": true, "token_type": "api_key", "sub": "user-7", "username": "eve",
		"scope": "read", "key_id": "key-7", "iss": f.srv.URL}
	c := newClock(testNow)
	g := mustRemote(t, f, c, func(cfg *guard.RemoteConfig) {
		cfg.IntrospectionTTL, cfg.NegativeTTL = 10*time.Second, 2*time.Second
	})
	_, startCalls := f.counts() // NewRemote's probe

	p, err := g.Authenticate(apiKeyRequest(good))
	if err != nil || p.Subject != "user-7" || p.KeyID != "key-7" || p.Method != guard.MethodAPIKey || !p.HasScope("read") {
		t.Fatalf("Authenticate(good key) = %+v, %v", p, err)
	}
	for range 5 {
		if _, err := g.Authenticate(apiKeyRequest(good)); err != nil {
			t.Fatalf("cached good key: %v", err)
		}
		if _, err := g.Authenticate(apiKeyRequest(bad)); err == nil {
			t.Fatal("bad key accepted")
		}
	}
	if _, calls := f.counts(); calls-startCalls != 2 {
		t.Errorf("introspection calls = %d, want 2 (one positive, one negative, then cached)", calls-startCalls)
	}
	// The negative entry expires before the positive one.
	c.Advance(3 * time.Second)
	_, _ = g.Authenticate(apiKeyRequest(bad))
	_, _ = g.Authenticate(apiKeyRequest(good))
	if _, calls := f.counts(); calls-startCalls != 3 {
		t.Errorf("introspection calls after 3s = %d, want 3", calls-startCalls)
	}
	// A revocation on the feed refuses the cached key at once.
	f.push(guard.FeedEntry{Kind: guard.RevokeAPIKey, Value: "key-7", ExpiresAt: testNow.Add(time.Hour)})
	eventually(t, "the revoked key is refused", func() bool {
		_, err := g.Authenticate(apiKeyRequest(good))
		return err != nil
	})
}

func TestRemoteConfigErrors(t *testing.T) {
	_, err := guard.NewRemote(t.Context(), guard.RemoteConfig{})
	if err == nil {
		t.Fatal("NewRemote(zero config) error = nil")
	}
	f := newFakeIssuer(t)
	_, err = guard.NewRemote(t.Context(), guard.RemoteConfig{Issuer: f.srv.URL + "/other", ClientID: "rs", ClientSecret: "rs-secret"})
	if err == nil {
		t.Error("NewRemote(issuer without discovery) error = nil")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = guard.NewRemote(ctx, guard.RemoteConfig{Issuer: f.srv.URL, ClientID: "rs", ClientSecret: "wrong"})
	if err == nil {
		t.Error("NewRemote(wrong client secret) error = nil, want the feed to refuse")
	}
}

func TestTokenCacheChecksEveryRequest(t *testing.T) {
	fx := newFixture(t)
	c := newClock(testNow)
	rev := &toggleRevoked{}
	g := fx.guard(t, func(cfg *guard.Config) {
		cfg.Now = c.Now
		cfg.Revocations = rev
		cfg.Enrich = func(_ context.Context, p *guard.Principal) error {
			p.Username = "enriched"
			p.Scopes = append(p.Scopes[:0], "mutated")
			return nil
		}
	})
	tok := mustSign(t, fx.ec, jose.ES256, headers("ec1"), claims())
	for i := range 3 {
		p, err := g.Authenticate(bearerRequest(tok))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !p.HasScope("mutated") || p.Username != "enriched" {
			t.Fatalf("request %d: Enrich did not run on the principal: %+v", i, p)
		}
		if v, err := g.VerifyAccessToken(t.Context(), tok); err != nil || !v.HasScope("read") || v.HasScope("mutated") {
			t.Fatalf("request %d: a cached principal was changed by Enrich: %+v, %v", i, v, err)
		}
	}
	rev.on.Store(true)
	if _, err := g.Authenticate(bearerRequest(tok)); err == nil {
		t.Fatal("a cached token was accepted after its revocation")
	}
	rev.on.Store(false)
	delete(fx.keys, "ec1")
	if _, err := g.Authenticate(bearerRequest(tok)); err == nil {
		t.Fatal("a cached token was accepted after its key left the key set")
	}
	fx.keys["ec1"] = pinnedKey{key: &fx.ec.PublicKey, alg: jose.ES256}
	c.Advance(16 * time.Minute)
	var te *guard.TokenExpiredError
	if _, err := g.Authenticate(bearerRequest(tok)); !errors.As(err, &te) {
		t.Fatalf("cached token after expiry: error = %v, want *TokenExpiredError", err)
	}
}

type toggleRevoked struct{ on atomic.Bool }

func (r *toggleRevoked) Revoked(*guard.Principal) bool { return r.on.Load() }
