package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Secrets hygiene: no password, key, secret or token the server handles
// reaches its log, its audit rows, its database in plain text or an error
// body; and request data cannot forge a log record.

// TestSecretsHygiene drives the endpoints with known passwords, API keys,
// client secrets and tokens, capturing the server log, then searches the
// log, every audit row, every text column of the database and every error
// body: no secret may appear anywhere.
//
// To cover a new endpoint, add a step to steps; each step gets the
// secrets minted so far and may add its own with keep.
func TestSecretsHygiene(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		testSecretsHygiene(t, newServer(t, func(c *gatehouse.Config) { c.LoginMaxFailures = 3 }))
	})
}

func testSecretsHygiene(t *testing.T, s *testServer) {
	ctx := context.Background()
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
	mustCreateUser(t, s, "bob", bobPw, "read")
	var access, refresh, apiKey string
	cc := mustClient(t, s, gatehouse.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
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
			app := mustClient(t, s, gatehouse.NewClient{Name: "Web App", Public: true,
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
		{"CLI operations", func(t *testing.T) {
			m := mustCLI(t, s)
			k, err := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			keep(k.Secret)
			r, err := m.RotateAPIKey(ctx, audit.CLI(), k.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			keep(r.Secret)
			c, err := m.RotateClientSecret(ctx, audit.CLI(), cc.ID)
			if err != nil {
				t.Fatal(err)
			}
			keep(c.Secret)
			if _, err := m.SetPassword(ctx, audit.CLI(), "alice", pw+"-new"); err != nil {
				t.Fatal(err)
			}
			keep(pw + "-new")
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.do)
	}
	s.close() // writes the API-key usage it still holds
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
	evs, err := s.DB.ListAudit(t.Context(), store.AuditFilter{})
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
	db := s.DB.SQL()
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

// TestSecretsHygieneEveryParameter pastes every kind of secret into every
// parameter of every route the server documents in /openapi.json (path,
// query, header and body fields, the credential headers and the login
// cookies), one at a time, and then searches the server log (debug level),
// the audit rows, the error bodies and the database for them.
//
// The rule it checks: a secret reaches none of those places, whatever field
// it was pasted into, in any letter case. The server cannot recognise a
// password or the master secret, so these are not pasted where a value is
// kept as data by design (a username, a name, a scope, a redirect URI, the
// User-Agent and X-Request-Id headers that audit rows record as sent), and
// an error about a field that names what was sent (an id in a path that
// was not found, a username, a scope) may repeat them to the sender. A
// secret the server can recognise (an API key, a client secret, a refresh
// token, an authorization code, a JWT) is never stored, logged or
// repeated, wherever it was pasted.
func TestSecretsHygieneEveryParameter(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		var master [32]byte
		_, _ = rand.Read(master[:])
		s := newServer(t, func(c *gatehouse.Config) {
			c.Secret = master[:]
			// Every request must reach its handler: no limit may answer
			// in its place.
			c.RateLimitIP, c.RateLimitUser, c.RateLimitAPIKey = "unlimited", "unlimited", "unlimited"
			c.RateLimitClient, c.RateLimitToken, c.LoginIPLimit = "unlimited", "unlimited", "unlimited"
			c.LoginMaxFailures = 2 // pasted usernames get locked, so login.locked is exercised too
		})
		testPasteSecrets(t, s, hex.EncodeToString(master[:]))
	})
}

// pasteSecret is one kind of secret and whether the server can recognise
// its shape.
type pasteSecret struct {
	kind, value string
	shaped      bool
}

func testPasteSecrets(t *testing.T, s *testServer, masterHex string) {
	ctx := context.Background()
	const (
		alicePw = "Paste-Victim-Passw0rd"
		rootPw  = "Paste-Root-Passw0rd-1"
		bobPw   = "Paste-Bob-Passw0rd-22"
	)
	mustCreateUser(t, s, "alice", alicePw, "read", "write", "openid", "offline_access", "profile")
	if _, err := s.CreateUser(ctx, "root", rootPw, []string{"read"}, true); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, s, "bob", bobPw, "read")
	rootKey := mustAPIKey(t, s, "root", "admin", "read")

	// The victims: one secret of each kind, all alice's.
	cc := mustClient(t, s, gatehouse.NewClient{Name: "svc",
		GrantTypes:   []string{"client_credentials", "password", "refresh_token", "authorization_code"},
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"read", "openid", "offline_access"}})
	tok := mustToken(t, s, "alice", alicePw, "read", "offline_access")
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	aliceKey := mustAPIKey(t, s, "alice", "read")
	app := mustClient(t, s, gatehouse.NewClient{Name: "Web App", Public: true,
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
	verifier := oauth2.GenerateVerifier()
	authQuery := url.Values{
		"response_type": {"code"}, "client_id": {app.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"scope": {"openid read"}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	authURL := s.URL + "/oauth2/authorize?" + authQuery.Encode()
	a := newAgent(t, s)
	code := callbackCode(t, s, a.authorize(authURL, "alice", alicePw), "http://127.0.0.1:9/cb", "st")
	su, _ := url.Parse(s.URL)
	var session string
	for _, c := range a.client.Jar.Cookies(su) {
		if c.Name == "gatehouse_session" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no login-session cookie after the authorization flow")
	}
	secrets := []pasteSecret{
		{"password", alicePw, false},
		{"master secret", masterHex, false},
		{"API key", aliceKey, true},
		{"client secret", cc.Secret, true},
		{"refresh token", refresh, true},
		{"access token", access, true},
		{"authorization code", code, true},
		{"login-session cookie", session, false},
	}

	ops := documentedOperations(t, s)
	if len(ops) < 40 {
		t.Fatalf("the served OpenAPI document lists only %d operations", len(ops))
	}
	var (
		errorBodies = map[string][]string{} // by where the secret was pasted
		requests    int
	)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, op := range ops {
		for _, sl := range op.slots() {
			for _, sec := range secrets {
				if sl.stored() && !sec.shaped {
					continue
				}
				req := op.request(t, s, sl, sec.value, pasteBase{
					rootKey: rootKey, clientID: cc.ID, clientSecret: cc.Secret, appID: app.ID,
					authQuery: authQuery, verifier: verifier,
				})
				res, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s with the %s in %s: %v", op, sec.kind, sl, err)
				}
				body := readAll(res)
				requests++
				if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("%s with the %s in %s: %d %s", op, sec.kind, sl, res.StatusCode, body)
				}
				where := op.String() + " " + sl.String()
				if res.StatusCode >= 400 && (sec.shaped || !sl.echoes()) {
					errorBodies[where] = append(errorBodies[where], body)
				}
			}
		}
	}
	t.Logf("%d requests: %d operations, %d secrets", requests, len(ops), len(secrets))
	s.close() // writes the API-key usage it still holds

	evs, auditRows := auditText(t, s)
	logs := s.Logs.String()
	if len(evs) < 50 || !strings.Contains(logs, "http request") || !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("too little was recorded to check (%d audit rows, %d bytes of log)", len(evs), len(logs))
	}
	db := dumpText(t, s)
	if path, ok := strings.CutPrefix(s.Config().DatabaseURL, "sqlite:"); ok {
		files, _ := filepath.Glob(path + "*")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			db += string(b)
		}
	}
	logs, auditRows, db = strings.ToLower(logs), strings.ToLower(auditRows), strings.ToLower(db)
	for _, sec := range secrets {
		needle := strings.ToLower(secretCore(sec.value))
		if strings.Contains(logs, needle) {
			t.Errorf("the server log holds the %s:\n%s", sec.kind, linesWith(logs, needle))
		}
		if strings.Contains(auditRows, needle) {
			t.Errorf("the audit rows hold the %s:\n%s", sec.kind, linesWith(auditRows, needle))
		}
		if strings.Contains(db, needle) {
			t.Errorf("the database holds the %s in plain text", sec.kind)
		}
		for where, bodies := range errorBodies {
			for _, b := range bodies {
				if strings.Contains(strings.ToLower(b), needle) {
					t.Errorf("an error body of %s holds the %s: %.300s", where, sec.kind, b)
					break
				}
			}
		}
	}
}

// secretCore returns the part of a secret to search for: all of a short
// one, the middle of a long one (so that a truncated copy is found too).
func secretCore(v string) string {
	if len(v) <= 24 {
		return v
	}
	mid := len(v) / 2
	return v[mid-10 : mid+10]
}

func linesWith(text, needle string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, needle) {
			out = append(out, strings.TrimSpace(line))
			if len(out) == 5 {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// readAll reads a response body; of an event stream (the revocation
// feed, which never ends) it reads nothing.
func readAll(res *http.Response) string {
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return ""
	}
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// docOperation is one operation of the OpenAPI document, with what a
// request to it can carry.
type docOperation struct {
	method, path string
	pathParams   []string
	query        []string
	headers      []string
	security     map[string]bool // oauth2, bearerJWT, apiKey, clientBasic
	bodyType     string          // "", "form", "json"
	fields       map[string]string
}

func (op docOperation) String() string { return op.method + " " + op.path }

// pathWith returns op's path with v for every path parameter.
func (op docOperation) pathWith(v string) string {
	path := op.path
	for _, p := range op.pathParams {
		path = strings.ReplaceAll(path, "{"+p+"}", v)
	}
	return path
}

// pasteSlot is one place a secret can be pasted into.
type pasteSlot struct{ in, name string }

func (sl pasteSlot) String() string { return sl.in + " " + sl.name }

// stored reports whether the field's value is kept as data by design: the
// User-Agent and X-Request-Id go into audit rows and logs as sent.
func (sl pasteSlot) stored() bool {
	switch sl.in + ":" + sl.name {
	case "json:name", "json:username", "json:scopes", "json:redirect_uris", "header:User-Agent", "header:X-Request-Id":
		return true
	}
	return false
}

// echoes reports whether an error about the field may name the value:
// an id or name that was not found, a value kept as data.
func (sl pasteSlot) echoes() bool {
	if sl.stored() || sl.in == "path" {
		return true
	}
	switch sl.name {
	case "username", "actor", "user", "scope", "redirect_uri", "client_id", "grant_type", "state", "nonce",
		"response_type", "code_challenge", "code_challenge_method", "prompt", "max_age", "after", "limit",
		"since", "until", "action", "result", "expires_in", "rate_limit", "grant_types", "token_type_hint", "step", "consent":
		return true
	}
	return false
}

// slots lists the places of op a secret can go.
func (op docOperation) slots() []pasteSlot {
	var out []pasteSlot
	for _, p := range op.pathParams {
		out = append(out, pasteSlot{"path", p})
	}
	for _, q := range op.query {
		out = append(out, pasteSlot{"query", q})
	}
	for _, h := range op.headers {
		out = append(out, pasteSlot{"header", h})
	}
	if op.security["oauth2"] || op.security["bearerJWT"] || op.security["apiKey"] {
		out = append(out, pasteSlot{"header", "Authorization: Bearer"}, pasteSlot{"header", "X-API-Key"})
	}
	if op.security["clientBasic"] {
		out = append(out, pasteSlot{"header", "Authorization: Basic (password)"}, pasteSlot{"header", "Authorization: Basic (user)"})
	}
	if strings.HasPrefix(op.path, "/oauth2/authorize") {
		out = append(out, pasteSlot{"cookie", "gatehouse_session"}, pasteSlot{"cookie", "gatehouse_csrf"})
	}
	for _, f := range slices.Sorted(mapKeys(op.fields)) {
		out = append(out, pasteSlot{op.bodyType, f})
	}
	// Every route gets a query parameter it does not know, and the
	// headers every request has, too.
	out = append(out, pasteSlot{"query", "unknown"}, pasteSlot{"header", "User-Agent"}, pasteSlot{"header", "X-Request-Id"})
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// pasteBase holds the plausible values that carry a request past the
// checks in front of the field under test.
type pasteBase struct {
	rootKey, clientID, clientSecret, appID string
	authQuery                              url.Values
	verifier                               string
}

// tokenGrantFor picks the grant that reads a token-endpoint field.
var tokenGrantFor = map[string]string{
	"username": "password", "password": "password", "refresh_token": "refresh_token",
	"code": "authorization_code", "redirect_uri": "authorization_code", "code_verifier": "authorization_code",
}

// request builds a request to op with secret in slot sl and plausible
// values everywhere else.
func (op docOperation) request(t *testing.T, s *testServer, sl pasteSlot, secret string, b pasteBase) *http.Request {
	t.Helper()
	path := op.path
	for _, p := range op.pathParams {
		v := map[string]string{"user": "bob", "id": "x", "kid": "x", "asset": "x"}[p]
		if sl.in == "path" && sl.name == p {
			v = secret
		}
		path = strings.ReplaceAll(path, "{"+p+"}", url.PathEscape(v))
	}
	q := url.Values{}
	if op.path == "/oauth2/authorize" && op.method == "GET" {
		for k, v := range b.authQuery {
			q[k] = v
		}
	}
	if sl.in == "query" {
		q.Set(sl.name, secret)
	}
	hdr := http.Header{}
	if op.security["oauth2"] || op.security["bearerJWT"] || op.security["apiKey"] {
		hdr.Set("X-API-Key", b.rootKey)
	}
	basicAuth := op.security["clientBasic"]
	var body string
	switch op.bodyType {
	case "form":
		f := url.Values{}
		switch op.path {
		case "/oauth2/token", "/token":
			grant := "client_credentials"
			if g, ok := tokenGrantFor[sl.name]; ok && sl.in == "form" {
				grant = g
			}
			f.Set("grant_type", grant)
			switch grant {
			case "password":
				f.Set("username", "alice")
				f.Set("password", "not-the-password")
			case "refresh_token":
				f.Set("refresh_token", "grt_x")
			case "authorization_code":
				f.Set("code", "gac_x")
				f.Set("redirect_uri", "http://127.0.0.1:9/cb")
				f.Set("code_verifier", b.verifier)
			}
		case "/oauth2/revoke", "/oauth2/introspect":
			f.Set("token", "x")
		case "/oauth2/authorize":
			// A fresh login form, so that the CSRF check passes.
			a := newAgent(t, s)
			p := a.get(s.URL + "/oauth2/authorize?" + b.authQuery.Encode())
			form := p.mustForm(t, "login-form")
			f = form.Fields
			f.Set("username", "alice")
			f.Set("password", "not-the-password")
			su, _ := url.Parse(s.URL)
			for _, c := range a.client.Jar.Cookies(su) {
				if !(sl.in == "cookie" && sl.name == c.Name) {
					hdr.Add("Cookie", c.Name+"="+c.Value)
				}
			}
		}
		if sl.in == "form" {
			f.Set(sl.name, secret)
			if sl.name == "client_id" || sl.name == "client_secret" {
				basicAuth = false
				if sl.name == "client_secret" {
					f.Set("client_id", b.clientID)
				}
			}
		}
		body = f.Encode()
		hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	case "json":
		v := map[string]any{}
		for name, typ := range op.fields {
			v[name] = map[string]any{"string": "plain", "array": []string{"read"}, "boolean": false}[typ]
		}
		switch op.path {
		case "/admin/users":
			v["username"] = "new-" + rand.Text()[:8]
			v["password"] = "A-Long-Enough-Passw0rd"
		case "/admin/users/{user}/password":
			v["password"] = "A-Long-Enough-Passw0rd"
		case "/admin/clients", "/admin/clients/{id}":
			v["grant_types"] = []string{"client_credentials"}
			v["redirect_uris"] = []string{}
			v["rate_limit"] = "10/s"
		case "/api-keys":
			v["expires_in"] = "1d"
			v["rate_limit"] = "10/s"
		}
		if sl.in == "json" {
			if op.fields[sl.name] == "array" {
				v[sl.name] = []string{secret}
			} else {
				v[sl.name] = secret
			}
		}
		raw, _ := json.Marshal(v)
		body = string(raw)
		hdr.Set("Content-Type", "application/json")
	}
	if basicAuth {
		hdr.Set("Authorization", "Basic "+basic(b.clientID, b.clientSecret))
	}
	switch {
	case sl.in == "header" && sl.name == "Authorization: Bearer":
		hdr.Del("X-API-Key")
		hdr.Set("Authorization", "Bearer "+secret)
	case sl.in == "header" && sl.name == "X-API-Key":
		hdr.Set("X-API-Key", secret)
	case sl.in == "header" && sl.name == "Authorization: Basic (password)":
		hdr.Set("Authorization", "Basic "+basic(b.clientID, secret))
	case sl.in == "header" && sl.name == "Authorization: Basic (user)":
		hdr.Set("Authorization", "Basic "+basic(secret, "x"))
	case sl.in == "header":
		hdr.Set(sl.name, secret)
	case sl.in == "cookie":
		hdr.Add("Cookie", sl.name+"="+secret)
	}
	u := s.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(op.method, u, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header = hdr
	return req
}

// httpMethods are the operation keys of an OpenAPI path item (the others
// are "parameters", "summary" and the like).
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// documentedOperations reads the server's /openapi.json into operations,
// resolving the parameters and request bodies it refers to.
func documentedOperations(t *testing.T, s *testServer) []docOperation {
	t.Helper()
	res, raw := get(t, s.URL+"/openapi.json", nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET /openapi.json = %d", res.StatusCode)
	}
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	type schema struct {
		Properties map[string]struct {
			Type string `json:"type"`
		} `json:"properties"`
	}
	type body struct {
		Ref     string                             `json:"$ref"`
		Content map[string]struct{ Schema schema } `json:"content"`
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters    map[string]param `json:"parameters"`
			RequestBodies map[string]body  `json:"requestBodies"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	resolve := func(p param) param {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			return doc.Components.Parameters[name]
		}
		return p
	}
	var ops []docOperation
	for path, item := range doc.Paths {
		var common []param
		if rawParams, ok := item["parameters"]; ok {
			_ = json.Unmarshal(rawParams, &common)
		}
		for method, rawOp := range item {
			method = strings.ToUpper(method)
			if !slices.Contains(httpMethods, method) {
				continue
			}
			var o struct {
				Parameters  []param               `json:"parameters"`
				Security    []map[string][]string `json:"security"`
				RequestBody *body                 `json:"requestBody"`
			}
			if err := json.Unmarshal(rawOp, &o); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			op := docOperation{method: method, path: path, security: map[string]bool{}, fields: map[string]string{}}
			for _, p := range append(append([]param(nil), common...), o.Parameters...) {
				p = resolve(p)
				switch p.In {
				case "path":
					op.pathParams = append(op.pathParams, p.Name)
				case "query":
					op.query = append(op.query, p.Name)
				case "header":
					op.headers = append(op.headers, p.Name)
				}
			}
			for _, sec := range o.Security {
				for name := range sec {
					op.security[name] = true
				}
			}
			if rb := o.RequestBody; rb != nil {
				if name, ok := strings.CutPrefix(rb.Ref, "#/components/requestBodies/"); ok {
					r := doc.Components.RequestBodies[name]
					rb = &r
				}
				for ct, c := range rb.Content {
					switch ct {
					case "application/x-www-form-urlencoded":
						op.bodyType = "form"
					case "application/json":
						op.bodyType = "json"
					default:
						t.Fatalf("%s %s: request body of type %s", method, path, ct)
					}
					for name, p := range c.Schema.Properties {
						op.fields[name] = p.Type
					}
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops
}

// TestLoginLockedRecordsNoTypedName types a password into the username
// field until the login is refused: the login.locked audit event names the
// account when there is one, and otherwise does not repeat what was typed
// (as login.failed does not), because that is where a mistyped password
// ends up.
func TestLoginLockedRecordsNoTypedName(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
		s := newServer(t, func(c *gatehouse.Config) { c.LoginMaxFailures = 2 })
		mustCreateUser(t, s, "bob", "bob-password-1", "read")
		const typed = "my-secret-passw0rd" // a valid username, so it is throttled as one
		for _, name := range []string{typed, "bob"} {
			for range 3 {
				doForm(t, s.URL+"/token", url.Values{"grant_type": {"password"}, "username": {name}, "password": {"wrong-password"}}, nil)
			}
		}
		evs, err := s.DB.ListAudit(t.Context(), store.AuditFilter{Action: "login.locked"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatal("no login.locked event")
		}
		for _, e := range evs {
			if strings.Contains(e.Target+e.Reason, typed) {
				t.Errorf("login.locked event %+v holds what was typed as the username", e)
			}
		}
		if logs := s.Logs.String(); strings.Contains(logs, typed) {
			t.Errorf("the log holds what was typed as the username")
		}
	})
}

// TestRequestDataCannotForgeLogRecords: line breaks and look-alike log
// syntax in a form, a path, a query or a header never start a log record
// of their own; the access log holds no request text at all.
func TestRequestDataCannotForgeLogRecords(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "mallory", "correct horse battery", "read")
	const forged = "level=ERROR msg=forged"
	form := url.Values{"grant_type": {"password"}, "username": {"x\n" + forged + "\r\n" + forged}, "password": {"y\n" + forged}}
	doForm(t, s.URL+"/token", form, nil)
	get(t, s.URL+"/users/me%0A"+url.PathEscape(forged)+"?q=%0A"+url.QueryEscape(forged), map[string]string{"X-API-Key": "gk_\u2028x"})
	get(t, s.URL+"/docs/%0D%0A"+url.PathEscape(forged), nil)
	if !strings.Contains(s.Logs.String(), `msg="http request"`) {
		t.Fatalf("the requests were not logged; the check below would be vacuous:\n%s", s.Logs.String())
	}
	// The log holds no request text at all (the access log names the
	// route, not the path), so the forged text cannot be found even
	// escaped.
	if strings.Contains(s.Logs.String(), "forged") {
		t.Errorf("request text reached the log:\n%s", s.Logs.String())
	}
	for _, line := range strings.Split(strings.ReplaceAll(s.Logs.String(), "\r", "\n"), "\n") {
		if strings.HasPrefix(line, forged) {
			t.Errorf("a request forged a log record: %q", line)
		}
	}
}
