package e2e_test

import (
	"crypto/sha256"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The authorization endpoint (/oauth2/authorize): its login and consent
// pages, CSRF, cookies, sessions and the authorization_code grant, driven
// by an agent that sees every hop. The whole flow through golang.org/x/oauth2
// and go-oidc is TestCodeFlow (interop_test.go); in a real browser,
// browser_test.go.

// agent is a browser without JavaScript: an HTTP client with a cookie
// jar that does not follow redirects, so every hop can be checked.
type agent struct {
	t      testing.TB
	srv    *testServer
	client *http.Client
}

func newAgent(t testing.TB, srv *testServer) *agent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &agent{t: t, srv: srv, client: &http.Client{
		Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one response as the agent saw it.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location *url.URL // resolved against the request URL; nil when none
}

func (a *agent) do(req *http.Request) *page {
	a.t.Helper()
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	p := &page{Status: res.StatusCode, Header: res.Header, Body: string(b)}
	if loc := res.Header.Get("Location"); loc != "" {
		u, err := req.URL.Parse(loc)
		if err != nil {
			a.t.Fatalf("%s %s: bad Location %q: %v", req.Method, req.URL, loc, err)
		}
		p.Location = u
	}
	return p
}

func (a *agent) get(u string) *page {
	a.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(req)
}

func (a *agent) post(u string, form url.Values) *page {
	a.t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)" id="([^"]+)">(.*?)</form>`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// htmlForm is a form of a page: its id, action and hidden fields.
type htmlForm struct {
	ID     string
	Action string
	Fields url.Values
}

// form finds the form with the given id ("login-form", "consent-form").
func (p *page) form(id string) (htmlForm, bool) {
	for _, m := range formRe.FindAllStringSubmatch(p.Body, -1) {
		if m[2] != id {
			continue
		}
		f := htmlForm{ID: id, Action: html.UnescapeString(m[1]), Fields: url.Values{}}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[3], -1) {
			f.Fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		return f, true
	}
	return htmlForm{}, false
}

// edited returns a copy of f with its fields changed by edit.
func (f htmlForm) edited(edit func(url.Values)) htmlForm {
	out := htmlForm{ID: f.ID, Action: f.Action, Fields: url.Values{}}
	for k, vs := range f.Fields {
		out.Fields[k] = append([]string(nil), vs...)
	}
	edit(out.Fields)
	return out
}

// csrfCase is a forged submission of a form: agent sends it with the
// fields edit changed.
type csrfCase struct {
	name  string
	agent *agent
	edit  func(url.Values)
}

// csrfForgeries are the forgeries every form of a (the agent that got
// it) must refuse: no token, a wrong one, and the right one sent by
// stranger, who lacks its cookie.
func csrfForgeries(a, stranger *agent) []csrfCase {
	return []csrfCase{
		{"missing token", a, func(v url.Values) { v.Del("csrf_token") }},
		{"wrong token", a, func(v url.Values) { v.Set("csrf_token", strings.Repeat("A", 43)) }},
		{"token without its cookie", stranger, func(url.Values) {}},
	}
}

func (p *page) mustForm(t testing.TB, id string) htmlForm {
	t.Helper()
	f, ok := p.form(id)
	if !ok {
		t.Fatalf("no form %q on the page (status %d):\n%s", id, p.Status, p.Body)
	}
	return f
}

// submit posts f, with extra fields, to its action resolved against the
// authorization endpoint.
func (a *agent) submit(f htmlForm, extra url.Values) *page {
	a.t.Helper()
	base, _ := url.Parse(a.srv.URL + "/oauth2/authorize")
	target, err := base.Parse(f.Action)
	if err != nil {
		a.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range f.Fields {
		form[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		form[k] = v
	}
	return a.post(target.String(), form)
}

func (a *agent) login(p *page, user, pw string) *page {
	a.t.Helper()
	return a.submit(p.mustForm(a.t, "login-form"), url.Values{"username": {user}, "password": {pw}})
}

func (a *agent) consent(p *page, decision string) *page {
	a.t.Helper()
	return a.submit(p.mustForm(a.t, "consent-form"), url.Values{"consent": {decision}})
}

// isServer reports whether u points back at the server under test.
func (a *agent) isServer(u *url.URL) bool {
	return u != nil && strings.HasPrefix(u.String(), a.srv.URL+"/")
}

// authorize runs authURL through the login page (when shown, with user
// and pw) and the consent page (when shown, allowing) and returns the
// redirect to the client, failing when anything else happens.
func (a *agent) authorize(authURL, user, pw string) *url.URL {
	a.t.Helper()
	p := a.get(authURL)
	for range 5 {
		switch {
		case p.Status == 302 || p.Status == 303:
			if !a.isServer(p.Location) {
				return p.Location
			}
			p = a.get(p.Location.String())
		case p.Status == 200 && strings.Contains(p.Body, `id="login-form"`):
			p = a.login(p, user, pw)
		case p.Status == 200 && strings.Contains(p.Body, `id="consent-form"`):
			p = a.consent(p, "allow")
		default:
			a.t.Fatalf("authorization flow: unexpected response %d:\n%s", p.Status, p.Body)
		}
	}
	a.t.Fatalf("authorization flow did not end")
	return nil
}

// callbackCode checks the redirect to the client and returns its code.
func callbackCode(t testing.TB, srv *testServer, loc *url.URL, redirectURI, state string) string {
	t.Helper()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want %s", loc, redirectURI)
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		t.Fatalf("redirect carries error=%s (%s)", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != srv.Config().Issuer {
		t.Errorf("iss = %q, want the issuer %q (RFC 9207)", q.Get("iss"), srv.Config().Issuer)
	}
	code := q.Get("code")
	if !strings.HasPrefix(code, "gac_") {
		t.Fatalf("code = %q, want a gac_ code", code)
	}
	return code
}

// authzFixture is a server with a user, a public and a confidential
// client, for the attack table.
type authzFixture struct {
	t     *testing.T
	srv   *testServer
	clock *clock
	user  gatehouse.User
	pub   client // public: code + refresh_token, loopback redirect
	conf  client // confidential: code, two https redirects
	other client // another confidential client
}

const (
	pubRedirect   = "http://127.0.0.1:9/cb"
	confRedirect  = "https://app.example/cb"
	confRedirect2 = "https://app.example/other"
	fixturePW     = "hunter2-but-longer"
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-more"
)

func newAuthzFixture(t *testing.T, opts ...func(*gatehouse.Config)) *authzFixture {
	t.Helper()
	clock := newClock()
	srv := newTestServer(t, append([]func(*gatehouse.Config){withClock(clock)}, opts...)...)
	f := &authzFixture{t: t, srv: srv, clock: clock}
	f.user = mustCreateUser(t, srv, "alice", fixturePW, "openid", "profile", "offline_access", "read", "write")
	f.pub = mustClient(t, srv, gatehouse.NewClient{Name: "Public App", Public: true,
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{pubRedirect}})
	f.conf = mustClient(t, srv, gatehouse.NewClient{Name: "Confidential App",
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{confRedirect, confRedirect2}})
	f.other = mustClient(t, srv, gatehouse.NewClient{Name: "Other App",
		GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{confRedirect}})
	return f
}

// params are a valid authorization request of the public client.
func (f *authzFixture) params() url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {f.pub.ID}, "redirect_uri": {pubRedirect},
		"scope": {"openid read offline_access"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {oauth.S256Challenge(testVerifier)}, "code_challenge_method": {"S256"},
	}
}

func (f *authzFixture) url(v url.Values) string {
	return f.srv.URL + "/oauth2/authorize?" + v.Encode()
}

// with returns params changed by edit.
func (f *authzFixture) with(edit func(url.Values)) url.Values {
	v := f.params()
	edit(v)
	return v
}

// loggedIn returns an agent with a login session and consent for the
// default request (its code is returned and left unused).
func (f *authzFixture) loggedIn() (*agent, string) {
	f.t.Helper()
	a := newAgent(f.t, f.srv)
	loc := a.authorize(f.url(f.params()), "alice", fixturePW)
	return a, callbackCode(f.t, f.srv, loc, pubRedirect, "st-1")
}

// exchange redeems a code at the token endpoint as client cc.
func (f *authzFixture) exchange(cc client, code, redirect, verifier string) (int, map[string]any) {
	f.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	var hdr http.Header
	if cc.Secret != "" {
		hdr = basicHeader(cc)
	} else {
		form.Set("client_id", cc.ID)
	}
	res, body := doForm(f.t, f.srv.URL+"/oauth2/token", form, hdr)
	if res.StatusCode >= 500 {
		f.t.Fatalf("token endpoint = %d %s", res.StatusCode, body)
	}
	return res.StatusCode, decode(f.t, body)
}

func wantTokenError(t *testing.T, status int, body map[string]any, code string) {
	t.Helper()
	if status != 400 || body["error"] != code {
		t.Errorf("token response = %d %v, want 400 %s", status, body, code)
	}
}

// wantErrorPage checks that p is the HTML error page, not a redirect.
func wantErrorPage(t *testing.T, p *page, status int) {
	t.Helper()
	if p.Status != status || p.Location != nil || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(p.Body, `id="error-title"`) {
		t.Errorf("response = %d Location %v %s, want the %d HTML error page and no redirect:\n%s",
			p.Status, p.Location, p.Header.Get("Content-Type"), status, p.Body)
	}
}

// wantRedirectError checks an RFC 6749 §4.1.2.1 error redirect to the
// registered redirect URI.
func wantRedirectError(t *testing.T, p *page, redirect, code, state string) {
	t.Helper()
	if p.Status != 302 && p.Status != 303 || p.Location == nil {
		t.Fatalf("response = %d, want an error redirect %s:\n%s", p.Status, code, p.Body)
	}
	loc := p.Location
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		t.Errorf("redirected to %s, want %s", loc, redirect)
	}
	q := loc.Query()
	if q.Get("error") != code || q.Get("state") != state || q.Get("code") != "" {
		t.Errorf("redirect query = %v, want error=%s state=%q and no code", q, code, state)
	}
}

// TestAuthorizeAttacks is the attack table of the authorization endpoint
// and the authorization_code grant: bad input of every kind.
func TestAuthorizeAttacks(t *testing.T) {
	f := newAuthzFixture(t)
	srv := f.srv

	t.Run("code replay fails and revokes the tokens issued from the code", func(t *testing.T) {
		_, code := f.loggedIn()
		status, tok := f.exchange(f.pub, code, pubRedirect, testVerifier)
		if status != 200 {
			t.Fatalf("first exchange = %d %v", status, tok)
		}
		access, _ := tok["access_token"].(string)
		refresh, _ := tok["refresh_token"].(string)
		if refresh == "" {
			t.Fatal("no refresh token with offline_access")
		}
		wantMe(t, srv, access, "alice")
		status, body := f.exchange(f.pub, code, pubRedirect, testVerifier)
		wantTokenError(t, status, body, "invalid_grant")
		res, b := get(t, srv.URL+"/users/me", map[string]string{"Authorization": "Bearer " + access})
		if res.StatusCode != 401 {
			t.Errorf("GET /users/me with the replayed code's access token = %d %s, want 401", res.StatusCode, b)
		}
		res, b = doForm(t, srv.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {refresh}, "client_id": {f.pub.ID}}, nil)
		if res.StatusCode != 400 || decode(t, b)["error"] != "invalid_grant" {
			t.Errorf("refresh with the replayed code's refresh token = %d %s, want 400 invalid_grant", res.StatusCode, b)
		}
	})

	t.Run("wrong verifier", func(t *testing.T) {
		_, code := f.loggedIn()
		status, body := f.exchange(f.pub, code, pubRedirect, strings.Repeat("x", 43))
		wantTokenError(t, status, body, "invalid_grant")
		status, body = f.exchange(f.pub, code, pubRedirect, testVerifier)
		wantTokenError(t, status, body, "invalid_grant") // the code is spent
	})

	t.Run("missing verifier", func(t *testing.T) {
		_, code := f.loggedIn()
		status, body := f.exchange(f.pub, code, pubRedirect, "")
		wantTokenError(t, status, body, "invalid_grant")
	})

	t.Run("plain method refused", func(t *testing.T) {
		a, _ := f.loggedIn()
		p := a.get(f.url(f.with(func(v url.Values) {
			v.Set("code_challenge", testVerifier)
			v.Set("code_challenge_method", "plain")
		})))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
		p = a.get(f.url(f.with(func(v url.Values) { v.Del("code_challenge_method") }))) // absent = plain
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
	})

	t.Run("missing PKCE for a public client", func(t *testing.T) {
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) {
			v.Del("code_challenge")
			v.Del("code_challenge_method")
		})))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
	})

	t.Run("malformed challenge", func(t *testing.T) {
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("code_challenge", "short") })))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
	})

	t.Run("redirect URI variants get the error page", func(t *testing.T) {
		for _, tc := range []struct{ name, uri string }{
			{"trailing slash", confRedirect + "/"},
			{"extra path", confRedirect + "/evil"},
			{"other port", "https://app.example:8443/cb"},
			{"userinfo", "https://evil.example@app.example/cb"},
			{"fragment", confRedirect + "#frag"},
			{"scheme case", "HTTPS://app.example/cb"},
			{"host case", "https://APP.example/cb"},
			{"http instead of https", "http://app.example/cb"},
			{"other host", "https://evil.example/cb"},
			{"suffix host", "https://app.example.evil.example/cb"},
			{"added query", confRedirect + "?next=https://evil.example"},
			{"path case", "https://app.example/CB"},
			{"encoded path", "https://app.example/%63b"},
			{"missing", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				v := f.with(func(v url.Values) { v.Set("client_id", f.conf.ID); v.Set("redirect_uri", tc.uri) })
				if tc.uri == "" {
					v.Del("redirect_uri")
				}
				wantErrorPage(t, newAgent(t, srv).get(f.url(v)), 400)
			})
		}
		t.Run("loopback port may differ (RFC 8252 §7.3)", func(t *testing.T) {
			p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:53187/cb") })))
			if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) {
				t.Errorf("loopback redirect on another port = %d, want the login page", p.Status)
			}
			p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:53187/cb/") })))
			wantErrorPage(t, p, 400)
		})
	})

	t.Run("no open redirect through error responses", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(url.Values)
		}{
			{"unknown client", func(v url.Values) { v.Set("client_id", "nope"); v.Set("redirect_uri", "https://evil.example/") }},
			{"missing client_id", func(v url.Values) { v.Del("client_id"); v.Set("redirect_uri", "https://evil.example/") }},
			{"bad response_type, evil redirect", func(v url.Values) { v.Set("response_type", "token"); v.Set("redirect_uri", "https://evil.example/") }},
			{"bad scope, evil redirect", func(v url.Values) { v.Set("scope", `"`); v.Set("redirect_uri", "https://evil.example/") }},
			{"client of another's redirect", func(v url.Values) { v.Set("redirect_uri", confRedirect) }},
			{"duplicated redirect_uri", func(v url.Values) { v.Add("redirect_uri", "https://evil.example/") }},
			{"duplicated client_id", func(v url.Values) { v.Add("client_id", f.conf.ID) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := newAgent(t, srv).get(f.url(f.with(tc.edit)))
				wantErrorPage(t, p, 400)
				if strings.Contains(p.Body, "evil.example") {
					t.Errorf("the error page shows the attacker's URI")
				}
			})
		}
	})

	t.Run("unknown client", func(t *testing.T) {
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("client_id", "no-such-client") })))
		wantErrorPage(t, p, 400)
		if !strings.Contains(p.Body, "not registered") {
			t.Errorf("error page does not say the application is not registered:\n%s", p.Body)
		}
	})

	t.Run("response_type token refused", func(t *testing.T) {
		for _, rt := range []string{"token", "id_token", "code token", "code id_token"} {
			p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("response_type", rt) })))
			wantRedirectError(t, p, pubRedirect, "unsupported_response_type", "st-1")
		}
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Del("response_type") })))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
	})

	t.Run("duplicated parameters", func(t *testing.T) {
		for _, name := range []string{"scope", "response_type", "code_challenge", "nonce"} {
			p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Add(name, v.Get(name)+"2") })))
			wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
		}
		wantErrorPage(t, newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Add("state", "other") }))), 400)
	})

	t.Run("oversized parameters", func(t *testing.T) {
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("state", strings.Repeat("s", 9000)) })))
		wantErrorPage(t, p, http.StatusRequestURITooLong)
		p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("state", strings.Repeat("s", 2000)) })))
		wantErrorPage(t, p, 400)
		p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("nonce", strings.Repeat("n", 600)) })))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
		p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("scope", strings.Repeat("a", 200)) })))
		wantRedirectError(t, p, pubRedirect, "invalid_scope", "st-1")
		p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("client_id", strings.Repeat("c", 500)) })))
		wantErrorPage(t, p, 400)
		a := newAgent(t, srv)
		p = a.post(srv.URL+"/oauth2/authorize", url.Values{"step": {"login"}, "password": {strings.Repeat("p", 64<<10)}})
		if p.Status != http.StatusRequestEntityTooLarge && p.Status != 400 {
			t.Errorf("oversized form = %d, want 413 or 400", p.Status)
		}
	})

	t.Run("login CSRF", func(t *testing.T) {
		a := newAgent(t, srv)
		login := a.get(f.url(f.params())).mustForm(t, "login-form")
		creds := url.Values{"username": {"alice"}, "password": {fixturePW}}
		for _, tc := range append(csrfForgeries(a, newAgent(t, srv)),
			csrfCase{"tampered request", a, func(v url.Values) { v.Set("request", "x"+v.Get("request")) }},
			csrfCase{"missing request", a, func(v url.Values) { v.Del("request") }},
		) {
			t.Run(tc.name, func(t *testing.T) {
				p := tc.agent.submit(login.edited(tc.edit), creds)
				wantErrorPage(t, p, 403)
				for _, c := range p.Header.Values("Set-Cookie") {
					if strings.Contains(c, "session=") {
						t.Errorf("a session cookie was set: %s", c)
					}
				}
			})
		}
		// The untouched form still works (the public client's loopback
		// redirect shows the consent page every time, RFC 8252 §8.6).
		if p := a.submit(login, creds); p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
			t.Errorf("valid login = %d, want the consent page", p.Status)
		} else {
			callbackCode(t, srv, a.consent(p, "allow").Location, pubRedirect, "st-1")
		}
	})

	t.Run("consent CSRF", func(t *testing.T) {
		a := newAgent(t, srv)
		consent := a.login(a.get(f.url(f.with(func(v url.Values) { v.Set("scope", "openid write") }))), "alice", fixturePW).
			mustForm(t, "consent-form")
		for _, tc := range append(csrfForgeries(a, newAgent(t, srv)),
			csrfCase{"tampered request", a, func(v url.Values) { v.Set("request", strings.Replace(v.Get("request"), ".", "x.", 1)) }},
			csrfCase{"login form's request", a, func(v url.Values) { v.Set("step", "login") }},
		) {
			t.Run(tc.name, func(t *testing.T) {
				p := tc.agent.submit(consent.edited(tc.edit), url.Values{"consent": {"allow"}})
				wantErrorPage(t, p, 403)
			})
		}
		if _, err := srv.DB.GetConsent(t.Context(), f.user.ID, f.pub.ID); err == nil {
			c, _ := srv.DB.GetConsent(t.Context(), f.user.ID, f.pub.ID)
			if strings.Contains(strings.Join(c.Scopes, " "), "write") {
				t.Errorf("consent to write was stored by a forged form: %v", c.Scopes)
			}
		}
	})

	t.Run("client mix-up: code of A redeemed by B", func(t *testing.T) {
		a := newAgent(t, srv)
		v := f.with(func(v url.Values) { v.Set("client_id", f.conf.ID); v.Set("redirect_uri", confRedirect) })
		code := callbackCode(t, srv, a.authorize(f.url(v), "alice", fixturePW), confRedirect, "st-1")
		status, body := f.exchange(f.other, code, confRedirect, testVerifier)
		wantTokenError(t, status, body, "invalid_grant")
		// A public client naming A's code gets no token either.
		status, body = f.exchange(f.pub, code, confRedirect, testVerifier)
		if status == 200 {
			t.Errorf("public client redeemed a confidential client's code: %v", body)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		_, code := f.loggedIn()
		f.clock.Advance(srv.Config().AuthCodeTTL + time.Second)
		status, body := f.exchange(f.pub, code, pubRedirect, testVerifier)
		wantTokenError(t, status, body, "invalid_grant")
	})

	t.Run("code for another redirect_uri", func(t *testing.T) {
		a := newAgent(t, srv)
		v := f.with(func(v url.Values) { v.Set("client_id", f.conf.ID); v.Set("redirect_uri", confRedirect) })
		code := callbackCode(t, srv, a.authorize(f.url(v), "alice", fixturePW), confRedirect, "st-1")
		status, body := f.exchange(f.conf, code, confRedirect2, testVerifier)
		wantTokenError(t, status, body, "invalid_grant")
		status, body = f.exchange(f.conf, code, "", testVerifier)
		wantTokenError(t, status, body, "invalid_grant")
	})

	t.Run("deny gives access_denied with state", func(t *testing.T) {
		a := newAgent(t, srv)
		p := a.login(a.get(f.url(f.with(func(v url.Values) {
			v.Set("client_id", f.other.ID)
			v.Set("redirect_uri", confRedirect)
			v.Set("state", "deny-state")
		}))), "alice", fixturePW)
		p = a.consent(p, "deny")
		if p.Status != 303 {
			t.Errorf("deny = %d, want 303", p.Status)
		}
		wantRedirectError(t, p, confRedirect, "access_denied", "deny-state")
		if _, err := srv.DB.GetConsent(t.Context(), f.user.ID, f.other.ID); err == nil {
			t.Errorf("a denied consent was remembered")
		}
	})

	t.Run("cancel on the login page gives access_denied", func(t *testing.T) {
		a := newAgent(t, srv)
		p := a.submit(a.get(f.url(f.params())).mustForm(t, "login-form"), url.Values{"cancel": {"cancel"}})
		wantRedirectError(t, p, pubRedirect, "access_denied", "st-1")
	})

	t.Run("clickjacking and caching headers", func(t *testing.T) {
		a := newAgent(t, srv)
		login := a.get(f.url(f.with(func(v url.Values) { v.Set("client_id", f.other.ID); v.Set("redirect_uri", confRedirect) })))
		consent := a.login(login, "alice", fixturePW)
		errPage := a.get(f.url(f.with(func(v url.Values) { v.Set("client_id", "nope") })))
		for name, p := range map[string]*page{"login": login, "consent": consent, "error": errPage} {
			h := p.Header
			if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("%s page: X-Frame-Options %q, CSP %q; want DENY and frame-ancestors 'none'", name,
					h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s page: Cache-Control %q, want no-store", name, h.Get("Cache-Control"))
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
				strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
				t.Errorf("%s page: CSP %q, want default-src 'none' and no unsafe-inline", name, h.Get("Content-Security-Policy"))
			}
			if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, "http://") && strings.Contains(p.Body, "<link") {
				t.Errorf("%s page loads scripts or external resources", name)
			}
		}
		// The inline stylesheet is allowed by its hash.
		body := login.Body
		i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>")
		sum := sha256.Sum256([]byte(body[i+len("<style>") : j]))
		if !strings.Contains(login.Header.Get("Content-Security-Policy"), "'sha256-"+b64(sum[:])+"'") {
			t.Errorf("CSP %q does not allow the page's stylesheet", login.Header.Get("Content-Security-Policy"))
		}
	})

	t.Run("session cookie flags over http", func(t *testing.T) {
		a := newAgent(t, srv)
		p := a.login(a.get(f.url(f.params())), "alice", fixturePW)
		c := findSetCookie(t, p.Header, "gatehouse_session")
		for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(c, want) {
				t.Errorf("session cookie %q lacks %s", c, want)
			}
		}
		value := strings.TrimPrefix(strings.SplitN(c, ";", 2)[0], "gatehouse_session=")
		sum := sha256.Sum256([]byte(value))
		if _, err := srv.DB.GetSession(t.Context(), sum[:]); err != nil {
			t.Errorf("no session stored under the SHA-256 of the cookie: %v", err)
		}
		if _, err := srv.DB.GetSession(t.Context(), []byte(value)); err == nil {
			t.Errorf("the session is stored under the cookie value itself")
		}
	})

	t.Run("remembered consent skips the page", func(t *testing.T) {
		a := newAgent(t, srv)
		v := f.with(func(v url.Values) {
			v.Set("client_id", f.other.ID)
			v.Set("redirect_uri", confRedirect)
			v.Set("scope", "openid read")
		})
		p := a.login(a.get(f.url(v)), "alice", fixturePW)
		callbackCode(t, srv, a.consent(p, "allow").Location, confRedirect, "st-1")
		// Same scopes, and fewer: no page.
		for _, scope := range []string{"openid read", "read"} {
			v.Set("scope", scope)
			p = a.get(f.url(v))
			if p.Status != 302 {
				t.Fatalf("authorize %q after consent = %d, want a redirect without the page", scope, p.Status)
			}
			callbackCode(t, srv, p.Location, confRedirect, "st-1")
		}
		// More scopes: asked again, listing them.
		v.Set("scope", "openid read write")
		p = a.get(f.url(v))
		if p.Status != 200 || !strings.Contains(p.Body, `data-scope="write"`) {
			t.Fatalf("authorize with a new scope = %d, want the consent page", p.Status)
		}
		// prompt=consent asks even for remembered scopes.
		v.Set("scope", "read")
		v.Set("prompt", "consent")
		if p = a.get(f.url(v)); p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
			t.Errorf("prompt=consent = %d, want the consent page", p.Status)
		}
	})

	t.Run("scope widening at consent is impossible", func(t *testing.T) {
		cl := mustClient(t, srv, gatehouse.NewClient{Name: "Widening App",
			GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{confRedirect2}})
		a := newAgent(t, srv)
		v := f.with(func(v url.Values) {
			v.Set("client_id", cl.ID)
			v.Set("redirect_uri", confRedirect2)
			v.Set("scope", "read")
		})
		form := a.login(a.get(f.url(v)), "alice", fixturePW).mustForm(t, "consent-form")
		p := a.submit(form, url.Values{"consent": {"allow"}, "scope": {"read write openid offline_access"}})
		code := callbackCode(t, srv, p.Location, confRedirect2, "st-1")
		status, tok := f.exchange(cl, code, confRedirect2, testVerifier)
		if status != 200 || tok["scope"] != "read" || tok["id_token"] != nil {
			t.Errorf("token after a tampered consent form = %d %v, want scope read only", status, tok)
		}
		c, err := srv.DB.GetConsent(t.Context(), f.user.ID, cl.ID)
		if err != nil || strings.Join(c.Scopes, " ") != "read" {
			t.Errorf("remembered consent = %v, %v; want [read]", c.Scopes, err)
		}
		// A scope the user does not have: invalid_scope after login.
		v.Set("scope", "read admin")
		p = a.get(f.url(v))
		wantRedirectError(t, p, confRedirect2, "invalid_scope", "st-1")
	})

	t.Run("scopes changed between the consent page and the decision", func(t *testing.T) {
		mustCreateUser(t, srv, "dave", fixturePW, "read")
		a := newAgent(t, srv)
		v := f.with(func(v url.Values) {
			v.Set("client_id", f.other.ID)
			v.Set("redirect_uri", confRedirect)
			v.Del("scope") // all of the user's scopes
		})
		form := a.login(a.get(f.url(v)), "dave", fixturePW).mustForm(t, "consent-form")
		if _, err := srv.Admin().SetScopes(t.Context(), "dave", []string{"read", "write"}); err != nil {
			t.Fatal(err)
		}
		p := a.submit(form, url.Values{"consent": {"allow"}})
		wantErrorPage(t, p, 409)
	})

	t.Run("disabled user's session refused", func(t *testing.T) {
		bob := mustCreateUser(t, srv, "bob", fixturePW, "read")
		v := f.with(func(v url.Values) {
			v.Set("client_id", f.other.ID)
			v.Set("redirect_uri", confRedirect)
			v.Set("scope", "read")
		})
		a := newAgent(t, srv)
		callbackCode(t, srv, a.authorize(f.url(v), "bob", fixturePW), confRedirect, "st-1")
		if p := a.get(f.url(v)); p.Status != 302 {
			t.Fatalf("logged-in authorize = %d, want 302", p.Status)
		}
		// Disabled behind the manager's back (sessions not deleted): the
		// endpoint itself must refuse the session.
		if _, err := srv.DB.UpdateUser(t.Context(), bob.ID, func(u store.User) (store.User, error) {
			u.Disabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		p := a.get(f.url(v))
		if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) {
			t.Fatalf("authorize for a disabled user's session = %d, want the login page:\n%s", p.Status, p.Body)
		}
		p = a.login(p, "bob", fixturePW)
		if p.Status != 401 || !strings.Contains(p.Body, "Invalid username or password") {
			t.Errorf("login of a disabled user = %d, want 401 with the usual message", p.Status)
		}
	})

	t.Run("disabling through the embedding API ends sessions", func(t *testing.T) {
		mustCreateUser(t, srv, "carol", fixturePW, "read")
		v := f.with(func(v url.Values) {
			v.Set("client_id", f.other.ID)
			v.Set("redirect_uri", confRedirect)
			v.Set("scope", "read")
		})
		a := newAgent(t, srv)
		callbackCode(t, srv, a.authorize(f.url(v), "carol", fixturePW), confRedirect, "st-1")
		if _, err := srv.Admin().DisableUser(t.Context(), "carol"); err != nil {
			t.Fatal(err)
		}
		if p := a.get(f.url(v)); p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) {
			t.Errorf("authorize after disable = %d, want the login page", p.Status)
		}
	})

	t.Run("wrong password and unknown user look the same", func(t *testing.T) {
		a := newAgent(t, srv)
		login := a.get(f.url(f.params()))
		p1 := a.login(login, "alice", "wrong-password")
		p2 := a.login(login, "nobody-here", "wrong-password")
		for _, p := range []*page{p1, p2} {
			if p.Status != 401 || !strings.Contains(p.Body, "Invalid username or password.") || !strings.Contains(p.Body, `id="login-form"`) {
				t.Errorf("failed login = %d, want 401 and the login page with the generic message", p.Status)
			}
		}
	})

	t.Run("prompt and max_age", func(t *testing.T) {
		a, _ := f.loggedIn()
		p := a.get(f.url(f.with(func(v url.Values) { v.Set("prompt", "login") })))
		if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) {
			t.Errorf("prompt=login = %d, want the login page", p.Status)
		}
		f.clock.Advance(2 * time.Minute)
		p = a.get(f.url(f.with(func(v url.Values) { v.Set("max_age", "60") })))
		if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) {
			t.Errorf("max_age exceeded = %d, want the login page", p.Status)
		}
		// Not exceeded: no login page (the public loopback client's
		// consent page, as always, RFC 8252 §8.6).
		if p = a.get(f.url(f.with(func(v url.Values) { v.Set("max_age", "3600") }))); p.Status != 200 ||
			!strings.Contains(p.Body, `id="consent-form"`) {
			t.Errorf("max_age not exceeded = %d, want the consent page", p.Status)
		}
		p = newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("prompt", "none") })))
		wantRedirectError(t, p, pubRedirect, "login_required", "st-1")
		p = a.get(f.url(f.with(func(v url.Values) { v.Set("prompt", "none"); v.Set("scope", "openid write") })))
		wantRedirectError(t, p, pubRedirect, "consent_required", "st-1")
		p = a.get(f.url(f.with(func(v url.Values) { v.Set("prompt", "none login") })))
		wantRedirectError(t, p, pubRedirect, "invalid_request", "st-1")
	})

	t.Run("authorization request by POST", func(t *testing.T) {
		a, _ := f.loggedIn()
		p := a.consent(a.post(srv.URL+"/oauth2/authorize", f.params()), "allow")
		code := callbackCode(t, srv, p.Location, pubRedirect, "st-1")
		if status, _ := f.exchange(f.pub, code, pubRedirect, testVerifier); status != 200 {
			t.Errorf("exchange of a POST-requested code = %d", status)
		}
	})

	t.Run("client without the authorization_code grant", func(t *testing.T) {
		// The first-party client has no redirect URI: the error page.
		p := newAgent(t, srv).get(f.url(f.with(func(v url.Values) { v.Set("client_id", "gatehouse") })))
		wantErrorPage(t, p, 400)
	})

	t.Run("junk never gives a 5xx", func(t *testing.T) {
		a := newAgent(t, srv)
		for _, raw := range []string{"", "%zz", "client_id=%00", "client_id=" + f.pub.ID + "&redirect_uri=%ff",
			"step=consent", "step=weird"} {
			p := a.get(srv.URL + "/oauth2/authorize?" + raw)
			if p.Status >= 500 || p.Status < 400 {
				t.Errorf("GET ?%s = %d, want a 4xx", raw, p.Status)
			}
			req, _ := http.NewRequest("POST", srv.URL+"/oauth2/authorize", strings.NewReader(raw))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if p := a.do(req); p.Status >= 500 || p.Status < 400 {
				t.Errorf("POST %s = %d, want a 4xx", raw, p.Status)
			}
		}
		req, _ := http.NewRequest("POST", srv.URL+"/oauth2/authorize", strings.NewReader(`{"a":1}`))
		req.Header.Set("Content-Type", "application/json")
		if p := a.do(req); p.Status != 400 {
			t.Errorf("JSON POST = %d, want 400", p.Status)
		}
	})
}

