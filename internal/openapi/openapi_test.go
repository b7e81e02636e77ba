package openapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"github.com/gatehouse/gatehouse/internal/route"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const issuer = "https://auth.example.com"

func mustDocument(t *testing.T, h *Handler) map[string]any {
	t.Helper()
	b, err := h.Document()
	if err != nil {
		t.Fatalf("Document() error = %v", err)
	}
	if bytes.Contains(b, []byte("${ISSUER}")) {
		t.Error("Document() left a ${ISSUER} placeholder")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("Document() is not JSON: %v", err)
	}
	return m
}

// at walks a decoded JSON value along keys.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object", strings.Join(keys[:i], "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func TestDocumentSecuritySchemes(t *testing.T) {
	doc := mustDocument(t, &Handler{Issuer: issuer + "/", PasswordGrant: true, Served: documented(t, true)})
	if v := at(t, doc, "openapi"); v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	servers := at(t, doc, "servers").([]any)
	if len(servers) != 1 || at(t, servers[0], "url") != issuer {
		t.Errorf("servers = %v, want one with url %s", servers, issuer)
	}
	s := at(t, doc, "components", "securitySchemes")
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"oauth2", "type"}, "oauth2"},
		{[]string{"oauth2", "flows", "password", "tokenUrl"}, issuer + "/oauth2/token"},
		{[]string{"oauth2", "flows", "authorizationCode", "authorizationUrl"}, issuer + "/oauth2/authorize"},
		{[]string{"oauth2", "flows", "authorizationCode", "tokenUrl"}, issuer + "/oauth2/token"},
		{[]string{"bearerJWT", "type"}, "http"},
		{[]string{"bearerJWT", "scheme"}, "bearer"},
		{[]string{"bearerJWT", "bearerFormat"}, "JWT"},
		{[]string{"apiKey", "type"}, "apiKey"},
		{[]string{"apiKey", "in"}, "header"},
		{[]string{"apiKey", "name"}, "X-API-Key"},
	}
	for _, tc := range tests {
		if got := at(t, s, tc.path...); got != tc.want {
			t.Errorf("securitySchemes.%s = %v, want %q", strings.Join(tc.path, "."), got, tc.want)
		}
	}
}

func TestDocumentFeatures(t *testing.T) {
	tests := []struct {
		name            string
		password, authz bool
		wantFlows       []string
	}{
		{"all on", true, true, []string{"authorizationCode", "password"}},
		{"no authorize", true, false, []string{"password"}},
		{"no password grant", false, true, []string{"authorizationCode"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := mustDocument(t, &Handler{Issuer: issuer, PasswordGrant: tc.password, Served: documented(t, tc.authz)})
			flows := at(t, doc, "components", "securitySchemes", "oauth2", "flows").(map[string]any)
			got := slices.Sorted(maps.Keys(flows))
			if !slices.Equal(got, tc.wantFlows) {
				t.Errorf("flows = %v, want %v", got, tc.wantFlows)
			}
			_, documentsAuthorize := at(t, doc, "paths").(map[string]any)["/oauth2/authorize"]
			if documentsAuthorize != tc.authz {
				t.Errorf("/oauth2/authorize documented = %v, served = %v", documentsAuthorize, tc.authz)
			}
			for _, tag := range at(t, doc, "tags").([]any) {
				name := at(t, tag, "name").(string)
				if !tagUsed(doc, name) {
					t.Errorf("tag %q has no operation", name)
				}
			}
		})
	}
}

// TestDocumentRefusesUndocumentedRoutes: a served route the file does
// not describe stops the document (and so the server) from being built.
func TestDocumentRefusesUndocumentedRoutes(t *testing.T) {
	served := append(documented(t, true), route.Func("GET", "/nowhere", func(http.ResponseWriter, *http.Request) {}))
	if _, err := (&Handler{Issuer: issuer, Served: served}).Document(); err == nil || !strings.Contains(err.Error(), "GET /nowhere") {
		t.Errorf("Document() with an undocumented route: error = %v, want one naming GET /nowhere", err)
	}
}

// documented returns a route for every operation in openapi.json other
// than the handler's own, as if the server served them all; without
// authorize, /oauth2/authorize is left out, and the authorization
// endpoint is advertised only with it.
func documented(t *testing.T, authorize bool) route.List {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(documentTemplate, &doc); err != nil {
		t.Fatal(err)
	}
	own := route.List((&Handler{}).Routes())
	var l route.List
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		for method := range doc.Paths[path] {
			m := strings.ToUpper(method)
			if !isOperation(method) || own.Has(m, path) || (path == "/oauth2/authorize" && !authorize) {
				continue
			}
			r := route.Func(m, path, func(http.ResponseWriter, *http.Request) {})
			if path == "/oauth2/authorize" && m == "GET" {
				r = r.Advertised("authorization_endpoint")
			}
			l = append(l, r)
		}
	}
	return l
}

func tagUsed(doc map[string]any, name string) bool {
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			o, _ := op.(map[string]any)
			tags, _ := o["tags"].([]any)
			for _, t := range tags {
				if t == name {
					return true
				}
			}
		}
	}
	return false
}

