package gatehouse_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestPublicClientBudget: a public client proves nothing by its client_id,
// so requests that name it spend its budget (--rate-limit-client or its
// own) only once they proved something — a valid refresh token, code and
// verifier, or password. Failed requests that proved nothing spend the
// caller's address's budget of failures (--rate-limit-token) instead, so
// junk from one address locks out neither the app's other users nor the
// address's own confidential clients (issue 13, item 6).
func TestPublicClientBudget(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t, func(c *gatehouse.Config) {
			c.TrustedProxies = []string{"127.0.0.1/32"}
			c.RateLimitToken = "5/h"
		})
		const pw = "correct horse battery"
		mustCreateUser(t, s, "dora", pw, "read")
		pub := mustClient(t, s, manage.NewClient{Name: "native app", Public: true,
			GrantTypes: []string{"password", "refresh_token"}, RateLimit: "4/h"})
		conf := mustClient(t, s, manage.NewClient{Name: "service", GrantTypes: []string{"client_credentials"}})
		from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
		post := func(t *testing.T, addr string, form url.Values, hdr http.Header) (*http.Response, []byte) {
			t.Helper()
			h := from(addr)
			for k, v := range hdr {
				h[k] = v
			}
			res, body := doForm(t, s.URL+"/oauth2/token", form, h)
			if res.StatusCode >= 500 {
				t.Fatalf("POST /oauth2/token = %d %s", res.StatusCode, body)
			}
			return res, body
		}
		const attacker, user, office = "203.0.113.7", "198.51.100.20", "2001:db8:1:2::5"
		junk := url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID},
			"refresh_token": {"grt_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}

		// A legitimate user of the app logs in (one event of its budget).
		res, body := post(t, user, url.Values{"grant_type": {"password"}, "client_id": {pub.ID},
			"username": {"dora"}, "password": {pw}}, nil)
		if res.StatusCode != 200 {
			t.Fatalf("login through the public client = %d %s", res.StatusCode, body)
		}
		rt := decode(t, body)["refresh_token"].(string)

		// Junk refresh tokens from one address: invalid_grant until the
		// address's failure budget is spent, then 429 before any lookup.
		for i := range 5 {
			res, body := post(t, attacker, junk, nil)
			if m := decode(t, body); res.StatusCode != 400 || m["error"] != "invalid_grant" {
				t.Fatalf("junk refresh %d = %d %s, want 400 invalid_grant", i+1, res.StatusCode, body)
			}
		}
		for range 10 {
			res, body = post(t, attacker, junk, nil)
		}
		want429(t, "junk refresh after the address's failures", res, body, "temporarily_unavailable")
		// The same /64 is the same address.
		res, body = post(t, "2001:db8:1:2::1", junk, nil)
		if res.StatusCode != 400 {
			t.Fatalf("junk from an office address = %d %s, want 400 (its own budget)", res.StatusCode, body)
		}
		for range 5 {
			res, body = post(t, office, junk, nil)
		}
		want429(t, "junk from another address of the same /64", res, body, "temporarily_unavailable")

		// The app's other user is not locked out: the junk spent none of
		// the client's budget.
		res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
		if res.StatusCode != 200 {
			t.Fatalf("legitimate refresh from another address after the junk = %d %s, want 200", res.StatusCode, body)
		}
		rt = decode(t, body)["refresh_token"].(string)

		// A confidential client proves itself with its secret: the
		// attacker's address's spent failures do not touch it.
		res, body = post(t, attacker, url.Values{"grant_type": {"client_credentials"}}, basicHeader(conf))
		if res.StatusCode != 200 {
			t.Errorf("client_credentials from the blocked address = %d %s, want 200", res.StatusCode, body)
		}

		// Proven requests still spend the client's budget (4/h: the login,
		// a refresh, two more; the fifth is refused).
		for i := range 2 {
			res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
			if res.StatusCode != 200 {
				t.Fatalf("refresh %d within the client's budget = %d %s", i+2, res.StatusCode, body)
			}
			rt = decode(t, body)["refresh_token"].(string)
		}
		res, body = post(t, user, url.Values{"grant_type": {"refresh_token"}, "client_id": {pub.ID}, "refresh_token": {rt}}, nil)
		want429(t, "refresh beyond the client's own limit", res, body, "temporarily_unavailable")

		// Failed client authentication spends the address's failures too
		// (a wrong secret, an unknown client).
		bad := manage.CreatedClient{Client: conf.Client, Secret: "gcs_wrong"}
		for i := range 5 {
			res, body = post(t, "192.0.2.30", url.Values{"grant_type": {"client_credentials"}}, basicHeader(bad))
			if res.StatusCode != 401 {
				t.Fatalf("wrong secret %d = %d %s, want 401", i+1, res.StatusCode, body)
			}
		}
		res, body = post(t, "192.0.2.30", url.Values{"grant_type": {"client_credentials"}, "client_id": {"nobody"},
			"client_secret": {"gcs_x"}}, nil)
		want429(t, "client authentication after the address's failures", res, body, "temporarily_unavailable")
		// … and the first-party client's junk likewise, per address.
		fp := url.Values{"grant_type": {"refresh_token"}, "refresh_token": junk["refresh_token"]}
		for range 6 {
			res, body = post(t, "192.0.2.40", fp, nil)
		}
		want429(t, "first-party junk after the address's failures", res, body, "temporarily_unavailable")
		if res, body = post(t, "192.0.2.41", url.Values{"grant_type": {"password"}, "username": {"dora"}, "password": {pw}}, nil); res.StatusCode != 200 {
			t.Errorf("first-party login from another address = %d %s, want 200", res.StatusCode, body)
		}
	})
}
