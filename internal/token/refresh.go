package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// refreshGrant is the refresh_token grant (RFC 6749 §6) with rotation on
// every use and reuse detection (RFC 9700 §4.14.2).
//
// A used token's successor is derived from the used token with an HMAC key,
// so the same successor can be handed out again during the reuse grace
// period (two browser tabs refreshing at once) without the server ever
// storing a token in plain text.
type refreshGrant struct{ h *Handler }

func (g refreshGrant) GrantType() oauth.GrantType { return oauth.GrantRefreshToken }
func (g refreshGrant) RequiresClientAuth() bool   { return true }

func (g refreshGrant) Handle(ctx context.Context, req *Request) (*Response, error) {
	value, oerr := oauth.Required(req.Form, "refresh_token")
	if oerr != nil {
		return nil, oerr
	}
	invalid := oauth.Errorf(oauth.InvalidGrant, "refresh token is invalid, expired or revoked")
	if _, err := secret.Parse(RefreshPrefix, value); err != nil {
		return nil, invalid
	}
	h := g.h
	now := h.now()
	old, err := h.Store.GetRefreshToken(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	if old.ClientID != req.Client.ID {
		// RFC 6749 §6: the token is bound to the client it was issued to.
		return nil, invalid
	}
	if old.RevokedAt != nil || !now.Before(old.ExpiresAt) {
		return nil, invalid
	}
	if old.UsedAt == nil && !now.Before(old.IdleExpires) {
		return nil, invalid
	}
	u, err := h.Store.GetUser(ctx, old.UserID)
	if err != nil || u.Disabled {
		return nil, invalid
	}
	// A real token (even a used one, whose replay is handled below).
	if err := req.prove(); err != nil {
		return nil, err
	}
	// The token keeps its scopes (RFC 6749 §6); the access token may be
	// narrowed, never widened, and never beyond what the user has now and
	// the client's registration allows now.
	scopes, err := narrow(req.Scopes, oauth.StillGranted(old.Scopes, u.Scopes, req.Client.Scopes))
	if err != nil {
		return nil, err
	}
	nextValue, _ := secret.Derive(h.RefreshKey, RefreshPrefix, value)
	next := store.RefreshToken{
		Hash: secret.Hash(nextValue), FamilyID: old.FamilyID, ClientID: old.ClientID, UserID: old.UserID,
		Scopes: old.Scopes, AuthTime: old.AuthTime, CreatedAt: now,
		ExpiresAt: old.ExpiresAt, IdleExpires: minTime(now.Add(h.refreshIdle()), old.ExpiresAt),
	}
	stored, err := h.Store.RotateRefreshToken(ctx, old.Hash, next, now)
	switch {
	case errors.Is(err, store.ErrUsed):
		if h.ReuseGrace > 0 && stored.UsedAt != nil && now.Sub(*stored.UsedAt) <= h.ReuseGrace &&
			bytes.Equal(stored.SuccessorHash, next.Hash) {
			succ, serr := h.Store.GetRefreshToken(ctx, next.Hash)
			if serr == nil && succ.RevokedAt == nil {
				return h.issue(ctx, grantInfo{
					Subject: u.ID, UserID: u.ID, Client: req.Client, Scopes: scopes, AuthTime: old.AuthTime,
					FamilyID: old.FamilyID, RefreshValue: nextValue,
				})
			}
		}
		g.revokeFamily(ctx, req, old, now)
		return nil, invalid
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid
	case err != nil:
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	resp, err := h.issue(ctx, grantInfo{
		Subject: u.ID, UserID: u.ID, Client: req.Client, Scopes: scopes, AuthTime: old.AuthTime,
		FamilyID: old.FamilyID, RefreshValue: nextValue,
	})
	if err == nil {
		h.record(ctx, req.Actor, audit.TokenRefreshed, u.ID, "success", "family="+old.FamilyID)
	}
	return resp, err
}

// revokeFamily answers a replayed refresh token: every token of its family,
// refresh and access alike, is revoked (RFC 9700 §4.14.2).
func (g refreshGrant) revokeFamily(ctx context.Context, req *Request, old store.RefreshToken, now time.Time) {
	h := g.h
	if _, err := h.Store.RevokeRefreshFamily(ctx, old.FamilyID, now); err != nil && h.Logger != nil {
		h.Logger.ErrorContext(ctx, "revoke refresh family", "family", old.FamilyID, "err", err)
	}
	if h.Manager != nil && h.Manager.Revoker != nil {
		if err := h.Manager.Revoker.Revoke(ctx, guard.RevokeFamily, old.FamilyID, now, now.Add(h.AccessTTL+time.Minute)); err != nil && h.Logger != nil {
			h.Logger.ErrorContext(ctx, "publish family revocation", "family", old.FamilyID, "err", err)
		}
	}
	h.record(ctx, req.Actor, audit.TokenReuseDetected, old.UserID, "failure", "family="+old.FamilyID)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