// TestDocumentWellFormed checks what a code generator would trip over:
// every $ref resolves, every path parameter is declared, every operation
// has a unique operationId, tags, security and responses.
func TestDocumentWellFormed(t *testing.T) {
	raw, err := (&Handler{Issuer: issuer, PasswordGrant: true, Served: documented(t, true)}).Document()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllSubmatch(raw, -1) {
		at(t, doc, strings.Split(string(m[1]), "/")...)
	}
	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for p, item := range at(t, doc, "paths").(map[string]any) {
		for method, v := range item.(map[string]any) {
			if !isOperation(method) {
				continue
			}
			op := v.(map[string]any)
			where := strings.ToUpper(method) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s and %s share operationId %q", where, prev, id)
			}
			ids[id] = where
			for _, k := range []string{"tags", "security", "responses", "summary"} {
				if _, ok := op[k]; !ok {
					t.Errorf("%s has no %s", where, k)
				}
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				pm := pv.(map[string]any)
				if ref, ok := pm["$ref"].(string); ok {
					pm = at(t, doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
				}
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, m := range param.FindAllStringSubmatch(p, -1) {
				if !declared[m[1]] {
					t.Errorf("%s does not declare its path parameter %q", where, m[1])
				}
			}
			for _, sr := range op["security"].([]any) {
				for scheme := range sr.(map[string]any) {
					at(t, doc, "components", "securitySchemes", scheme)
				}
			}
		}
	}
}

func TestDocumentIssuerIsEscaped(t *testing.T) {
	doc := mustDocument(t, &Handler{Issuer: `https://x.example/"a\b`, PasswordGrant: true})
	if got := at(t, doc, "servers").([]any)[0].(map[string]any)["url"]; got != `https://x.example/"a\b` {
		t.Errorf("servers[0].url = %q", got)
	}
	if _, err := (&Handler{}).Document(); err == nil {
		t.Error("Document() without an issuer: no error")
	}
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	route.List((&Handler{Issuer: "http://127.0.0.1:9999", PasswordGrant: true, Served: documented(t, true)}).Routes()).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// A Transport that does not decompress by itself.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestServe(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		path, wantType string
		wantStatus     int
		wantCSP        bool
	}{
		{"/openapi.json", "application/json", 200, false},
		{"/docs", "text/html; charset=utf-8", 200, true},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", 200, false},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", 200, false},
		{"/docs/init.js", "text/javascript; charset=utf-8", 200, false},
		{"/docs/oauth2-redirect.html", "text/html; charset=utf-8", 200, true},
		{"/docs/LICENSE.swagger-ui", "text/plain; charset=utf-8", 200, false},
		{"/docs/index.html", "application/json", 404, false},
		{"/docs/README.md", "application/json", 404, false},
		{"/docs/..%2fopenapi.go", "application/json", 404, false},
	}
	for _, tc := range tests {
		res, body := fetch(t, srv.URL+tc.path, nil)
		if res.StatusCode != tc.wantStatus || res.Header.Get("Content-Type") != tc.wantType {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.wantStatus, tc.wantType)
		}
		if got := res.Header.Get("Content-Security-Policy"); (got != "") != tc.wantCSP {
			t.Errorf("GET %s: Content-Security-Policy = %q, want set: %v", tc.path, got, tc.wantCSP)
		}
		if tc.wantStatus == 404 && !bytes.Contains(body, []byte(`"error":"not_found"`)) {
			t.Errorf("GET %s body = %s, want a JSON not_found error", tc.path, body)
		}
	}
}

func TestPageCSP(t *testing.T) {
	csp := PageCSP("https://auth.example.com/base")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self' https://auth.example.com;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("PageCSP() = %q, want it to contain %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("PageCSP() = %q allows unsafe sources", csp)
	}
}

// TestNoCDN fails when gatehouse's own page files load anything from
// another origin.
func TestNoCDN(t *testing.T) {
	for _, name := range []string{"assets/index.html", "assets/init.js", "assets/docs.css", "assets/oauth2-redirect.html"} {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).Find(b); m != nil {
			t.Errorf("%s loads from another origin: %s", name, m)
		}
		if bytes.Contains(b, []byte("<script>")) {
			t.Errorf("%s has an inline script, which the page's CSP refuses", name)
		}
	}
}

func TestServeGzipAndETag(t *testing.T) {
	srv := newServer(t)
	plainRes, plain := fetch(t, srv.URL+"/docs/swagger-ui-bundle.js", nil)
	if plainRes.Header.Get("Content-Encoding") != "" {
		t.Fatalf("Content-Encoding without Accept-Encoding = %q", plainRes.Header.Get("Content-Encoding"))
	}
	res, body := fetch(t, srv.URL+"/docs/swagger-ui-bundle.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzipped body differs from the plain one (err %v)", err)
	}
	if len(body) >= len(plain) {
		t.Errorf("gzipped %d bytes, plain %d", len(body), len(plain))
	}
	if res, _ := fetch(t, srv.URL+"/docs/swagger-ui-bundle.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	etag := plainRes.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res, body := fetch(t, srv.URL+"/docs/swagger-ui-bundle.js", map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match %s = %d with %d bytes, want 304 and none", etag, res.StatusCode, len(body))
	}
	if res, _ := fetch(t, srv.URL+"/docs/swagger-ui-bundle.js", map[string]string{"If-None-Match": `"other"`}); res.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another tag = %d, want 200", res.StatusCode)
	}
}
