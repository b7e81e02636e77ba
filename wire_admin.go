package gatehouse

import "net/http"

// This file wires the operator REST API under /admin/ (admin scope).

// mountAdmin registers /admin/*.
func (s *Server) mountAdmin(mux *http.ServeMux) {}
