package gatehouse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
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
	s := newTestServer(t, func(c *gatehouse.Config) { c.LoginMaxFailures = 3 })
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

	alice := mustCreateUser(t, s, "alice", pw, "read", "write", "admin")
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
	evs, err := s.Store().ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(strings.Join([]string{e.Action, e.Actor, e.Target, e.IP, e.UserAgent, e.RequestID, e.Result, e.Reason}, " ") + "\n")
	}
	places["audit rows"] = b.String()
	places["database text columns"] = dumpText(t, s)
	if len(evs) < 10 || !strings.Contains(places["server log"], "msg=audit") {
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

// dumpText returns every text value of every table of the server's
// SQLite database.
func dumpText(t *testing.T, s *testServer) string {
	t.Helper()
	db := s.Store().(*sqlstore.DB).SQL()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
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
