package gatehouse_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenEndpoint posts arbitrary form bodies to the token endpoint and
// its /token alias: every answer is a JSON error or a token, never a 5xx or
// a panic.
func FuzzTokenEndpoint(f *testing.F) {
	s := newTestServer(f)
	mustCreateUser(f, s, "fuzz", "password-1", "read")
	for _, seed := range []string{
		"grant_type=password&username=fuzz&password=password-1",
		"grant_type=password&username=fuzz&password=password-1&scope=read",
		"grant_type=refresh_token&refresh_token=grt_aaaaaaaaaaaa_x",
		"grant_type=authorization_code&code=gac_x&redirect_uri=http://x&code_verifier=abc",
		"grant_type=client_credentials&client_id=gatehouse&client_secret=x",
		"grant_type=password&grant_type=password",
		"%zz&&==",
		"grant_type=password&username=%ff&password=%00",
		"username=fuzz&password=password-1",
		"grant_type=&username=fuzz&password=password-1&scope=read",
	} {
		f.Add(seed, "application/x-www-form-urlencoded", false)
		f.Add(seed, "application/x-www-form-urlencoded", true)
	}
	f.Add("{}", "application/json", false)
	f.Fuzz(func(t *testing.T, body, ctype string, alias bool) {
		path := "/oauth2/token"
		if alias {
			path = "/token"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		s.Server.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("POST %s %q (%s) = %d %s", path, body, ctype, w.Code, w.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("POST %q = %d, body %q is not JSON", body, w.Code, w.Body)
		}
		if w.Code == 200 && m["access_token"] == nil || w.Code != 200 && m["error"] == nil {
			t.Fatalf("POST %q = %d %v", body, w.Code, m)
		}
	})
}
