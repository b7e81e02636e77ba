package oauthsrv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// handleRevoke is RFC 7009. The client authenticates (public clients by
// client_id); the token is an access token (its jti is revoked, so this
// node's guard refuses it at once and the others within the feed's delay)
// or a refresh token (its whole family is revoked, access tokens included,
// as RFC 7009 §2.1 recommends). token_type_hint only decides which kind is
// tried first. Unknown, invalid, expired or already revoked tokens, and
// tokens issued to another client, get the same 200 and change nothing
// (RFC 7009 §2.2): the answer never tells a client whether a token exists.
func (h *Handler) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, client, err := h.authenticate(r, true)
	if err != nil {
		h.fail(w, r, "revoke", err)
		return
	}
	value, oerr := oauth.Required(form, "token")
	if oerr != nil {
		oauth.WriteError(w, oerr)
		return
	}
	hint, oerr := oauth.Single(form, "token_type_hint")
	if oerr != nil {
		oauth.WriteError(w, oerr)
		return
	}
	actor := h.actor(r)
	actor.ID = client.ID
	kinds := []func(context.Context, manage.Actor, store.Client, string) (bool, error){h.revokeAccess, h.revokeRefresh}
	if oauth.TokenTypeHint(hint) == oauth.HintRefreshToken {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, revoke := range kinds {
		done, err := revoke(r.Context(), actor, client, value)
		if err != nil {
			h.fail(w, r, "revoke", err)
			return
		}
		if done {
			break
		}
	}
	_ = oauth.WriteJSON(w, http.StatusOK, struct{}{})
}

// revokeAccess revokes value if it is a valid access token of client; done
// reports that value was an access token (whoever it belongs to).
func (h *Handler) revokeAccess(ctx context.Context, a manage.Actor, client store.Client, value string) (bool, error) {
	if strings.Count(value, ".") != 2 {
		return false, nil
	}
	p, err := h.Guard.VerifyAccessToken(ctx, value)
	if err != nil {
		// Invalid, expired or already revoked: nothing to do.
		return true, nil
	}
	if p.ClientID != client.ID {
		h.record(ctx, a, audit.TokenRevoked, p.TokenID, audit.ResultFailure, "not the client's token")
		return true, nil
	}
	now := h.now()
	exp := p.ExpiresAt.Add(h.revocationTTL() - h.AccessTTL)
	if err := h.Revoker.Revoke(ctx, store.RevokeToken, p.TokenID, now, exp); err != nil {
		return true, fmt.Errorf("revoke access token: %w", err)
	}
	h.record(ctx, a, audit.TokenRevoked, p.TokenID, audit.ResultSuccess, "access_token")
	return true, nil
}

// revokeRefresh revokes the family of value if it is a refresh token of
// client.
func (h *Handler) revokeRefresh(ctx context.Context, a manage.Actor, client store.Client, value string) (bool, error) {
	if _, err := secret.Parse(h.RefreshPrefix, value); err != nil {
		return false, nil
	}
	rt, err := h.Store.GetRefreshToken(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("get refresh token: %w", err)
	}
	if rt.ClientID != client.ID {
		h.record(ctx, a, audit.TokenRevoked, "family="+rt.FamilyID, audit.ResultFailure, "not the client's token")
		return true, nil
	}
	now := h.now()
	if !now.Before(rt.ExpiresAt) {
		return true, nil
	}
	if _, err := h.Store.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
		return true, fmt.Errorf("revoke refresh family: %w", err)
	}
	// The family's access tokens carry jti FAMILY.ID: refuse them too.
	if err := h.Revoker.Revoke(ctx, store.RevokeFamily, rt.FamilyID, now, now.Add(h.revocationTTL())); err != nil {
		return true, fmt.Errorf("publish family revocation: %w", err)
	}
	h.record(ctx, a, audit.TokenRevoked, "family="+rt.FamilyID, audit.ResultSuccess, "refresh_token")
	return true, nil
}

// principalIsUser reports whether p is a user's token (not a client's own).
func principalIsUser(p *guard.Principal) bool {
	return p.Subject != "" && !p.IsClient()
}
