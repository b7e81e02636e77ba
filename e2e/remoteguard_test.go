package e2e_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
)

// The remote guard (guard.NewRemote): a resource server that knows only
// the issuer URL and its own client credentials, against a real server.
// Remote guards among replicas have replicas_test.go.

// mustFollower creates a confidential client for a remote guard.
func mustFollower(t testing.TB, s *testServer) client {
	t.Helper()
	return mustClient(t, s, gatehouse.NewClient{Name: "resource-server", GrantTypes: []string{"client_credentials"}})
}

// mustRemoteGuard starts a remote guard that knows only the issuer URL.
func mustRemoteGuard(t testing.TB, issuer string, cc client, edit func(*guard.RemoteConfig)) *guard.Remote {
	t.Helper()
	cfg := guard.RemoteConfig{Issuer: issuer, ClientID: cc.ID, ClientSecret: cc.Secret}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	r, err := guard.NewRemote(ctx, cfg)
	if err != nil {
		t.Fatalf("NewRemote: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestRemoteGuardIntrospectsAPIKeys: a remote guard that knows only the
// issuer URL accepts a valid API key through /oauth2/introspect and
// refuses a revoked one.
func TestRemoteGuardIntrospectsAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "read")
		follower := mustFollower(t, s)
		remote := mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.IntrospectionTTL = time.Hour // revocation must not wait for the cache
		})
		id, key, err := s.CreateAPIKey(t.Context(), "alice", "svc", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := remote.Authenticate(apiKeyCred(key).request("http://resource.example/"))
		if err != nil {
			t.Fatalf("remote guard refused a valid API key: %v", err)
		}
		if p.Subject != alice.ID || p.Username != "alice" || p.KeyID != id || p.Method != guard.MethodAPIKey ||
			!slices.Equal(p.Scopes, []string{"read"}) {
			t.Errorf("remote principal = %+v", p)
		}
		if _, err := remote.Authenticate(apiKeyCred(mistype(key)).request("http://resource.example/")); err == nil {
			t.Error("remote guard accepted a mistyped API key")
		}
		if _, err := s.Admin().RevokeAPIKey(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the remote guard to refuse the revoked API key", func() bool {
			_, err := remote.Authenticate(apiKeyCred(key).request("http://resource.example/"))
			return err != nil
		})
		// A fresh remote guard (empty cache) asks introspection, which
		// says inactive.
		fresh := mustRemoteGuard(t, s.URL, follower, nil)
		if _, err := fresh.Authenticate(apiKeyCred(key).request("http://resource.example/")); err == nil {
			t.Error("a new remote guard accepted a revoked API key")
		}
	})
}

// TestRemoteGuardRefusedClient: NewRemote with a wrong client secret or an
// unknown client fails at once, naming the client and the endpoint (not
// the secret), instead of retrying the 401 until its deadline; a client
// deleted while a guard follows the feed is logged at error level.
func TestRemoteGuardRefusedClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		follower := mustFollower(t, s)
		for _, tc := range []struct{ name, id, secret string }{
			{"wrong secret", follower.ID, "not-the-secret-0123456789"},
			{"unknown client", "no-such-client", "not-the-secret-0123456789"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // against a hang only
				defer cancel()
				r, err := guard.NewRemote(ctx, guard.RemoteConfig{Issuer: s.URL, ClientID: tc.id, ClientSecret: tc.secret})
				if err == nil {
					r.Close()
					t.Fatal("NewRemote() error = nil")
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("NewRemote() error = %v: it waited for the deadline", err)
				}
				if msg := err.Error(); !strings.Contains(msg, `"`+tc.id+`"`) || !strings.Contains(msg, s.URL+"/oauth2/") ||
					strings.Contains(msg, tc.secret) {
					t.Errorf("NewRemote() error = %q, want the client id and the endpoint, not the secret", msg)
				}
			})
		}

		logs := &lockedWriter{}
		mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.Guard.Logger = slog.New(slog.NewTextHandler(logs, nil))
		})
		if err := s.Admin().DeleteClient(t.Context(), follower.ID); err != nil {
			t.Fatal(err)
		}
		s.CloseStreams() // the follower reconnects, as after a server restart
		waitFor(t, "the refused feed logged at error level with the client id", func() bool {
			return strings.Contains(logs.String(), "level=ERROR") && strings.Contains(logs.String(), follower.ID)
		})
		if strings.Contains(logs.String(), follower.Secret) {
			t.Error("the log holds the client secret")
		}
	})
}

