package gatehouse_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// TestRememberedConsentNeedsAnAssuredClient: any program on the user's
// machine can listen on a loopback port or register a private-use URI
// scheme and start an authorization request with a native app's public
// client_id, so for a public client redirecting there a remembered consent
// does not skip the consent page (RFC 8252 §8.6). Where the client's
// identity is assured — an https redirect, or a confidential client, whose
// code is useless without its secret — it still does.
func TestRememberedConsentNeedsAnAssuredClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		const pw = "correct horse battery"
		mustCreateUser(t, s, "fred", pw, "read")
		grants := []string{"authorization_code"}
		for _, tc := range []struct {
			name, redirect string
			public, asks   bool
		}{
			{name: "public, loopback IPv4", redirect: "http://127.0.0.1:8765/cb", public: true, asks: true},
			{name: "public, loopback IPv6", redirect: "http://[::1]:8765/cb", public: true, asks: true},
			{name: "public, localhost", redirect: "http://localhost:8765/cb", public: true, asks: true},
			{name: "public, private-use scheme", redirect: "com.example.app:/cb", public: true, asks: true},
			{name: "public, https", redirect: "https://spa.example/cb", public: true},
			{name: "confidential, loopback", redirect: "http://127.0.0.1:8765/cb"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cc := mustClient(t, s, manage.NewClient{Name: "App " + tc.name, Public: tc.public, GrantTypes: grants,
					RedirectURIs: []string{tc.redirect}})
				conf := &oauth2.Config{ClientID: cc.ID, RedirectURL: tc.redirect, Scopes: []string{"read"},
					Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/authorize"}}
				pkce := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
				a := newAgent(t, s)

				// The first time: login, then consent.
				p := a.login(a.get(conf.AuthCodeURL("s1", pkce)), "fred", pw)
				if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
					t.Fatalf("after login = %d, want the consent page:\n%s", p.Status, p.Body)
				}
				wantCode(t, a.consent(p, "allow"), tc.redirect)

				// Logged in, consent remembered.
				p = a.get(conf.AuthCodeURL("s2", pkce))
				if tc.asks {
					if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
						t.Fatalf("second authorize = %d, want the consent page again:\n%s", p.Status, p.Body)
					}
					wantCode(t, a.consent(p, "allow"), tc.redirect)
					// prompt=none cannot skip it either.
					p = a.get(conf.AuthCodeURL("s3", pkce, oauth2.SetAuthURLParam("prompt", "none")))
					if q := redirectQuery(t, p, tc.redirect); q.Get("error") != oauth.ConsentRequired || q.Get("code") != "" {
						t.Errorf("prompt=none = %v, want error=consent_required and no code", q)
					}
					return
				}
				wantCode(t, p, tc.redirect)
			})
		}
	})
}

// redirectQuery checks that p redirects to redirect and returns the
// redirect's query.
func redirectQuery(t *testing.T, p *page, redirect string) url.Values {
	t.Helper()
	if p.Status != 302 && p.Status != 303 || p.Location == nil {
		t.Fatalf("response = %d, want a redirect to %s:\n%s", p.Status, redirect, p.Body)
	}
	loc := *p.Location
	q := loc.Query()
	loc.RawQuery = ""
	if loc.String() != redirect && strings.Replace(loc.String(), ":///", ":/", 1) != redirect {
		t.Fatalf("redirected to %s, want %s", p.Location, redirect)
	}
	return q
}

// wantCode checks that p redirects to redirect with a code.
func wantCode(t *testing.T, p *page, redirect string) {
	t.Helper()
	if q := redirectQuery(t, p, redirect); !strings.HasPrefix(q.Get("code"), "gac_") {
		t.Errorf("redirect query = %v, want a code", q)
	}
}
