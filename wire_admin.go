package gatehouse

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
)

// This file wires the operator REST API under /admin/ (admin scope).

// mountAdmin registers /admin/*.
func (s *Server) mountAdmin(mux *http.ServeMux) {
	h := &admin.Handler{Manager: s.manager, Guard: s.guard, Logger: s.log, ActorFrom: s.actor, Now: s.cfg.Now}
	h.Mount(mux)
}
