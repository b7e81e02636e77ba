package gatehouse

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauthsrv"
	"github.com/gatehouse/gatehouse/internal/oauthsrv/clientauth"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wellknown"
)

// This file wires the OAuth2/OIDC endpoints beyond the token endpoint:
// /oauth2/authorize (login and consent pages), /oauth2/revoke,
// /oauth2/introspect, /oauth2/userinfo and the discovery documents, and
// the token endpoint's client cache and aggregated issuance audit.

// oauthState is what the OAuth2 endpoints share; built once by
// Server.oauthParts.
type oauthState struct {
	once    sync.Once
	clients *clientauth.Authenticator
	issued  *token.IssueAggregator
}

// issuedFlushInterval is how often aggregated client_credentials audit
// events are written.
const issuedFlushInterval = 10 * time.Second

// oauthParts builds the shared client cache and issuance aggregator on
// first use.
func (s *Server) oauthParts() *oauthState {
	st := &s.oauth
	st.once.Do(func() {
		st.clients = &clientauth.Authenticator{Store: s.db, TTL: clientauth.DefaultTTL, Now: s.cfg.Now}
		st.issued = &token.IssueAggregator{Recorder: s.manager.Audit, Logger: s.log, Now: s.cfg.Now}
		// Client changes made on this node apply at once; other replicas'
		// caches expire within clientauth.DefaultTTL.
		s.manager.InvalidateClient = st.clients.Forget
	})
	return st
}

// configureToken gives the token endpoint the client cache and the
// aggregated audit of client_credentials issuance.
func (s *Server) configureToken(th *token.Handler) {
	st := s.oauthParts()
	th.Clients = st.clients
	th.Issued = st.issued
}

// startOAuth runs the periodic flush of the issuance audit.
func (s *Server) startOAuth(ctx context.Context, run func(func(context.Context))) {
	st := s.oauthParts()
	run(func(ctx context.Context) { st.issued.Run(ctx, issuedFlushInterval) })
}

// mountOAuth registers the OAuth2/OIDC endpoints other than the token
// endpoint on mux.
func (s *Server) mountOAuth(mux *http.ServeMux) {
	s.mountAuthorize(mux)
	oh := &oauthsrv.Handler{
		Store: s.db, Clients: s.oauthParts().clients, Guard: s.guard, APIKeys: s.verifier, Users: s.users,
		Revoker: s.manager.Revoker, Audit: s.manager.Audit, Logger: s.log,
		Issuer: s.cfg.Issuer, Audience: s.cfg.Audience,
		APIKeyPrefix: s.cfg.APIKeyPrefix, RefreshPrefix: token.RefreshPrefix,
		AccessTTL: s.cfg.AccessTokenTTL, ClockSkew: s.cfg.ClockSkew, MaxBody: s.cfg.MaxBody,
		Now: s.cfg.Now, ActorFrom: s.actor,
	}
	oh.Mount(mux)
	s.discovery().Mount(mux)
}

// discovery describes what the server supports; the documents list only
// what works.
func (s *Server) discovery() *wellknown.Handler {
	return &wellknown.Handler{Issuer: s.cfg.Issuer, Keys: s.keys, PasswordGrant: !s.cfg.DisablePasswordGrant,
		Authorize: s.authorizeEnabled(), Revocation: true, Introspection: true, UserInfo: true}
}

// EnsureFirstPartyClient creates the built-in first-party client (id
// "gatehouse", public, password and refresh_token grants) when it does not
// exist yet. New does it on start; the CLI calls it so that `client list`
// shows the client even before the first `serve`.
func (s *Server) EnsureFirstPartyClient(ctx context.Context) error {
	return s.ensureFirstPartyClient(ctx)
}
