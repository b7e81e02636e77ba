// Package route is how gatehouse lists its endpoints: every endpoint
// package returns its routes as data, the composition root joins them into
// one [List] and mounts it once, and whatever describes the server — the
// discovery documents, /openapi.json, the route tests — reads the same
// list, so what is advertised and what is served cannot drift apart.
//
// It imports only the standard library.
package route

import (
	"net/http"
	"slices"
)

// Route is one endpoint: a method and a path in [http.ServeMux] pattern
// syntax ("/api-keys/{id}") and the handler that serves them.
type Route struct {
	Method  string
	Path    string
	Handler http.Handler
	// Advertise is the authorization-server metadata field (RFC 8414 §2,
	// OpenID Connect Discovery 1.0 §3) whose value is this endpoint's URL,
	// such as "token_endpoint"; empty when discovery does not name it.
	Advertise string
}

// New returns the route serving method and path with h.
func New(method, path string, h http.Handler) Route {
	return Route{Method: method, Path: path, Handler: h}
}

// Func returns the route serving method and path with f.
func Func(method, path string, f func(http.ResponseWriter, *http.Request)) Route {
	return New(method, path, http.HandlerFunc(f))
}

// Advertised returns r listed in discovery under the metadata field name.
func (r Route) Advertised(name string) Route {
	r.Advertise = name
	return r
}

// Pattern is r's [http.ServeMux] pattern, "METHOD /path".
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// List is every route a server serves, in registration order.
type List []Route

// Register adds every route of l to mux; it panics, as [http.ServeMux]
// does, when two routes conflict.
func (l List) Register(mux *http.ServeMux) {
	for _, r := range l {
		mux.Handle(r.Pattern(), r.Handler)
	}
}

// Advertised returns the route listed under the metadata field name.
func (l List) Advertised(name string) (Route, bool) {
	for _, r := range l {
		if r.Advertise == name {
			return r, true
		}
	}
	return Route{}, false
}

// Has reports whether l serves method on path (the pattern as written).
func (l List) Has(method, path string) bool {
	return slices.ContainsFunc(l, func(r Route) bool { return r.Method == method && r.Path == path })
}

// Paths returns the distinct paths of l, in order.
func (l List) Paths() []string {
	var out []string
	for _, r := range l {
		if !slices.Contains(out, r.Path) {
			out = append(out, r.Path)
		}
	}
	return out
}
