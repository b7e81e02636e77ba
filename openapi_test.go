package gatehouse_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/openapi"
)

// The OpenAPI consistency tests. Go's ServeMux cannot list its patterns,
// so the routes are found two ways:
//
//   - in the source: every Handle/HandleFunc call in the root package and
//     internal/... (the guard is a library and serves nothing itself) whose
//     pattern is a "METHOD /path" string constant;
//   - in the running server: every documented operation, sent to a test
//     server, must reach a handler, not jsonMux's "no such endpoint" 404 or
//     its 405.

// sourceRoute is one route registration found in the source.
type sourceRoute struct {
	key   string // "GET /api-keys/{}"
	where string // file:line
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// wildcard matches a ServeMux wildcard ({id}, {rest...}) and an OpenAPI
// path parameter ({id}).
var wildcard = regexp.MustCompile(`\{[A-Za-z_][A-Za-z0-9_]*(\.\.\.)?\}`)

// routeKey normalises "METHOD /path" so that parameter names do not
// matter: "DELETE /api-keys/{id}" → "DELETE /api-keys/{}".
func routeKey(method, path string) string {
	path = strings.TrimSuffix(path, "{$}")
	return strings.ToUpper(method) + " " + wildcard.ReplaceAllString(path, "{}")
}

// sourceRoutes parses the non-test Go files of the root package and of
// internal/... and returns the routes they register. Registrations whose
// pattern is not a constant, on a receiver named like a mux, are returned
// as problems, because the test could not check them.
func sourceRoutes(t *testing.T) (routes []sourceRoute, problems []string) {
	t.Helper()
	fset := token.NewFileSet()
	var dirs []string
	dirs = append(dirs, ".")
	err := filepath.WalkDir("internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files []*ast.File
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			files = append(files, f)
		}
		consts := stringConsts(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				where := fset.Position(call.Pos()).String()
				pattern, ok := constString(call.Args[0], consts)
				if !ok {
					if recv, isIdent := sel.X.(*ast.Ident); isIdent && strings.Contains(strings.ToLower(recv.Name), "mux") && !isPrefixLoop(recv.Name, call, f) {
						problems = append(problems, where+": route pattern is not a constant; the OpenAPI test cannot see it")
					}
					return true
				}
				method, path, hasMethod := strings.Cut(pattern, " ")
				if !hasMethod || !slices.Contains(httpMethods, method) || !strings.HasPrefix(strings.TrimSpace(path), "/") {
					problems = append(problems, where+": pattern "+strconv.Quote(pattern)+" has no method; give it one so the document can describe it")
					return true
				}
				routes = append(routes, sourceRoute{key: routeKey(method, strings.TrimSpace(path)), where: where})
				return true
			})
		}
	}
	return routes, problems
}

// isPrefixLoop reports the one known non-constant registration: the root
// package handing its mountPrefixes to the outer mux in register.
func isPrefixLoop(recv string, call *ast.CallExpr, f *ast.File) bool {
	id, ok := call.Args[0].(*ast.Ident)
	return ok && recv == "mux" && id.Name == "p" && f.Name.Name == "gatehouse"
}

// stringConsts collects the package-level string constants of files.
func stringConsts(files []*ast.File) map[string]ast.Expr {
	out := map[string]ast.Expr{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						out[name.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	return out
}

// constString evaluates a string literal, a constant of the package, or a
// concatenation of those.
func constString(e ast.Expr, consts map[string]ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return constString(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(e.X, consts)
		b, ok2 := constString(e.Y, consts)
		return a + b, ok1 && ok2
	case *ast.Ident:
		if v, ok := consts[e.Name]; ok {
			delete(consts, e.Name) // no cycles
			s, ok := constString(v, consts)
			consts[e.Name] = v
			return s, ok
		}
	}
	return "", false
}

// documentRoutes returns the operations of an OpenAPI document as route
// keys, with the document's own spelling of each.
func documentRoutes(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	out := map[string]string{}
	for path, item := range doc.Paths {
		for method := range item {
			m := strings.ToUpper(method)
			if !slices.Contains(httpMethods, m) {
				continue
			}
			out[routeKey(m, path)] = m + " " + path
		}
	}
	return out
}

// TestOpenAPIMatchesSourceRoutes fails when the source registers a route
// that /openapi.json does not describe, or the document describes one
// that nothing registers.
func TestOpenAPIMatchesSourceRoutes(t *testing.T) {
	routes, problems := sourceRoutes(t)
	for _, p := range problems {
		t.Error(p)
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in the source; the parser is broken", len(routes))
	}
	// Every optional feature on, so that every route must be described.
	raw, err := (&openapi.Handler{Issuer: "http://127.0.0.1:1", PasswordGrant: true, Authorize: true}).Document()
	if err != nil {
		t.Fatal(err)
	}
	documented := documentRoutes(t, raw)
	registered := map[string]string{}
	for _, r := range routes {
		registered[r.key] = r.where
		if _, ok := documented[r.key]; !ok {
			t.Errorf("%s registers %q, which /openapi.json does not describe (internal/openapi/openapi.json)", r.where, r.key)
		}
	}
	for key, spelled := range documented {
		if _, ok := registered[key]; !ok {
			t.Errorf("/openapi.json describes %q, which no Handle/HandleFunc in the source registers", spelled)
		}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range registered {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("%d routes checked:\n%s", len(keys), strings.Join(keys, "\n"))
}

// TestOpenAPIRoutesAreServed sends one request for every operation the
// running server documents and fails when the router matched none of its
// routes.
func TestOpenAPIRoutesAreServed(t *testing.T) {
	srv := newTestServer(t)
	res, raw := get(t, srv.URL+"/openapi.json", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Servers []struct{ URL string }     `json:"servers"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != srv.Config().Issuer {
		t.Errorf("servers = %+v, want the issuer %s", doc.Servers, srv.Config().Issuer)
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	documented := documentRoutes(t, raw)
	if len(documented) < 10 {
		t.Fatalf("the served document has only %d operations", len(documented))
	}
	for _, spelled := range documented {
		method, path, _ := strings.Cut(spelled, " ")
		// Any value will do for a path parameter: the router only has to
		// pick the route.
		url := srv.URL + wildcard.ReplaceAllString(path, "x")
		req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", spelled, err)
			continue
		}
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			_ = json.NewDecoder(res.Body).Decode(&body)
		}
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusNotFound && body.Error == "not_found" && body.ErrorDescription == "no such endpoint":
			t.Errorf("%s is documented but the server has no such route (404 no such endpoint)", spelled)
		case res.StatusCode == http.StatusMethodNotAllowed && body.Error == "method_not_allowed":
			t.Errorf("%s is documented but the server does not allow %s there (405)", spelled, method)
		case res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable:
			t.Errorf("%s with no credentials and no body = %d; want a 4xx", spelled, res.StatusCode)
		}
	}
}