// TestAuthorizeSecureCookies checks the cookies of an https issuer:
// __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain.
func TestAuthorizeSecureCookies(t *testing.T) {
	srv := newTestServer(t, func(c *gatehouse.Config) { c.Issuer = "https://auth.example" })
	mustCreateUser(t, srv, "alice", fixturePW, "read")
	cl := mustClient(t, srv, gatehouse.NewClient{Name: "App", GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{confRedirect}})
	q := url.Values{"response_type": {"code"}, "client_id": {cl.ID}, "redirect_uri": {confRedirect}, "scope": {"read"}}
	// A plain client: the jar would not send Secure cookies over http.
	a := newAgent(t, srv)
	a.client.Jar = nil
	p := a.get(srv.URL + "/oauth2/authorize?" + q.Encode())
	csrf := findSetCookie(t, p.Header, "__Host-gatehouse-csrf")
	form := p.mustForm(t, "login-form")
	form.Fields.Set("username", "alice")
	form.Fields.Set("password", fixturePW)
	req, _ := http.NewRequest("POST", srv.URL+"/oauth2/authorize", strings.NewReader(form.Fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", strings.SplitN(csrf, ";", 2)[0])
	p = a.do(req)
	if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
		t.Fatalf("login = %d, want the consent page:\n%s", p.Status, p.Body)
	}
	sess := findSetCookie(t, p.Header, "__Host-gatehouse-session")
	for name, c := range map[string]string{"csrf": csrf, "session": sess} {
		for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(c, want) {
				t.Errorf("%s cookie %q lacks %s", name, c, want)
			}
		}
		if strings.Contains(strings.ToLower(c), "domain=") {
			t.Errorf("%s cookie %q has a Domain", name, c)
		}
	}
	if loc := p.Header.Get("Location"); loc != "" {
		t.Errorf("unexpected redirect %s", loc)
	}
}

