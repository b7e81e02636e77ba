package gatehouse_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestRemoteGuardTakesOnlyAPIKeysAsAPIKeys: an access token or a refresh
// token that /oauth2/introspect calls active is still no API key, so a
// remote guard refuses it in X-API-Key (a revoked access token sent that
// way used to stay accepted for the introspection cache lifetime), and a
// mistyped key costs the server nothing (issue 13 item 1).
func TestRemoteGuardTakesOnlyAPIKeysAsAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		mustCreateUser(t, s, "alice", "correct horse battery", "read")
		// The remote guard's own client, so that introspection answers
		// for the refresh tokens issued to it too.
		rs := mustClient(t, s, manage.NewClient{Name: "rs", GrantTypes: []string{"client_credentials", "password", "refresh_token"}})
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
