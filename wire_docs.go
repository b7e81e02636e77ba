package gatehouse

import "net/http"

// This file wires the developer surface: GET /openapi.json and the /docs
// page.

// mountDocs registers /openapi.json and /docs.
func (s *Server) mountDocs(mux *http.ServeMux) {}
