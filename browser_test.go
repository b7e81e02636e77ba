package gatehouse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/internal/manage"
)

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
	cl := mustClient(t, srv, manage.NewClient{Name: "Browser Test App", Public: true,
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
