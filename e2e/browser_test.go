package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse"
)

// The server in a real browser (headless Chromium, through chromedp): the
// /docs page's Authorize dialog and "Try it out", and the pages of the
// authorization-code flow. Without a Chromium binary these tests skip,
// unless CI is set (findChromium).

// findChromium returns the path of a Chromium or Chrome binary. Without
// one the test skips, unless CI is set (CI installs Debian's chromium, so
// a missing binary there is a broken setup, not a reason to skip).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium binary on PATH (CI is set, so the browser test must run: apt-get install chromium)")
	}
	t.Skip("no chromium binary on PATH: install Debian's chromium (or set GATEHOUSE_CHROMIUM) to run the browser tests")
	return ""
}

// newBrowser starts a headless Chromium; the returned context times out
// after 60 seconds.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(findChromium(t)),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	return bctx
}

// consoleProblems collects the page's console errors, uncaught exceptions
// and the browser's log entries of level error (CSP violations among
// them).
type consoleProblems struct {
	mu   sync.Mutex
	msgs []string
}

// listen subscribes to the console of ctx's tab until ctx ends.
func (c *consoleProblems) listen(t *testing.T, ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() {
				continue
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m.String()+" "+m.URL)
			c.mu.Unlock()
		}
	}()
}

func (c *consoleProblems) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// docsPage drives /docs in one browser tab.
type docsPage struct {
	t        *testing.T
	ctx      context.Context
	srv      *testServer
	problems consoleProblems
}

func openDocs(t *testing.T, srv *testServer) *docsPage {
	t.Helper()
	p := &docsPage{t: t, ctx: newBrowser(t), srv: srv}
	p.problems.listen(t, p.ctx)
	p.step("open /docs", chromedp.Navigate(srv.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`.btn.authorize`)),
		chromedp.WaitVisible(chromedp.CSS(meOp+` .opblock-summary`)))
	return p
}

// step runs actions with part of the budget, so that a failed step
// leaves time to show the page; on failure it reports the page (the open
// dialog, if any), the console and the server log.
func (p *docsPage) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	err := chromedp.Do(ctx, actions...)
	cancel()
	if err == nil {
		return
	}
	for _, m := range p.problems.all() {
		p.t.Logf("browser: %s", m)
	}
	html, herr := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.querySelector(".modal-ux") || document.body).outerHTML`))
	if herr != nil {
		html = herr.Error()
	}
	p.t.Fatalf("step %q: %v\npage:\n%s\nserver log:\n%s", name, err, html, p.srv.Logs)
}

// text reads the text of the element an XPath or CSS search finds.
func (p *docsPage) text(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Text(sel))
	if err != nil {
		p.t.Fatalf("read %v: %v", sel, err)
	}
	return v
}

// value reads the value of the input a search finds.
func (p *docsPage) value(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Value(sel))
	if err != nil {
		p.t.Fatalf("read the value of %v: %v", sel, err)
	}
	return v
}

// checkConsole fails the test on any console error: a CSP violation, a
// failed load or a script error all show there.
func (p *docsPage) checkConsole() {
	p.t.Helper()
	for _, m := range p.problems.all() {
		p.t.Errorf("browser console: %s", m)
	}
}

const (
	// meOp is Swagger UI's block of GET /users/me (tag self-service,
	// operationId me).
	meOp         = `#operations-self-service-me`
	responseBody = meOp + ` .live-responses-table .response-col_description pre`
)

// tryMe runs GET /users/me with "Try it out" and returns the response
// panel's body.
func (p *docsPage) tryMe() string {
	p.t.Helper()
	p.step("try GET /users/me",
		chromedp.Click(chromedp.CSS(meOp+` .opblock-summary`)),
		chromedp.WaitVisible(chromedp.CSS(meOp+` .try-out__btn`)),
		chromedp.Click(chromedp.CSS(meOp+` .try-out__btn`)),
		chromedp.WaitVisible(chromedp.CSS(meOp+` .btn.execute`)),
		chromedp.Click(chromedp.CSS(meOp+` .btn.execute`)),
		chromedp.WaitVisible(chromedp.CSS(responseBody)))
	return p.text(responseBody)
}

func (p *docsPage) closeDialog() {
	p.t.Helper()
	p.step("close the dialog",
		chromedp.Click(chromedp.CSS(`.modal-ux .close-modal`)),
		chromedp.WaitNotPresent(chromedp.CSS(`.modal-ux`)))
}

func wantAll(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %s", what, got, w)
		}
	}
}

