package revoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AccessTokens verifies access tokens (guard.Guard).
type AccessTokens interface {
	VerifyAccessToken(ctx context.Context, token string) (*guard.Principal, error)
}

// RefreshTokens reads a refresh token by the hash of its value and revokes
// its family (store.OAuth).
type RefreshTokens interface {
	GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) (int64, error)
}

// Revoker publishes a revocation: this node's deny list at once, the other
// replicas and remote guards through the feed (revocation.Revoker).
type Revoker interface {
	Revoke(ctx context.Context, kind, value string, at, expires time.Time) error
}

// Handler serves POST /oauth2/revoke. Build it as a literal with its final
// fields; every field but Logger and Now is required, and nothing changes
// it afterwards. It is safe for concurrent use.
type Handler struct {
	// Clients authenticates the client that asks.
	Clients       *clientauth.Authenticator
	AccessTokens  AccessTokens
	RefreshTokens RefreshTokens
	Revoker       Revoker
	Audit         *audit.Recorder
	Logger        *slog.Logger

	// RefreshPrefix tells refresh tokens apart.
	RefreshPrefix string
	// AccessTTL and ClockSkew bound how long a revocation entry must live.
	AccessTTL, ClockSkew time.Duration
	MaxBody              int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Routes returns the endpoint.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("POST", "/oauth2/revoke", h.handleRevoke).Advertised("revocation_endpoint"),
	}
}

// handleRevoke is RFC 7009. The client authenticates (public clients by
// client_id); the token is an access token (its jti is revoked, so this
// node's guard refuses it at once and the others within the feed's delay)
// or a refresh token (its whole family is revoked, access tokens included,
// as RFC 7009 §2.1 recommends). token_type_hint only decides which kind is
// tried first. Unknown, invalid, expired or already revoked tokens, and
// tokens issued to another client, get the same 200 and change nothing
// (RFC 7009 §2.2): the answer never tells a client whether a token exists.
func (h *Handler) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(r); err != nil {
		oauth.Fail(w, r, h.Logger, "revoke", err)
		return
	}
	_ = oauth.WriteJSON(w, http.StatusOK, struct{}{})
}

func (h *Handler) serve(r *http.Request) error {
	form, oerr := oauth.ParseForm(r, h.MaxBody)
	if oerr != nil {
		return oerr
	}
	client, _, err := h.Clients.Authenticate(r, form, clientauth.Policy{Public: true})
	if err != nil {
		return err
	}
	p := oauth.NewParams(form)
	value := p.Required("token")
	hint := p.Get("token_type_hint")
	if err := p.Err(); err != nil {
		return err
	}
	actor := httpmw.Actor(r)
	actor.ID = client.ID
	kinds := []func(context.Context, audit.Actor, store.Client, string) (bool, error){h.revokeAccess, h.revokeRefresh}
	if oauth.TokenTypeHint(hint) == oauth.HintRefreshToken {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, revoke := range kinds {
		if done, err := revoke(r.Context(), actor, client, value); err != nil || done {
			return err
		}
	}
	return nil
}

// revokeAccess revokes value if it is a valid access token of client; done
// reports that value was an access token (whoever it belongs to).
func (h *Handler) revokeAccess(ctx context.Context, a audit.Actor, client store.Client, value string) (bool, error) {
	if strings.Count(value, ".") != 2 {
		return false, nil
	}
	p, err := h.AccessTokens.VerifyAccessToken(ctx, value)
	if err != nil {
		// Invalid, expired or already revoked: nothing to do.
		return true, nil
	}
	if p.ClientID != client.ID {
		h.record(ctx, a, p.TokenID, audit.ResultFailure, "not the client's token")
		return true, nil
	}
	now := h.now()
	exp := p.ExpiresAt.Add(h.ttl() - h.AccessTTL)
	if err := h.Revoker.Revoke(ctx, guard.RevokeToken, p.TokenID, now, exp); err != nil {
		return true, fmt.Errorf("revoke access token: %w", err)
	}
	h.record(ctx, a, p.TokenID, audit.ResultSuccess, "access_token")
	return true, nil
}

// revokeRefresh revokes the family of value if it is a refresh token of
// client.
func (h *Handler) revokeRefresh(ctx context.Context, a audit.Actor, client store.Client, value string) (bool, error) {
	if _, err := secret.Parse(h.RefreshPrefix, value); err != nil {
		return false, nil
	}
	rt, err := h.RefreshTokens.GetRefreshToken(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("get refresh token: %w", err)
	}
	if rt.ClientID != client.ID {
		h.record(ctx, a, "family="+rt.FamilyID, audit.ResultFailure, "not the client's token")
		return true, nil
	}
	now := h.now()
	if !now.Before(rt.ExpiresAt) {
		return true, nil
	}
	if _, err := h.RefreshTokens.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
		return true, fmt.Errorf("revoke refresh family: %w", err)
	}
	// The family's access tokens carry jti FAMILY.ID: refuse them too.
	if err := h.Revoker.Revoke(ctx, guard.RevokeFamily, rt.FamilyID, now, now.Add(h.ttl())); err != nil {
		return true, fmt.Errorf("publish family revocation: %w", err)
	}
	h.record(ctx, a, "family="+rt.FamilyID, audit.ResultSuccess, "refresh_token")
	return true, nil
}

func (h *Handler) record(ctx context.Context, a audit.Actor, target, result, reason string) {
	h.Audit.Record(ctx, a.Event(audit.TokenRevoked, target, result, reason))
}

// ttl is how long a revocation entry for an access token must be
// remembered: past the expiry of every token it can match.
func (h *Handler) ttl() time.Duration { return h.AccessTTL + h.ClockSkew + time.Minute }

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return store.Normalize(h.Now())
	}
	return store.Normalize(time.Now())
}
