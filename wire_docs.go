package gatehouse

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/openapi"
)

// This file wires the developer surface: GET /openapi.json and the /docs
// page.

// mountDocs registers /openapi.json, /docs and the page's files.
func (s *Server) mountDocs(mux *http.ServeMux) {
	h := &openapi.Handler{
		Issuer:        s.cfg.Issuer,
		PasswordGrant: !s.cfg.DisablePasswordGrant,
		Authorize:     s.authorizeEnabled(),
		Logger:        s.log,
	}
	h.Mount(mux)
}
