package gatehouse_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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
	t.Skip("no chromium binary on PATH: install Debian's chromium (or set GATEHOUSE_CHROMIUM) to run the /docs browser test")
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

// TestDocsPageBrowser opens /docs in headless Chromium, logs in through
// Swagger UI's Authorize dialog with the OAuth2 password flow, calls
// GET /users/me with "Try it out" and expects the username in the response
// panel. It takes a full-page screenshot; GATEHOUSE_UPDATE_SCREENSHOT=1
// writes it to docs/docs-page.png.
func TestDocsPageBrowser(t *testing.T) {
	srv := newTestServer(t)
	const user, pw = "ada.lovelace", "analytical-engine-1843"
	mustCreateUser(t, srv, user, pw, "read", "write")

	ctx := newBrowser(t)
	var problems consoleProblems
	problems.listen(t, ctx)

	// The password flow's block in the Authorize dialog (Swagger UI draws
	// one per OAuth2 flow, headed "oauth2 (OAuth2, password)").
	const pwBlock = `//h4[contains(normalize-space(),"OAuth2, password")]/..`
	const me = `#operations-self-service-me`
	const responseBody = me + ` .live-responses-table .response-col_description pre`
	var response, authState string
	var shot []byte
	steps := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"open /docs", func(ctx context.Context) error {
			return chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/docs"),
				chromedp.WaitVisible(chromedp.CSS(`.btn.authorize`)),
				chromedp.WaitVisible(chromedp.CSS(me+` .opblock-summary`)))
		}},
		{"log in with the password flow", func(ctx context.Context) error {
			return chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`.btn.authorize`)),
				chromedp.WaitVisible(chromedp.ID(`oauth_username`)),
				chromedp.SendKeys(chromedp.ID(`oauth_username`), user),
				chromedp.SendKeys(chromedp.ID(`oauth_password`), pw),
				chromedp.Click(pwBlock+`//button[contains(@class,"authorize")]`),
				// After a successful login the block offers "Logout".
				chromedp.WaitVisible(pwBlock+`//button[normalize-space()="Logout"]`))
		}},
		{"read the Authorize dialog", func(ctx context.Context) (err error) {
			authState, err = chromedp.Run(ctx, chromedp.Text(pwBlock))
			return err
		}},
		{"close the dialog", func(ctx context.Context) error {
			return chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`.modal-ux .close-modal`)),
				chromedp.WaitNotPresent(chromedp.CSS(`.modal-ux`)))
		}},
		{"try GET /users/me", func(ctx context.Context) error {
			return chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(me+` .opblock-summary`)),
				chromedp.WaitVisible(chromedp.CSS(me+` .try-out__btn`)),
				chromedp.Click(chromedp.CSS(me+` .try-out__btn`)),
				chromedp.WaitVisible(chromedp.CSS(me+` .btn.execute`)),
				chromedp.Click(chromedp.CSS(me+` .btn.execute`)),
				chromedp.WaitVisible(chromedp.CSS(responseBody)))
		}},
		{"read the response", func(ctx context.Context) (err error) {
			response, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(responseBody)))
			return err
		}},
		{"take a screenshot", func(ctx context.Context) (err error) {
			shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
			return err
		}},
	}
	for _, st := range steps {
		// Each step gets part of the budget, so that a failed one leaves
		// time to show the page.
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := st.do(sctx)
		cancel()
		if err != nil {
			for _, p := range problems.all() {
				t.Logf("browser: %s", p)
			}
			html, herr := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".modal-ux") || document.body).outerHTML`))
			if herr != nil {
				html = herr.Error()
			}
			t.Fatalf("step %q: %v\npage:\n%s\nserver log:\n%s", st.name, err, html, srv.Logs)
		}
	}
	if !strings.Contains(authState, "Authorized") || !strings.Contains(authState, user) {
		t.Errorf("Authorize dialog after login = %q, want it to say Authorized and name %q", authState, user)
	}
	for _, want := range []string{`"username": "` + user + `"`, `"auth_method": "bearer"`} {
		if !strings.Contains(response, want) {
			t.Errorf("GET /users/me response panel = %q, want it to contain %s", response, want)
		}
	}
	// A CSP violation, a failed load or a script error all show here.
	for _, p := range problems.all() {
		t.Errorf("browser console: %s", p)
	}
	if len(shot) == 0 {
		t.Fatal("no screenshot")
	}
	if os.Getenv("GATEHOUSE_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("docs", "docs-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote docs/docs-page.png (%d bytes)", len(shot))
	}
}