// TestDocsPageBrowser opens /docs in headless Chromium, logs in through
// Swagger UI's Authorize dialog with the OAuth2 password flow, calls
// GET /users/me with "Try it out" and expects the username in the response
// panel. It takes a full-page screenshot; GATEHOUSE_UPDATE_SCREENSHOT=1
// writes it to docs/docs-page.png.
func TestDocsPageBrowser(t *testing.T) {
	findChromium(t) // skips before starting a server
	srv := newTestServer(t)
	const user, pw = "ada.lovelace", "analytical-engine-1843"
	mustCreateUser(t, srv, user, pw, "read", "write")
	p := openDocs(t, srv)

	// The password flow's block in the Authorize dialog (Swagger UI draws
	// one per OAuth2 flow, headed "oauth2 (OAuth2, password)").
	const block = `//h4[contains(normalize-space(),"OAuth2, password")]/..`
	p.step("log in with the password flow",
		chromedp.Click(chromedp.CSS(`.btn.authorize`)),
		chromedp.WaitVisible(chromedp.ID(`oauth_username`)),
		chromedp.SendKeys(chromedp.ID(`oauth_username`), user),
		chromedp.SendKeys(chromedp.ID(`oauth_password`), pw),
		chromedp.Click(block+`//button[contains(@class,"authorize")]`),
		// After a successful login the block offers "Logout".
		chromedp.WaitVisible(block+`//button[normalize-space()="Logout"]`))
	wantAll(t, "Authorize dialog after login", p.text(block), "Authorized", user)
	p.closeDialog()

	wantAll(t, "GET /users/me response panel", p.tryMe(), `"username": "`+user+`"`, `"auth_method": "bearer"`)
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil || len(shot) == 0 {
		t.Fatalf("screenshot: %v", err)
	}
	p.checkConsole()
	if os.Getenv("GATEHOUSE_UPDATE_SCREENSHOT") == "1" && !t.Failed() {
		if err := os.WriteFile(filepath.Join("..", "docs", "docs-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote docs/docs-page.png (%d bytes)", len(shot))
	}
}

// TestDocsPageBrowserAPIKey authorizes /docs with an API key in the
// X-API-Key scheme and calls GET /users/me with it.
func TestDocsPageBrowserAPIKey(t *testing.T) {
	findChromium(t) // skips before starting a server
	srv := newTestServer(t)
	const user = "grace.hopper"
	mustCreateUser(t, srv, user, "cobol-compiler-1959", "read")
	key := mustAPIKey(t, srv, user, "read")
	p := openDocs(t, srv)

	const block = `//div[contains(@class,"auth-container")][.//h4/code[normalize-space()="apiKey"]]`
	p.step("authorize with an API key",
		chromedp.Click(chromedp.CSS(`.btn.authorize`)),
		chromedp.WaitVisible(block+`//input`),
		chromedp.SendKeys(block+`//input`, key),
		chromedp.Click(block+`//button[contains(@class,"authorize")]`),
		chromedp.WaitVisible(block+`//button[normalize-space()="Logout"]`))
	if got := p.text(block); strings.Contains(got, key) {
		t.Errorf("the dialog shows the API key in clear: %q", got)
	}
	p.closeDialog()

	wantAll(t, "GET /users/me response panel", p.tryMe(), `"username": "`+user+`"`, `"auth_method": "api_key"`)
	p.checkConsole()
}

// TestDocsPageBrowserAuthorizationCode authorizes /docs with the
// authorization-code flow and PKCE: the page opens /oauth2/authorize in a
// popup, the user signs in and allows, /docs/oauth2-redirect.html hands
// the code back, and the page exchanges it for a token.
func TestDocsPageBrowserAuthorizationCode(t *testing.T) {
	findChromium(t) // skips before starting a server
	srv := newTestServer(t)
	const user, pw = "katherine.johnson", "trajectory-1962"
	mustCreateUser(t, srv, user, pw, "read")
	cl := mustClient(t, srv, gatehouse.NewClient{Name: "API docs", Public: true,
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{srv.URL + "/docs/oauth2-redirect.html"}})
	p := openDocs(t, srv)

	const block = `//h4[contains(normalize-space(),"OAuth2, authorizationCode")]/..`
	p.step("fill in the client",
		chromedp.Click(chromedp.CSS(`.btn.authorize`)),
		chromedp.WaitVisible(chromedp.ID(`client_id_authorizationCode`)),
		// The field is filled with the first-party client_id; delete it
		// with keystrokes, as a user would (the page keeps its own state
		// of the field, so setting the DOM value would not do).
		chromedp.SendKeys(chromedp.ID(`client_id_authorizationCode`), strings.Repeat(kb.Backspace, len("gatehouse"))+cl.ID))
	if got := p.value(`#client_id_authorizationCode`); got != cl.ID {
		t.Fatalf("client_id field = %q, want %q", got, cl.ID)
	}
	popup := chromedp.WaitNewTarget(p.ctx, func(i *target.Info) bool {
		return strings.Contains(i.URL, "/oauth2/authorize")
	})
	p.step("open the authorization popup", chromedp.Click(block+`//button[contains(@class,"authorize")]`))
	var id target.ID
	select {
	case id = <-popup:
	case <-p.ctx.Done():
		t.Fatal("no popup opened")
	}
	pctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(id))
	defer cancel()
	pp := &docsPage{t: t, ctx: pctx, srv: srv}
	pp.step("sign in and allow in the popup",
		chromedp.WaitVisible(chromedp.ID(`username`)),
		chromedp.SendKeys(chromedp.ID(`username`), user),
		chromedp.SendKeys(chromedp.ID(`password`), pw),
		chromedp.Click(chromedp.ID(`sign-in`)),
		chromedp.WaitVisible(chromedp.ID(`allow`)),
		chromedp.Click(chromedp.ID(`allow`)))
	// The redirect page passes the code to /docs and closes itself; /docs
	// exchanges it (with the PKCE verifier) at the token endpoint.
	p.step("see the page authorized", chromedp.WaitVisible(block+`//button[normalize-space()="Logout"]`))
	wantAll(t, "Authorize dialog after the code flow", p.text(block), "Authorized")
	p.closeDialog()

	wantAll(t, "GET /users/me response panel", p.tryMe(), `"username": "`+user+`"`, `"auth_method": "bearer"`)
	p.checkConsole()
}

