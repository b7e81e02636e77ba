package authorize

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/secret"
)

//go:embed assets/pages.html assets/authorize.css
var assets embed.FS

// pages are the parsed templates and the stylesheet, inlined into every
// page and allowed by its hash.
type pages struct {
	tmpl    *template.Template
	css     template.CSS
	cssHash string // "'sha256-…'"
}

// embeddedPages parses the embedded templates once, on first use; they
// never change after.
var embeddedPages = sync.OnceValue(loadPages)

func loadPages() *pages {
	css, err := assets.ReadFile("assets/authorize.css")
	if err != nil {
		panic("authorize: " + err.Error()) // embedded: cannot happen
	}
	sum := sha256.Sum256(css)
	return &pages{
		tmpl:    template.Must(template.ParseFS(assets, "assets/pages.html")),
		css:     template.CSS(css),
		cssHash: "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
	}
}

// scopeLine is one line of the consent page.
type scopeLine struct{ Name, Text string }

// scopeText describes the scopes with a meaning of their own.
var scopeText = map[string]string{
	"openid":         "Confirm who you are (sign you in)",
	"profile":        "See your username",
	"offline_access": "Stay signed in when you are away (a refresh token)",
	"admin":          "Administer this server: users, clients, keys and audit",
}

func describe(scopes []string) []scopeLine {
	out := make([]scopeLine, 0, len(scopes))
	for _, s := range scopes {
		t, ok := scopeText[s]
		if !ok {
			t = "Use the permission"
		}
		out = append(out, scopeLine{Name: s, Text: t})
	}
	return out
}

// pageData is what the templates read.
type pageData struct {
	CSS          template.CSS
	Title        string
	Message      string
	ClientName   string
	CSRF         string
	Request      string
	Username     string
	Error        string
	Scopes       []scopeLine
	RedirectHost string
}

// formAction lists where the page's forms may lead, redirects included
// (CSP form-action applies to the redirect after a submission): this
// server and the origin of the client's redirect URI.
func formAction(redirectURI string) string {
	src := "'self'"
	if u, err := url.Parse(redirectURI); err == nil && u.Scheme != "" {
		switch {
		case u.Host != "" && (u.Scheme == "http" || u.Scheme == "https"):
			src += " " + u.Scheme + "://" + u.Host
		case u.Host == "" && !strings.ContainsAny(u.Scheme, " ;,'"):
			src += " " + u.Scheme + ":"
		}
	}
	return src
}

// noStore sets the headers every response of the endpoint carries.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// render writes a page. redirectURI, when set, is allowed as a form
// target.
func (h *Handler) render(w http.ResponseWriter, status int, name string, d pageData, redirectURI string) {
	d.CSS = embeddedPages().css
	var buf bytes.Buffer
	if err := embeddedPages().tmpl.ExecuteTemplate(&buf, name, d); err != nil {
		if h.Logger != nil {
			h.Logger.Error("authorize: render page", "page", name, "err", err)
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	noStore(w)
	hdr := w.Header()
	csp := "default-src 'none'; style-src " + embeddedPages().cssHash + "; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
	if name != "error" {
		csp = "default-src 'none'; style-src " + embeddedPages().cssHash + "; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action " + formAction(redirectURI)
	}
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderError writes the error page.
func (h *Handler) renderError(w http.ResponseWriter, e *pageError) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	// The message may name a value of the request: never a credential.
	h.render(w, status, "error", pageData{Title: e.Title, Message: secret.Redact(e.Message)}, "")
}