func findSetCookie(t *testing.T, h http.Header, name string) string {
	t.Helper()
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, h.Values("Set-Cookie"))
	return ""
}

func b64(b []byte) string {
	out, _ := json.Marshal(b) // standard base64, quoted
	return strings.Trim(string(out), `"`)
}

// TestAuthorizeLoginSessionTTL: a login session lasts LoginSessionTTL; after
// it the user is asked to sign in again.
func TestAuthorizeLoginSessionTTL(t *testing.T) {
	f := newAuthzFixture(t, func(c *gatehouse.Config) { c.LoginSessionTTL = 30 * time.Minute })
	a, _ := f.loggedIn()
	f.clock.Advance(29 * time.Minute)
	// Within the session: no login page (the public loopback client's
	// consent page, which it always shows, RFC 8252 §8.6).
	if p := a.get(f.url(f.params())); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="consent-form"`) {
		t.Fatalf("authorize within the session = %d, want the consent page and no login page", p.Status)
	}
	f.clock.Advance(2 * time.Minute)
	p := a.get(f.url(f.params()))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("authorize after the session ended = %d, want the login page", p.Status)
	}
}

// TestOIDCScopesNeedNoGrant: openid, profile and offline_access ask for
// protocol behaviour, not permissions, so a user who holds none of them
// still signs in to an OIDC app (code flow and password grant) and keeps
// them across a refresh; a permission the user lacks stays invalid_scope.
func TestOIDCScopesNeedNoGrant(t *testing.T) {
	f := newAuthzFixture(t)
	mustCreateUser(t, f.srv, "dave", fixturePW, "read")
	v := f.with(func(v url.Values) { v.Set("scope", "openid profile offline_access read") })
	a := newAgent(t, f.srv)
	code := callbackCode(t, f.srv, a.authorize(f.url(v), "dave", fixturePW), pubRedirect, "st-1")
	status, body := f.exchange(f.pub, code, pubRedirect, testVerifier)
	if status != http.StatusOK || body["id_token"] == nil || body["refresh_token"] == nil ||
		body["scope"] != "openid profile offline_access read" {
		t.Fatalf("code exchange for a user without OIDC scopes = %d %v, want an ID token, a refresh token and every scope", status, body)
	}
	res, raw := doForm(t, f.srv.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {body["refresh_token"].(string)}, "client_id": {f.pub.ID}}, nil)
	if refreshed := decode(t, raw); res.StatusCode != http.StatusOK || refreshed["scope"] != "openid profile offline_access read" || refreshed["id_token"] == nil {
		t.Fatalf("refresh = %d %v, want the same scopes and a new ID token", res.StatusCode, refreshed)
	}

	tok := mustToken(t, f.srv, "dave", fixturePW, "openid", "read")
	if tok["id_token"] == nil || tok["scope"] != "openid read" {
		t.Errorf("password grant with scope openid = %v, want an ID token", tok)
	}
	if tok := mustToken(t, f.srv, "dave", fixturePW); tok["id_token"] != nil || tok["scope"] != "read" {
		t.Errorf("password grant without scope = %v, want the user's own scopes only, no ID token", tok)
	}
	res, raw = doForm(t, f.srv.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"dave"},
		"password": {fixturePW}, "scope": {"openid write"}}, nil)
	if e := decode(t, raw); res.StatusCode != http.StatusBadRequest || e["error"] != "invalid_scope" {
		t.Errorf("password grant with a scope dave lacks = %d %v, want invalid_scope", res.StatusCode, e)
	}
}

// TestRememberedConsentNeedsAnAssuredClient: any program on the user's
// machine can listen on a loopback port or register a private-use URI
// scheme and start an authorization request with a native app's public
// client_id, so for a public client redirecting there a remembered consent
// does not skip the consent page (RFC 8252 §8.6). Where the client's
// identity is assured — an https redirect, or a confidential client, whose
// code is useless without its secret — it still does.
func TestRememberedConsentNeedsAnAssuredClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer newServerFunc) {
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
				cc := mustClient(t, s, gatehouse.NewClient{Name: "App " + tc.name, Public: tc.public, GrantTypes: grants,
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

// wantMe calls GET /users/me with an access token.
func wantMe(t testing.TB, srv *testServer, accessToken, username string) {
	t.Helper()
	res, body := get(t, srv.URL+"/users/me", map[string]string{"Authorization": "Bearer " + accessToken})
	if res.StatusCode != 200 {
		t.Fatalf("GET /users/me = %d %s", res.StatusCode, body)
	}
	if m := decode(t, body); m["username"] != username {
		t.Errorf("GET /users/me username = %v, want %s", m["username"], username)
	}
}
