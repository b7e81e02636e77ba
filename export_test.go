package gatehouse

import "github.com/gatehouse/gatehouse/internal/route"

// RouteList returns the server's one list of routes, for the white-box
// test of the composition root (TestOpenAPIMatchesRoutes).
func RouteList(s *Server) route.List { return s.routes }