// TestAuthorizeBrowser drives the authorization-code flow in headless
// Chromium: a client's authorization URL opens the login page, the user
// signs in and allows access on the consent page, and the browser lands
// on the client's loopback redirect URI with a code and the state; the
// code is exchanged with x/oauth2 (PKCE) and the token calls /users/me.
// It skips without a chromium binary unless CI is set (findChromium).
func TestAuthorizeBrowser(t *testing.T) {
	ctx := newBrowser(t) // 60 s budget
	srv := newTestServer(t)
	const user, pw = "margaret.hamilton", "apollo-guidance-computer"
	mustCreateUser(t, srv, user, pw, "openid", "profile", "read")

	// The client: a tiny handler on loopback that records the redirect.
	got := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			w.WriteHeader(http.StatusNoContent) // favicon.ico
			return
		}
		select {
		case got <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>callback</title><p id="callback-ok">signed in</p>`))
	}))
	t.Cleanup(cb.Close)
	redirect := cb.URL + "/callback"
	cl := mustClient(t, srv, gatehouse.NewClient{Name: "Browser Test App", Public: true,
		GrantTypes: []string{"authorization_code"}, RedirectURIs: []string{redirect}})
	conf := &oauth2.Config{
		ClientID: cl.ID, RedirectURL: redirect, Scopes: []string{"openid", "profile", "read"},
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/oauth2/authorize", TokenURL: srv.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	const state = "browser-state-42"
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	var problems consoleProblems
	problems.listen(t, ctx)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(sctx, actions...)
		cancel()
		if err == nil {
			return
		}
		for _, m := range problems.all() {
			t.Logf("browser: %s", m)
		}
		html, herr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if herr != nil {
			html = herr.Error()
		}
		t.Fatalf("step %q: %v\npage:\n%s\nserver log:\n%s", name, err, html, srv.Logs)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}

	step("open the login page", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID(`login-form`)))
	if name := text(`#client-name`); name != "Browser Test App" {
		t.Errorf("login page names the client %q", name)
	}
	// Enter in the password field submits with the form's first button,
	// which must be "Sign in", not "Cancel".
	step("sign in",
		chromedp.SendKeys(chromedp.ID(`username`), user),
		chromedp.SendKeys(chromedp.ID(`password`), pw+kb.Enter),
		chromedp.WaitVisible(chromedp.ID(`consent-form`)))
	if scopes := text(`#scopes`); !strings.Contains(scopes, "openid") || !strings.Contains(scopes, "read") {
		t.Errorf("consent page scopes = %q, want openid and read", scopes)
	}
	step("allow", chromedp.Click(chromedp.ID(`allow`)), chromedp.WaitVisible(chromedp.ID(`callback-ok`)))

	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, redirect+"?") {
		t.Errorf("the browser is at %s, want the redirect URI %s", loc, redirect)
	}
	var q url.Values
	select {
	case q = <-got:
	case <-ctx.Done():
		t.Fatal("the client's redirect URI was never called")
	}
	if q.Get("state") != state || q.Get("error") != "" {
		t.Fatalf("callback query = %v, want state %q and a code", q, state)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	wantMe(t, srv, tok.AccessToken, user)
	for _, m := range problems.all() {
		t.Errorf("browser console: %s", m)
	}
}
