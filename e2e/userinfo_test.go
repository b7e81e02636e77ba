package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The OIDC userinfo endpoint (GET and POST /oauth2/userinfo).

// TestUserInfo: the claims a token's scopes allow, with the token in the
// header or in a form; the errors of a token without openid, of none, of
// a bad one and of an API key.
func TestUserInfo(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t)
		alice := mustCreateUser(t, s, "alice", "correct horse battery", "openid", "profile", "read")
		call := func(method, tok string) (*http.Response, map[string]any) {
			req, _ := http.NewRequest(method, s.URL+"/oauth2/userinfo", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			res, body := do(t, req)
			return res, decode(t, body)
		}
		full := mustToken(t, s, "alice", "correct horse battery", "openid", "profile")["access_token"].(string)
		for _, method := range []string{"GET", "POST"} {
			res, m := call(method, full)
			if res.StatusCode != 200 || m["sub"] != alice.ID || m["preferred_username"] != "alice" || m["name"] != "alice" {
				t.Errorf("%s userinfo = %d %v", method, res.StatusCode, m)
			}
		}
		// Without profile, only sub.
		res, m := call("GET", mustToken(t, s, "alice", "correct horse battery", "openid")["access_token"].(string))
		if res.StatusCode != 200 || m["sub"] != alice.ID || len(m) != 1 {
			t.Errorf("userinfo (openid only) = %d %v, want only sub", res.StatusCode, m)
		}
		// Form-encoded access_token (RFC 6750 §2.2).
		res2, body := doForm(t, s.URL+"/oauth2/userinfo", url.Values{"access_token": {full}}, nil)
		if res2.StatusCode != 200 || decode(t, body)["sub"] != alice.ID {
			t.Errorf("POST userinfo with form token = %d %s", res2.StatusCode, body)
		}
		// Without openid: 403 insufficient_scope.
		res, m = call("GET", mustToken(t, s, "alice", "correct horse battery", "read")["access_token"].(string))
		if res.StatusCode != 403 || m["error"] != "insufficient_scope" ||
			!strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("userinfo without openid = %d %v %q", res.StatusCode, m, res.Header.Get("WWW-Authenticate"))
		}
		// No token: 401 with a bare Bearer challenge.
		res, _ = call("GET", "")
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != `Bearer realm="gatehouse"` {
			t.Errorf("userinfo without token = %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		// A bad token: 401 invalid_token.
		res, _ = call("GET", full[:len(full)-4]+"AAAA")
		if res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("userinfo with a tampered token = %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
		// An API key is not an access token.
		key := mustAPIKey(t, s, "alice")
		req, _ := http.NewRequest("GET", s.URL+"/oauth2/userinfo", nil)
		req.Header.Set("X-API-Key", key)
		if res, body := do(t, req); res.StatusCode != 401 {
			t.Errorf("userinfo with an API key = %d %s", res.StatusCode, body)
		}
	})
}
