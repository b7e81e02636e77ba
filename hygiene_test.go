package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestSecretsHygiene drives the endpoints with known passwords, API keys,
// client secrets and tokens, capturing the server log, then searches the
// log, every audit row, every text column of the database and every error
// body: no secret may appear anywhere.
//
// To cover a new endpoint, add a step to steps; each step gets the
// secrets minted so far and may add its own with keep.
func TestSecretsHygiene(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
		testSecretsHygiene(t, newServer(t, func(c *gatehouse.Config) { c.LoginMaxFailures = 3 }))
	})
}

func testSecretsHygiene(t *testing.T, s *testServer) {
	ctx := context.Background()
	m := s.Manager()
	const (
		pw      = "Hygiene-Pa55word-alice"
		wrongPw = "Wrong-Pa55word-guess"
		bobPw   = "Hygiene-Pa55word-bob"
	)
	secrets := []string{pw, wrongPw, bobPw}
	keep := func(v string) string {
		if len(v) >= 8 {
			secrets = append(secrets, v)
		}
		return v
	}
	var errorBodies []string
	call := func(req *http.Request) (int, map[string]any) {
		res, body := do(t, req)
		if res.StatusCode >= 400 {
			errorBodies = append(errorBodies, string(body))
		}
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		return res.StatusCode, v
	}
	form := func(path string, f url.Values, hdr http.Header) (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header[k] = v
		}
		return call(req)
	}
	getWith := func(path, header, value string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set(header, value)
		return call(req)
	}
	str := func(v map[string]any, k string) string { x, _ := v[k].(string); return x }

	alice := mustCreateUser(t, s, "alice", pw, "read", "write", "admin", "openid", "offline_access")
	if _, err := m.CreateUser(ctx, manage.CLI(), manage.NewUser{Username: "bob", Password: bobPw, Scopes: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	var access, refresh, apiKey string
	cc, err := m.CreateClient(ctx, manage.CLI(), manage.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	keep(cc.Secret)

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"password grant", func(t *testing.T) {
			_, v := form("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {pw}}, nil)
			access, refresh = keep(str(v, "access_token")), keep(str(v, "refresh_token"))
			if access == "" || refresh == "" {
				t.Fatalf("no tokens: %v", v)
			}
		}},
		{"wrong passwords until locked", func(t *testing.T) {
			for range 5 {
				form("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {wrongPw}}, nil)
			}
			form("/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {bobPw}}, nil)
		}},
		{"password in the username field", func(t *testing.T) {
			form("/token", url.Values{"grant_type": {"password"}, "username": {wrongPw}, "password": {wrongPw}}, nil)
		}},
		{"refresh", func(t *testing.T) {
			_, v := form("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil)
			keep(str(v, "access_token"))
			refresh = keep(str(v, "refresh_token"))
			form("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh + "x"}}, nil)
		}},
		{"client credentials, right and wrong secret", func(t *testing.T) {
			_, v := form("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}})
			keep(str(v, "access_token"))
			form("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret+"x")}})
		}},
		{"self-service API key", func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL+"/api-keys", strings.NewReader(`{"name":"k","rate_limit":"10/s"}`))
			req.Header.Set("Authorization", "Bearer "+access)
			req.Header.Set("Content-Type", "application/json")
			_, v := call(req)
			apiKey = keep(str(v, "key"))
			if apiKey == "" {
				t.Fatalf("no key: %v", v)
			}
		}},
		{"resource requests with good and bad credentials", func(t *testing.T) {
			getWith("/users/me", "X-API-Key", apiKey)
			getWith("/users/me", "X-API-Key", apiKey[:len(apiKey)-2]+"zz")
			getWith("/users/me", "Authorization", "Bearer "+access)
			getWith("/users/me", "Authorization", "Bearer "+access+"x")
			getWith("/admin/users", "Authorization", "Bearer "+access)
		}},
		{"introspect and revoke", func(t *testing.T) {
			h := http.Header{"Authorization": {"Basic " + basic(cc.ID, cc.Secret)}}
			form("/oauth2/introspect", url.Values{"token": {access}}, h)
			form("/oauth2/introspect", url.Values{"token": {apiKey}}, h)
			form("/oauth2/revoke", url.Values{"token": {refresh}}, h)
			form("/oauth2/revoke", url.Values{"token": {access}}, h)
		}},
		{"authorization code flow: login form with wrong and right password, consent, exchange", func(t *testing.T) {
			app := mustClient(t, s, manage.NewClient{Name: "Web App", Public: true,
				GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
			verifier := oauth2.GenerateVerifier()
			authURL := s.URL + "/oauth2/authorize?" + url.Values{
				"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
				"scope": {"openid read offline_access"}, "state": {"st"}, "nonce": {"n"},
				"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
			}.Encode()
			keep(verifier)
			a := newAgent(t, s)
			wrong := a.login(a.get(authURL), "alice", wrongPw)
			errorBodies = append(errorBodies, wrong.Body)
			code := keep(callbackCode(t, s, a.authorize(authURL, "alice", pw), "http://127.0.0.1:9/cb", "st"))
			su, _ := url.Parse(s.URL)
			for _, c := range a.client.Jar.Cookies(su) {
				keep(c.Value)
			}
			_, v := form("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {"http://127.0.0.1:9/cb"}, "client_id": {app.ID}, "code_verifier": {verifier}}, nil)
			if keep(str(v, "access_token")) == "" || keep(str(v, "refresh_token")) == "" || keep(str(v, "id_token")) == "" {
				t.Fatalf("code exchange: %v", v)
			}
			// The code again (replay) and a wrong verifier.
			form("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {"http://127.0.0.1:9/cb"}, "client_id": {app.ID}, "code_verifier": {verifier}}, nil)
			getWith("/oauth2/userinfo", "Authorization", "Bearer "+str(v, "access_token"))
		}},
		{"manager operations", func(t *testing.T) {
			k, err := m.CreateAPIKey(ctx, manage.CLI(), manage.NewAPIKey{Owner: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			keep(k.Secret)
			r, err := m.RotateAPIKey(ctx, manage.CLI(), k.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			keep(r.Secret)
			c, err := m.RotateClientSecret(ctx, manage.CLI(), cc.ID)
			if err != nil {
				t.Fatal(err)
			}
			keep(c.Secret)
			if _, err := m.SetPassword(ctx, manage.CLI(), "alice", pw+"-new"); err != nil {
				t.Fatal(err)
			}
			keep(pw + "-new")
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.do)
	}
	if err := gatehouse.FlushUsage(ctx, s.Server); err != nil {
		t.Fatal(err)
	}
	_ = alice

	// Where to look.
	places := map[string]string{"server log": s.Logs.String(), "error bodies": strings.Join(errorBodies, "\n")}
	evs, rows := auditText(t, s)
	places["audit rows"] = rows
	places["database text columns"] = dumpText(t, s)
	if len(evs) < 10 || !strings.Contains(places["server log"], "msg=audit") || !strings.Contains(places["database text columns"], "Web App") {
		t.Fatalf("too little was recorded to check (%d audit rows)", len(evs))
	}
	for where, text := range places {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s contains the secret %.12s…", where, sec)
			}
		}
	}
}

// auditText returns the server's audit events and their text fields, an
// event a line.
func auditText(t *testing.T, s *testServer) ([]store.AuditEvent, string) {
	t.Helper()
	evs, err := s.Store().ListAudit(t.Context(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(strings.Join([]string{e.Action, e.Actor, e.Target, e.IP, e.UserAgent, e.RequestID, e.Result, e.Reason}, " ") + "\n")
	}
	return evs, b.String()
}

// dumpText returns every text value of every table of the server's
// database (SQLite or PostgreSQL).
func dumpText(t *testing.T, s *testServer) string {
	t.Helper()
	db := s.Store().(*sqlstore.DB).SQL()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if strings.HasPrefix(s.Config().DatabaseURL, "postgres") {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := db.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch x := v.(type) {
				case string:
					b.WriteString(x + "\n")
				case []byte:
					b.Write(x)
					b.WriteString("\n")
				}
			}
		}
		rows.Close()
	}
	return b.String()
}
