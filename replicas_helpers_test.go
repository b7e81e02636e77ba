package gatehouse_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// cluster is n gatehouse replicas on one database, sharing issuer and
// master secret, each behind its own httptest server.
type cluster struct {
	nodes  []*testServer
	issuer string
}

func newCluster(t *testing.T, dbURL string, n int, opts ...func(*gatehouse.Config)) *cluster {
	t.Helper()
	c := &cluster{}
	for i := range n {
		o := append([]func(*gatehouse.Config){func(cfg *gatehouse.Config) {
			cfg.DatabaseURL = dbURL
			if i > 0 {
				cfg.Issuer = c.issuer
			}
		}}, opts...)
		s := newTestServer(t, o...)
		if i == 0 {
			c.issuer = s.URL
		}
		c.nodes = append(c.nodes, s)
	}
	return c
}

// mustFollower creates a confidential client for a remote guard.
func mustFollower(t testing.TB, s *testServer) manage.CreatedClient {
	t.Helper()
	cc, err := s.Manager().CreateClient(t.Context(), manage.CLI(), manage.NewClient{
		Name: "resource-server", GrantTypes: []string{"client_credentials"},
	})
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return cc
}

// mustRemoteGuard starts a remote guard that knows only the issuer URL.
func mustRemoteGuard(t testing.TB, issuer string, cc manage.CreatedClient, edit func(*guard.RemoteConfig)) *guard.Remote {
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

// credential is how a request authenticates.
type credential struct {
	header, value string
}

func bearerCred(tok string) credential { return credential{"Authorization", "Bearer " + tok} }
func apiKeyCred(key string) credential { return credential{"X-API-Key", key} }

func (c credential) request(u string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, u, nil)
	r.Header.Set(c.header, c.value)
	return r
}

// status returns the status of GET /users/me on s with cred.
func meStatus(t testing.TB, s *testServer, cred credential) int {
	t.Helper()
	res, _ := do(t, cred.request(s.URL+"/users/me"))
	return res.StatusCode
}

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

// waitRefused polls until no replica and no remote guard accepts cred.
func waitRefused(t *testing.T, c *cluster, remote *guard.Remote, cred credential) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		still := acceptedBy(t, c, remote, cred)
		if len(still) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("credential still accepted by %v", still)
		}
		time.Sleep(5 * time.Millisecond)
	}
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

// clientToken gets a client-credentials token.
func clientToken(t testing.TB, s *testServer, cc manage.CreatedClient) string {
	t.Helper()
	res, body := doForm(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}},
		http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("client credentials token: %d %s", res.StatusCode, body)
	}
	return decode(t, body)["access_token"].(string)
}

func basic(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// introspectionWorks reports whether the server answers RFC 7662
// introspection (built by another part of the project).
func introspectionWorks(t testing.TB, s *testServer, cc manage.CreatedClient) bool {
	t.Helper()
	res, _ := doForm(t, s.URL+"/oauth2/introspect", url.Values{"token": {"gk_nothing"}},
		http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}})
	return res.StatusCode == http.StatusOK
}
