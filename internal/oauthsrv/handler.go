package oauthsrv

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauthsrv/clientauth"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Handler serves /oauth2/revoke, /oauth2/introspect and /oauth2/userinfo.
// Every field but Logger, Audit, ActorFrom and Now is required; it is set
// by the wiring.
type Handler struct {
	Store   store.Store
	Clients *clientauth.Authenticator
	// Guard verifies access tokens (and authenticates userinfo requests).
	Guard *guard.Guard
	// APIKeys verifies API keys for introspection.
	APIKeys guard.APIKeyVerifier
	// Users looks up a token's user (for username and userinfo).
	Users *manage.UserCache
	// Revoker publishes revocations (this node's set at once, the other
	// replicas and remote guards through the feed).
	Revoker *revocation.Revoker
	Audit   *audit.Recorder
	Logger  *slog.Logger

	Issuer, Audience string
	// APIKeyPrefix and RefreshPrefix tell the credential kinds apart.
	APIKeyPrefix, RefreshPrefix string
	// AccessTTL and ClockSkew bound how long a revocation entry must live.
	AccessTTL, ClockSkew time.Duration
	MaxBody              int64
	Now                  func() time.Time
	ActorFrom            func(r *http.Request) manage.Actor
}

// Mount registers the endpoints.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth2/revoke", h.handleRevoke)
	mux.HandleFunc("POST /oauth2/introspect", h.handleIntrospect)
	mux.HandleFunc("GET /oauth2/userinfo", h.handleUserInfo)
	mux.HandleFunc("POST /oauth2/userinfo", h.handleUserInfo)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return store.Normalize(h.Now())
	}
	return store.Normalize(time.Now())
}

func (h *Handler) actor(r *http.Request) manage.Actor {
	if h.ActorFrom != nil {
		return h.ActorFrom(r)
	}
	return manage.Actor{}
}

// authenticate parses a token-style request and authenticates its client
// (RFC 7009 §2.1, RFC 7662 §2.1). Public clients are accepted by client_id
// only when allowPublic is set.
func (h *Handler) authenticate(r *http.Request, allowPublic bool) (url.Values, store.Client, error) {
	form, oerr := oauth.ParseForm(r, h.MaxBody)
	if oerr != nil {
		return nil, store.Client{}, oerr
	}
	ca, oerr := oauth.ClientCredentials(r, form)
	if oerr != nil {
		return nil, store.Client{}, oerr
	}
	c, err := h.Clients.Authenticate(r.Context(), ca)
	if err != nil {
		return nil, store.Client{}, err
	}
	if c.Public && !allowPublic {
		return nil, store.Client{}, ca.InvalidClient("a public client cannot use this endpoint")
	}
	return form, c, nil
}

// fail writes err: protocol errors as they are, anything else as a logged
// server_error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) && h.Logger != nil {
		h.Logger.ErrorContext(r.Context(), what, "err", err)
	}
	oauth.WriteError(w, err)
}

func (h *Handler) record(ctx context.Context, a manage.Actor, action audit.Action, target, result, reason string) {
	if h.Audit == nil {
		return
	}
	err := h.Audit.Record(ctx, audit.Event{
		Action: action, Actor: a.ID, Target: target, IP: a.IP, UserAgent: a.UserAgent,
		RequestID: a.RequestID, Result: result, Reason: reason,
	})
	if err != nil && h.Logger != nil {
		h.Logger.ErrorContext(ctx, "audit record failed", "action", string(action), "err", err)
	}
}

// revocationTTL is how long a revocation entry for an access token must be
// remembered: past the expiry of every token it can match.
func (h *Handler) revocationTTL() time.Duration { return h.AccessTTL + h.ClockSkew + time.Minute }
