package gatehouse_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/manage"
)

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

// idClaims are the ID token claims the tests check.
type idClaims struct {
	AuthTime          int64  `json:"auth_time"`
	AZP               string `json:"azp"`
	AtHash            string `json:"at_hash"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
}

const codeUserPW = "correct-horse-battery-staple"

// TestCodeFlow drives the authorization-code flow with PKCE through the
// login and consent pages with golang.org/x/oauth2, verifies the ID token
// with go-oidc (discovery, signature, nonce, at_hash, auth_time) and
// refreshes with offline_access, for a public and a confidential client,
// on SQLite and PostgreSQL.
func TestCodeFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, newServer func(testing.TB, ...func(*gatehouse.Config)) *testServer) {
		srv := newServer(t)
		alice := mustCreateUser(t, srv, "alice", codeUserPW, "openid", "profile", "offline_access", "read", "write")
		ctx := t.Context()
		provider, err := oidc.NewProvider(ctx, srv.URL)
		if err != nil {
			t.Fatalf("oidc.NewProvider: %v", err)
		}
		var meta struct {
			AuthorizationEndpoint string   `json:"authorization_endpoint"`
			Methods               []string `json:"code_challenge_methods_supported"`
			Grants                []string `json:"grant_types_supported"`
			ISS                   bool     `json:"authorization_response_iss_parameter_supported"`
		}
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if meta.AuthorizationEndpoint != srv.URL+"/oauth2/authorize" || strings.Join(meta.Methods, ",") != "S256" ||
			!strings.Contains(strings.Join(meta.Grants, ","), "authorization_code") || !meta.ISS {
			t.Errorf("discovery = %+v, want the authorization endpoint, S256, authorization_code and the RFC 9207 iss", meta)
		}

		t.Run("public client with PKCE, openid and offline_access", func(t *testing.T) {
			const redirect = "http://127.0.0.1:9/callback"
			cl := mustClient(t, srv, manage.NewClient{Name: "Public SPA", Public: true,
				GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{redirect}})
			conf := &oauth2.Config{ClientID: cl.ID, Endpoint: provider.Endpoint(), RedirectURL: redirect,
				Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess, "read"}}
			a := newAgent(t, srv)
			verifier := oauth2.GenerateVerifier()
			const state, nonce = "st-123", "n-0S6_WzA2Mj"
			before := time.Now().Add(-time.Second).Unix()

			// The first time: login page, then consent page.
			p := a.get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
			if p.Status != 200 || !strings.Contains(p.Body, `id="login-form"`) || !strings.Contains(p.Body, "Public SPA") {
				t.Fatalf("first authorize = %d, want the login page naming the client:\n%s", p.Status, p.Body)
			}
			p = a.login(p, "alice", codeUserPW)
			if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
				t.Fatalf("after login = %d, want the consent page:\n%s", p.Status, p.Body)
			}
			for _, s := range []string{"openid", "profile", "offline_access", "read"} {
				if !strings.Contains(p.Body, `data-scope="`+s+`"`) {
					t.Errorf("consent page does not list scope %s", s)
				}
			}
			if strings.Contains(p.Body, `data-scope="write"`) {
				t.Errorf("consent page lists write, which was not requested")
			}
			p = a.consent(p, "allow")
			if p.Status != 303 {
				t.Fatalf("consent allow = %d, want 303 to the client", p.Status)
			}
			code := callbackCode(t, srv, p.Location, redirect, state)

			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Errorf("no refresh token with offline_access")
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("Verify(id_token): %v", err)
			}
			if idt.Subject != alice.ID || idt.Nonce != nonce {
				t.Errorf("id token sub, nonce = %q, %q; want %q, %q", idt.Subject, idt.Nonce, alice.ID, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("VerifyAccessToken (at_hash): %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
				t.Errorf("VerifyAccessToken accepted another access token")
			}
			var c idClaims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if c.AuthTime < before || c.AuthTime > time.Now().Unix()+1 {
				t.Errorf("auth_time = %d, want the login time (after %d)", c.AuthTime, before)
			}
			if c.AZP != cl.ID || c.PreferredUsername != "alice" || c.Name != "alice" {
				t.Errorf("id token claims = %+v, want azp %s and the profile claims", c, cl.ID)
			}
			if _, err := provider.Verifier(&oidc.Config{ClientID: "someone-else"}).Verify(ctx, raw); err == nil {
				t.Errorf("the ID token verified for another audience")
			}
			wantMe(t, srv, tok.AccessToken, "alice")

			// Refresh through the TokenSource: rotated, still working.
			old := *tok
			old.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, &old).Token()
			if err != nil {
				t.Fatalf("TokenSource refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh did not rotate: %+v", fresh)
			}
			wantMe(t, srv, fresh.AccessToken, "alice")

			// Logged in: no login page the second time, but the consent
			// page again, since any local program could have asked with
			// this public client's id on a loopback port (RFC 8252 §8.6).
			verifier2 := oauth2.GenerateVerifier()
			p = a.get(conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier2)))
			if p.Status != 200 || !strings.Contains(p.Body, `id="consent-form"`) {
				t.Fatalf("second authorize = %d, want the consent page and no login page:\n%s", p.Status, p.Body)
			}
			code2 := callbackCode(t, srv, a.consent(p, "allow").Location, redirect, "st-2")
			tok2, err := conf.Exchange(ctx, code2, oauth2.VerifierOption(verifier2))
			if err != nil {
				t.Fatalf("second Exchange: %v", err)
			}
			idt2, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, tok2.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var c2 idClaims
			_ = idt2.Claims(&c2)
			if c2.AuthTime != c.AuthTime {
				t.Errorf("auth_time of the second code = %d, want the session's login time %d", c2.AuthTime, c.AuthTime)
			}
			if idt2.Nonce != "" {
				t.Errorf("nonce = %q, want none (none was sent)", idt2.Nonce)
			}
		})

		t.Run("confidential client", func(t *testing.T) {
			const redirect = "https://app.example/cb"
			cl := mustClient(t, srv, manage.NewClient{Name: "Web app",
				GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{redirect}})
			conf := &oauth2.Config{ClientID: cl.ID, ClientSecret: cl.Secret, Endpoint: provider.Endpoint(),
				RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "read"}}
			a := newAgent(t, srv)

			// With PKCE.
			verifier := oauth2.GenerateVerifier()
			loc := a.authorize(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)), "alice", codeUserPW)
			tok, err := conf.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s1"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.RefreshToken != "" {
				t.Errorf("refresh token issued to a client without the refresh_token grant")
			}
			if got, _ := tok.Extra("scope").(string); got != "openid read" {
				t.Errorf("scope = %q, want %q", got, "openid read")
			}
			idt, err := provider.Verifier(&oidc.Config{ClientID: cl.ID}).Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var c idClaims
			_ = idt.Claims(&c)
			if c.PreferredUsername != "" {
				t.Errorf("preferred_username = %q without the profile scope", c.PreferredUsername)
			}
			wantMe(t, srv, tok.AccessToken, "alice")

			// Without PKCE: accepted for a confidential client.
			loc = a.authorize(conf.AuthCodeURL("s2"), "alice", codeUserPW)
			if _, err := conf.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s2")); err != nil {
				t.Fatalf("Exchange without PKCE (confidential): %v", err)
			}

			// Without the secret: invalid_client.
			noSecret := *conf
			noSecret.ClientSecret = "gcs_wrong"
			loc = a.authorize(conf.AuthCodeURL("s3"), "alice", codeUserPW)
			_, err = noSecret.Exchange(ctx, callbackCode(t, srv, loc, redirect, "s3"))
			wantRetrieveError(t, "Exchange with a wrong secret", err, "invalid_client")
		})
	})
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
