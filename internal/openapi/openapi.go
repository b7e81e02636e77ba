// Package openapi serves gatehouse's OpenAPI 3.1 description
// (GET /openapi.json) and the interactive documentation page (GET /docs),
// a vendored Swagger UI whose files are embedded in the binary: the page
// loads nothing from another origin.
//
// The document is the hand-written openapi.json in this directory. The
// placeholder ${ISSUER} in it becomes the server's issuer, so the page's
// "try it" calls and its Authorize dialog (OAuth2 password flow against
// /oauth2/token, or an API key, or a bearer JWT) go to the server itself.
// The served document keeps only the operations the server's route list
// serves, and the OAuth2 flows that work (the password flow while the
// password grant is on, the authorization-code flow while the
// authorization endpoint is served). A served route that the file does not
// describe is an error, so the server cannot start with an undocumented
// endpoint.
//
// The package imports the standard library, route (the route list it
// describes) and jsonerror (the one JSON error writer).
package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/route"
)

//go:embed openapi.json
var documentTemplate []byte

//go:embed assets
var assets embed.FS

// Handler serves /openapi.json, /docs and /docs/{asset}.
type Handler struct {
	// Issuer is the server's base URL (no trailing slash).
	Issuer string
	// PasswordGrant is false when the password grant is off: the password
	// flow is then left out of the oauth2 security scheme.
	PasswordGrant bool
	// Served are the server's other routes; the document lists only the
	// operations served (these and the handler's own).
	Served route.List
	Logger *slog.Logger

	once  sync.Once
	doc   *file
	page  *file
	files map[string]*file
	csp   string
	err   error
}

// file is one response body with its validator.
type file struct {
	body        []byte
	contentType string
	etag        string
	gzOnce      sync.Once
	gz          []byte
}

// assetTypes lists the files served under /docs/ and their media types;
// nothing else in the assets directory is served.
var assetTypes = map[string]string{
	"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
	"swagger-ui.css":                   "text/css; charset=utf-8",
	"init.js":                          "text/javascript; charset=utf-8",
	"docs.css":                         "text/css; charset=utf-8",
	"favicon-32x32.png":                "image/png",
	"oauth2-redirect.html":             "text/html; charset=utf-8",
	"oauth2-redirect.js":               "text/javascript; charset=utf-8",
	"LICENSE.swagger-ui":               "text/plain; charset=utf-8",
	"NOTICE.swagger-ui":                "text/plain; charset=utf-8",
	"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
}

// Routes returns /openapi.json, the /docs page and its files.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/openapi.json", h.handleDocument),
		route.Func("GET", "/docs", h.handlePage),
		route.Func("GET", "/docs/{asset}", h.handleAsset),
	}
}

// Document returns the OpenAPI document for h's settings.
func (h *Handler) Document() ([]byte, error) {
	issuer := strings.TrimRight(h.Issuer, "/")
	if issuer == "" {
		return nil, fmt.Errorf("openapi: issuer is required")
	}
	quoted, err := json.Marshal(issuer)
	if err != nil {
		return nil, fmt.Errorf("openapi: encode issuer: %w", err)
	}
	raw := bytes.ReplaceAll(documentTemplate, []byte("${ISSUER}"), quoted[1:len(quoted)-1])
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Info       json.RawMessage                       `json:"info"`
		Servers    json.RawMessage                       `json:"servers"`
		Tags       []json.RawMessage                     `json:"tags"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components map[string]json.RawMessage            `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("openapi: parse openapi.json: %w", err)
	}
	served := append(slices.Clip(h.Served), h.Routes()...)
	_, authorize := served.Advertised("authorization_endpoint")
	for _, r := range served {
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			return nil, fmt.Errorf("openapi: %s is served but openapi.json does not describe it", r.Pattern())
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if isOperation(method) && !served.Has(strings.ToUpper(method), path) {
				delete(ops, method)
			}
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(ops)), isOperation) {
			delete(doc.Paths, path)
		}
	}
	doc.Tags, err = usedTags(doc.Tags, doc.Paths)
	if err != nil {
		return nil, err
	}
	if !authorize || !h.PasswordGrant {
		schemes, err := dropFlows(doc.Components["securitySchemes"], !authorize, !h.PasswordGrant)
		if err != nil {
			return nil, err
		}
		doc.Components["securitySchemes"] = schemes
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: encode: %w", err)
	}
	return append(out, '\n'), nil
}

