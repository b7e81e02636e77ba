package gatehouse

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/wellknown"
)

// This file wires the OAuth2/OIDC endpoints beyond the token endpoint:
// /oauth2/authorize (login and consent pages), /oauth2/revoke,
// /oauth2/introspect, /oauth2/userinfo and the discovery documents.

// mountOAuth registers the OAuth2/OIDC endpoints other than the token
// endpoint on mux.
func (s *Server) mountOAuth(mux *http.ServeMux) {
	s.mountAuthorize(mux)
	s.discovery().Mount(mux)
}

// discovery describes what the server supports; the documents list only
// what works.
func (s *Server) discovery() *wellknown.Handler {
	return &wellknown.Handler{Issuer: s.cfg.Issuer, Keys: s.keys, PasswordGrant: !s.cfg.DisablePasswordGrant,
		Authorize: s.authorizeEnabled()}
}
