package gatehouse_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// TestTokenAliasFastAPIForm: FastAPI's OAuth2PasswordRequestForm makes
// grant_type optional, so on the /token alias a request with username and
// password and no grant_type is the password grant; /oauth2/token stays
// strict (SPEC §3; issue 13, item 19).
func TestTokenAliasFastAPIForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		s := newServer(t)
		const pw = "correct horse battery"
		mustCreateUser(t, s, "erin", pw, "read")
		conf := mustClient(t, s, manage.NewClient{Name: "web", GrantTypes: []string{"password"}})
		post := func(t *testing.T, path string, form url.Values) (int, map[string]any) {
			t.Helper()
			res, body := doForm(t, s.URL+path, form, nil)
			if res.StatusCode >= 500 {
				t.Fatalf("POST %s = %d %s", path, res.StatusCode, body)
			}
			return res.StatusCode, decode(t, body)
		}
		creds := url.Values{"username": {"erin"}, "password": {pw}}

		// As the tutorial's form sends it: no grant_type (or an empty one).
		for _, form := range []url.Values{creds, withForm(creds, "grant_type", ""), withForm(creds, "scope", "read")} {
			st, m := post(t, "/token", form)
			if st != 200 || m["token_type"] != "Bearer" || m["scope"] != "read" {
				t.Errorf("POST /token %v = %d %v, want a password-grant token", form, st, m)
			}
		}
		// With client authentication too.
		st, m := post(t, "/token", withForm(creds, "client_id", conf.ID, "client_secret", conf.Secret))
		if st != 200 {
			t.Errorf("POST /token without grant_type, as a confidential client = %d %v", st, m)
		}
		// The password is still checked.
		st, m = post(t, "/token", url.Values{"username": {"erin"}, "password": {"wrong password"}})
		wantOAuthError(t, "POST /token without grant_type, wrong password", st, m, 400, "invalid_grant")

		// Neither a grant_type nor both credentials: still invalid_request.
		for _, form := range []url.Values{{}, {"username": {"erin"}}, {"password": {pw}}, {"scope": {"read"}}} {
			st, m := post(t, "/token", form)
			wantOAuthError(t, "POST /token "+form.Encode(), st, m, 400, "invalid_request")
		}
		// The standard endpoint stays strict.
		st, m = post(t, "/oauth2/token", creds)
		wantOAuthError(t, "POST /oauth2/token without grant_type", st, m, 400, "invalid_request")
		// An explicit grant_type is never second-guessed.
		st, m = post(t, "/token", withForm(creds, "grant_type", "client_credentials"))
		wantOAuthError(t, "POST /token grant_type=client_credentials by the first-party client", st, m, 401, "invalid_client")

		// With the password grant off, the alias has nothing to default to.
		off := newServer(t, func(c *gatehouse.Config) { c.DisablePasswordGrant = true })
		res, body := doForm(t, off.URL+"/token", creds, nil)
		if m := decode(t, body); res.StatusCode != 400 || m["error"] != "unsupported_grant_type" {
			t.Errorf("POST /token without grant_type, password grant off = %d %s, want unsupported_grant_type", res.StatusCode, body)
		}
	})
}

// withForm returns a copy of v with the key-value pairs added.
func withForm(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}
