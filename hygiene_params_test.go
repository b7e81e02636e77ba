package gatehouse_test

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
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

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
	eachBackend(t, func(t *testing.T, newServer func(t testing.TB, opts ...func(*gatehouse.Config)) *testServer) {
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
	m := s.Manager()
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
	cc, err := m.CreateClient(ctx, manage.CLI(), manage.NewClient{Name: "svc",
		GrantTypes:   []string{"client_credentials", "password", "refresh_token", "authorization_code"},
		RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"read", "openid", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := mustToken(t, s, "alice", alicePw, "read", "offline_access")
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	aliceKey := mustAPIKey(t, s, "alice", "read")
	app := mustClient(t, s, manage.NewClient{Name: "Web App", Public: true,
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
	if err := gatehouse.FlushUsage(ctx, s.Server); err != nil {
		t.Fatal(err)
	}

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
