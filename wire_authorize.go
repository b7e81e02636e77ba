package gatehouse

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/authorize"
)

// This file wires the authorization endpoint: GET/POST /oauth2/authorize
// with the server-rendered login and consent pages.

// mountAuthorize registers /oauth2/authorize and its pages.
func (s *Server) mountAuthorize(mux *http.ServeMux) {
	h := &authorize.Handler{
		Store: s.db, Manager: s.manager, Throttle: s.loginThrottle(), Audit: s.manager.Audit, Logger: s.log,
		Issuer: s.cfg.Issuer, Key: s.derivedKey("authorize-forms"), CodeTTL: s.cfg.AuthCodeTTL, SessionTTL: s.cfg.LoginSessionTTL,
		MaxBody: s.cfg.MaxBody, Now: s.cfg.Now, ActorFrom: s.actor,
	}
	h.Mount(mux)
}

// authorizeEnabled reports whether /oauth2/authorize is served (the
// discovery documents list it only then).
func (s *Server) authorizeEnabled() bool { return true }
