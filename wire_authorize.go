package gatehouse

import "net/http"

// This file wires the authorization endpoint: GET/POST /oauth2/authorize
// with the server-rendered login and consent pages.

// mountAuthorize registers /oauth2/authorize and its pages.
func (s *Server) mountAuthorize(mux *http.ServeMux) {}

// authorizeEnabled reports whether /oauth2/authorize is served (the
// discovery documents list it only then).
func (s *Server) authorizeEnabled() bool { return false }