// TestRemoteGuardTakesOnlyAPIKeysAsAPIKeys: an access token or a refresh
// token that /oauth2/introspect calls active is still no API key, so a
// remote guard refuses it in X-API-Key (a revoked access token sent that
// way used to stay accepted for the introspection cache lifetime), and a
// mistyped key costs the server nothing.
func TestRemoteGuardTakesOnlyAPIKeysAsAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		// The remote guard's own client, so that introspection answers
		// for the refresh tokens issued to it too.
		rs := mustClient(t, s, gatehouse.NewClient{Name: "rs", GrantTypes: []string{"client_credentials", "password", "refresh_token"}})
		var calls atomic.Int64
		remote := mustRemoteGuard(t, s.URL, rs, func(c *guard.RemoteConfig) {
			c.IntrospectionTTL = time.Hour
			c.HTTPClient = &http.Client{Transport: countIntrospections(&calls, http.DefaultTransport)}
		})
		res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"},
			"password": {"correct horse battery"}, "scope": {"read offline_access"}}, basicHeader(rs))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("password grant = %d %s", res.StatusCode, body)
		}
		tok := decode(t, body)
		access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
		if got := introspect(t, s, rs, refresh); got["active"] != true {
			t.Fatalf("introspect(refresh token) = %v, want active (the test needs the server to vouch for it)", got)
		}
		for name, v := range map[string]string{"access token": access, "refresh token": refresh} {
			if p, err := remote.Authenticate(apiKeyCred(v).request("http://resource.example/")); err == nil {
				t.Errorf("remote guard took the %s as an API key: %+v", name, p)
			}
		}
		key := mustAPIKey(t, s, "alice", "read")
		if p, err := remote.Authenticate(apiKeyCred(key).request("http://resource.example/")); err != nil || p.Method != guard.MethodAPIKey {
			t.Fatalf("remote guard refused a real API key: %+v, %v", p, err)
		}
		before := calls.Load()
		for _, bad := range []string{mistype(key), key[:len(key)-1], "gk_"} {
			if _, err := remote.Authenticate(apiKeyCred(bad).request("http://resource.example/")); err == nil {
				t.Errorf("remote guard accepted the malformed key %q", bad)
			}
		}
		if n := calls.Load() - before; n != 0 {
			t.Errorf("malformed keys cost %d introspection calls, want 0", n)
		}
	})
}

// countIntrospections is a transport that counts the requests to
// /oauth2/introspect that pass through it.
func countIntrospections(n *atomic.Int64, next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/introspect") {
			n.Add(1)
		}
		return next.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRemoteGuardSamePrincipal: a handler behind a remote guard sees the
// principal it would see behind the embedded guard — the username of a
// user's access token too (learned by introspecting the token once), and
// none for a client's own token, which costs no call.
func TestRemoteGuardSamePrincipal(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		follower := mustFollower(t, s)
		var calls atomic.Int64
		remote := mustRemoteGuard(t, s.URL, follower, func(c *guard.RemoteConfig) {
			c.HTTPClient = &http.Client{Transport: countIntrospections(&calls, http.DefaultTransport)}
		})
		user := mustToken(t, s, "alice", "correct horse battery")["access_token"].(string)
		tests := []struct {
			name      string
			token     string
			wantUser  string
			wantCalls int64 // the first request; the others are answered from the cache
		}{
			{"user token", user, "alice", 1},
			{"client credentials token", clientToken(t, s, follower), "", 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				embedded, err := s.Guard().Authenticate(bearerCred(tc.token).request(s.URL + "/users/me"))
				if err != nil {
					t.Fatalf("embedded guard: %v", err)
				}
				before := calls.Load()
				for i := range 3 {
					p, err := remote.Authenticate(bearerCred(tc.token).request("http://resource.example/"))
					if err != nil {
						t.Fatalf("remote guard, request %d: %v", i, err)
					}
					if diff := cmp.Diff(embedded, p); diff != "" || p.Username != tc.wantUser {
						t.Errorf("remote principal differs from the embedded one (-embedded +remote):\n%s", diff)
					}
				}
				if n := calls.Load() - before; n != tc.wantCalls {
					t.Errorf("introspection calls = %d, want %d", n, tc.wantCalls)
				}
			})
		}
	})
}
