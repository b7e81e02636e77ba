package gatehouse_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The composition root's white-box test. The server's routes are one list
// (internal/route); /openapi.json is built from it and refuses to describe
// a route that the hand-written file lacks, so this test checks the other
// direction: the list and the file name the same operations. That every
// documented operation reaches a handler of the running server is
// e2e.TestOpenAPIRoutesAreServed. The root's other tests are the godoc
// examples; the end-to-end tests are package e2e.

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

// TestOpenAPIMatchesRoutes: with every optional feature on, the
// hand-written document and the server's route list name the same
// operations.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv, err := gatehouse.New(t.Context(), gatehouse.Config{
		DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"), Issuer: "http://gatehouse.test",
		Secret: make([]byte, 32), InsecureFastPasswordHashing: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("gatehouse.New: %v", err)
	}
	defer srv.Close()
	raw, err := os.ReadFile(filepath.Join("internal", "openapi", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	documented := documentRoutes(t, raw)
	served := map[string]string{}
	for _, r := range gatehouse.RouteList(srv) {
		served[routeKey(r.Method, r.Path)] = r.Pattern()
		if _, ok := documented[routeKey(r.Method, r.Path)]; !ok {
			t.Errorf("%s is served but internal/openapi/openapi.json does not describe it", r.Pattern())
		}
	}
	for key, spelled := range documented {
		if _, ok := served[key]; !ok {
			t.Errorf("internal/openapi/openapi.json describes %q, which the server does not serve", spelled)
		}
	}
	if len(served) < 10 {
		t.Fatalf("the route list has only %d routes", len(served))
	}
}