// isOperation tells the operations of a path item from its other fields
// (summary, parameters, servers, extensions).
func isOperation(key string) bool {
	switch key {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

// usedTags drops the tags no operation carries (so the page shows no empty
// sections).
func usedTags(tags []json.RawMessage, paths map[string]map[string]json.RawMessage) ([]json.RawMessage, error) {
	used := map[string]bool{}
	for path, ops := range paths {
		for method, op := range ops {
			if !isOperation(method) {
				continue
			}
			var o struct {
				Tags []string `json:"tags"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				return nil, fmt.Errorf("openapi: operation %s %s: %w", method, path, err)
			}
			for _, t := range o.Tags {
				used[t] = true
			}
		}
	}
	var out []json.RawMessage
	for _, raw := range tags {
		var t struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("openapi: tag: %w", err)
		}
		if used[t.Name] {
			out = append(out, raw)
		}
	}
	return out, nil
}

// dropFlows removes the authorization-code and password flows.
func dropFlows(raw json.RawMessage, code, password bool) (json.RawMessage, error) {
	var schemes map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &schemes); err != nil {
		return nil, fmt.Errorf("openapi: security schemes: %w", err)
	}
	for name, s := range schemes {
		if string(s["type"]) != `"oauth2"` {
			continue
		}
		var flows map[string]json.RawMessage
		if err := json.Unmarshal(s["flows"], &flows); err != nil {
			return nil, fmt.Errorf("openapi: flows of %s: %w", name, err)
		}
		if code {
			delete(flows, "authorizationCode")
		}
		if password {
			delete(flows, "password")
		}
		b, err := json.Marshal(flows)
		if err != nil {
			return nil, err
		}
		s["flows"] = b
	}
	return json.Marshal(schemes)
}

// load builds the document and reads the assets once.
func (h *Handler) load() error {
	h.once.Do(func() {
		doc, err := h.Document()
		if err != nil {
			h.err = err
			return
		}
		h.doc = newFile(doc, "application/json")
		page, err := assets.ReadFile("assets/index.html")
		if err != nil {
			h.err = fmt.Errorf("openapi: %w", err)
			return
		}
		h.page = newFile(page, "text/html; charset=utf-8")
		h.files = make(map[string]*file, len(assetTypes))
		for name, ct := range assetTypes {
			b, err := assets.ReadFile("assets/" + name)
			if err != nil {
				h.err = fmt.Errorf("openapi: %w", err)
				return
			}
			h.files[name] = newFile(b, ct)
		}
		h.csp = PageCSP(h.Issuer)
	})
	return h.err
}

func newFile(b []byte, contentType string) *file {
	sum := sha256.Sum256(b)
	return &file{body: b, contentType: contentType, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

// PageCSP is the Content-Security-Policy of the /docs page: its own
// scripts, styles and images only (Swagger UI draws some icons from data:
// URLs), and requests to its own origin and the issuer's.
func PageCSP(issuer string) string {
	connect := "'self'"
	if u, err := url.Parse(issuer); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src " + connect + "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

func (h *Handler) handleDocument(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	// Any page may read the document (it holds nothing secret), so tools
	// on other origins can load it.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	h.serve(w, r, h.doc)
}

func (h *Handler) handlePage(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	w.Header().Set("Content-Security-Policy", h.csp)
	h.serve(w, r, h.page)
}

func (h *Handler) handleAsset(w http.ResponseWriter, r *http.Request) {
	if !h.ready(w, r) {
		return
	}
	f, ok := h.files[r.PathValue("asset")]
	if !ok {
		jsonerror.Write(w, http.StatusNotFound, "not_found", "no such file")
		return
	}
	if strings.HasPrefix(f.contentType, "text/html") {
		w.Header().Set("Content-Security-Policy", h.csp)
	}
	h.serve(w, r, f)
}

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) bool {
	if err := h.load(); err != nil {
		if h.Logger != nil {
			h.Logger.ErrorContext(r.Context(), "openapi document", "err", err)
		}
		jsonerror.Write(w, http.StatusInternalServerError, "server_error", "internal error")
		return false
	}
	return true
}

// serve writes f, gzipped when the client accepts it, with an ETag that
// lets the browser revalidate instead of downloading again.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	hd.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if len(body) > 1024 && acceptsGzip(r) {
		body = f.gzipped()
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(f.body)
		_ = zw.Close()
		f.gz = buf.Bytes()
	})
	return f.gz
}

func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			// RFC 9110 §12.4.2: q=0 means "not acceptable".
			for p := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					q, err := strconv.ParseFloat(v, 64)
					return err == nil && q > 0
				}
			}
			return true
		}
	}
	return false
}
