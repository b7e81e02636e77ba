package token

import (
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

// codeGrant redeems an authorization code (RFC 6749 §4.1.3) with PKCE
// (RFC 7636 §4.6). Codes are single-use; a replayed code revokes every
// token issued from it (RFC 6749 §4.1.2).
type codeGrant struct{ h *Handler }

func (g codeGrant) GrantType() oauth.GrantType { return oauth.GrantAuthorizationCode }
func (g codeGrant) RequiresClientAuth() bool   { return true }

func (g codeGrant) Handle(ctx context.Context, req *Request) (*Response, error) {
	code, oerr := oauth.Required(req.Form, "code")
	if oerr != nil {
		return nil, oerr
	}
	redirectURI, oerr := oauth.Single(req.Form, "redirect_uri")
	if oerr != nil {
		return nil, oerr
	}
	verifier, oerr := oauth.Single(req.Form, "code_verifier")
	if oerr != nil {
		return nil, oerr
	}
	invalid := oauth.Errorf(oauth.InvalidGrant, "authorization code is invalid, expired or already used")
	if _, err := secret.Parse(CodePrefix, code); err != nil {
		return nil, invalid
	}
	h := g.h
	now := h.now()
	c, err := h.Store.ConsumeAuthCode(ctx, secret.Hash(code), now)
	switch {
	case errors.Is(err, store.ErrUsed):
		if c.ClientID == req.Client.ID {
			g.revokeGrant(ctx, req, c, now)
		}
		return nil, invalid
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid
	case err != nil:
		return nil, fmt.Errorf("consume code: %w", err)
	}
	// Client mix-up: a code is bound to the client it was issued to.
	if c.ClientID != req.Client.ID || !now.Before(c.ExpiresAt) {
		return nil, invalid
	}
	// RFC 6749 §4.1.3: redirect_uri must be identical when it was sent.
	if c.RedirectURI != redirectURI {
		return nil, oauth.Errorf(oauth.InvalidGrant, "redirect_uri does not match the authorization request")
	}
	// The client's registration may have changed since the code was
	// issued: its redirect URI must still be registered.
	if _, ok := oauth.MatchRedirectURI(req.Client.RedirectURIs, c.RedirectURI); !ok {
		return nil, oauth.Errorf(oauth.InvalidGrant, "redirect_uri is no longer registered for this client")
	}
	switch {
	case c.CodeChallenge != "":
		if verifier == "" {
			return nil, oauth.Errorf(oauth.InvalidGrant, "code_verifier is required")
		}
		if !oauth.VerifyPKCE(verifier, c.CodeChallenge, c.CodeChallengeMethod) {
			return nil, oauth.Errorf(oauth.InvalidGrant, "code_verifier does not match the code challenge")
		}
	case verifier != "":
		return nil, oauth.Errorf(oauth.InvalidGrant, "code_verifier sent but no code_challenge was")
	case req.Client.Public:
		return nil, oauth.Errorf(oauth.InvalidGrant, "PKCE is required for public clients")
	}
	u, err := h.Store.GetUser(ctx, c.UserID)
	if err != nil || u.Disabled {
		return nil, invalid
	}
	// The code is spent either way (ConsumeAuthCode is the one atomic
	// step): a public client over its budget must start a new flow.
	if err := req.prove(); err != nil {
		return nil, err
	}
	scopes := oauth.StillGranted(c.Scopes, u.Scopes, req.Client.Scopes)
	return h.issue(ctx, grantInfo{
		Subject: u.ID, UserID: u.ID, Username: u.Username, Client: req.Client, Scopes: scopes, AuthTime: c.AuthTime,
		Nonce: c.Nonce, FamilyID: c.GrantID,
		Refresh: contains(req.Client.GrantTypes, string(oauth.GrantRefreshToken)) &&
			(contains(scopes, "offline_access") || !contains(scopes, "openid")),
	})
}

func (g codeGrant) revokeGrant(ctx context.Context, req *Request, c store.AuthCode, now time.Time) {
	h := g.h
	if _, err := h.Store.RevokeRefreshFamily(ctx, c.GrantID, now); err != nil && h.Logger != nil {
		h.Logger.ErrorContext(ctx, "revoke code grant", "err", err)
	}
	if h.Manager != nil && h.Manager.Revoker != nil {
		if err := h.Manager.Revoker.Revoke(ctx, guard.RevokeFamily, c.GrantID, now, now.Add(h.AccessTTL+time.Minute)); err != nil && h.Logger != nil {
			h.Logger.ErrorContext(ctx, "publish code grant revocation", "err", err)
		}
	}
	h.record(ctx, req.Actor, audit.CodeReplayed, c.UserID, "failure", "grant="+c.GrantID)
}
