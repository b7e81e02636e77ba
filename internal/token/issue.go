package token

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// grantInfo says who a token is for; the grants fill it, issue mints.
type grantInfo struct {
	Subject  string // user id, or client id for client credentials
	UserID   string // "" for client credentials
	Username string // for the ID token's profile claims; looked up by UserID when ""
	Client   store.Client
	Scopes   []string
	AuthTime time.Time
	Nonce    string
	// FamilyID groups the tokens of one grant (a code, a login): access
	// token ids start with it so the whole grant can be revoked at once.
	FamilyID string
	// Refresh mints a refresh token (a new family, or Successor when set).
	Refresh bool
	// RefreshValue, when set, is returned as the refresh token as is (the
	// successor of a rotated token, already stored).
	RefreshValue string
}

// issue mints the access token and, as requested, a refresh token and an
// ID token.
func (h *Handler) issue(ctx context.Context, g grantInfo) (*Response, error) {
	now, err := h.issueTime(ctx, g.UserID, g.Client.ID)
	if err != nil {
		return nil, err
	}
	jti := store.NewID()
	if g.FamilyID != "" {
		jti = g.FamilyID + "." + jti
	}
	scope := oauth.ScopeString(g.Scopes)
	at, err := h.Keys.IssueAccessToken(signing.AccessClaims{
		Issuer: h.Issuer, Subject: g.Subject, Audience: []string{h.Audience},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(h.AccessTTL),
		ID: jti, ClientID: g.Client.ID, Scope: scope,
	})
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	resp := &Response{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(h.AccessTTL / time.Second),
		Scope: scope, subject: g.Subject, jti: jti,
	}
	switch {
	case g.RefreshValue != "":
		resp.RefreshToken = g.RefreshValue
	case g.Refresh:
		value, _ := secret.Mint(RefreshPrefix)
		rt := store.RefreshToken{
			Hash: secret.Hash(value), FamilyID: g.FamilyID, ClientID: g.Client.ID, UserID: g.UserID,
			Scopes: g.Scopes, AuthTime: g.AuthTime, CreatedAt: now,
			ExpiresAt: now.Add(h.RefreshTTL), IdleExpires: now.Add(h.refreshIdle()),
		}
		if err := h.Store.CreateRefreshToken(ctx, rt); err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		resp.RefreshToken = value
	}
	if g.UserID != "" && contains(g.Scopes, "openid") {
		c := signing.IDClaims{
			Issuer: h.Issuer, Subject: g.UserID, Audience: []string{g.Client.ID},
			IssuedAt: now, Expiry: now.Add(h.AccessTTL), AuthTime: g.AuthTime,
			Nonce: g.Nonce, AuthorizedParty: g.Client.ID, AccessToken: at,
		}
		// OIDC Core §5.4: profile releases the profile claims; gatehouse
		// knows the username only, so it is both preferred_username and
		// name (as at /oauth2/userinfo).
		if contains(g.Scopes, "profile") {
			name := g.Username
			if name == "" {
				u, err := h.Store.GetUser(ctx, g.UserID)
				if err != nil {
					return nil, fmt.Errorf("id token profile: %w", err)
				}
				name = u.Username
			}
			c.PreferredUsername, c.Name = name, name
		}
		idt, err := h.Keys.IssueIDToken(c)
		if err != nil {
			return nil, fmt.Errorf("issue id token: %w", err)
		}
		resp.IDToken = idt
	}
	return resp, nil
}

func (h *Handler) refreshIdle() time.Duration {
	if h.RefreshIdleTTL <= 0 || h.RefreshIdleTTL > h.RefreshTTL {
		return h.RefreshTTL
	}
	return h.RefreshIdleTTL
}

// narrow applies RFC 6749 §3.3: no requested scope means all allowed ones;
// anything beyond them is invalid_scope.
func narrow(requested, allowed []string) ([]string, error) {
	s, oerr := oauth.Narrow(requested, allowed)
	if oerr != nil {
		return nil, oerr
	}
	return s, nil
}

// maxIssueWait bounds how long issueTime waits. A revocation is at most a
// second old when it matters; a later cutoff means clocks disagree between
// replicas, and then the token is minted at once, as it would be without
// the check.
const maxIssueWait = time.Second

// issueTime returns the time a new token for user userID ("" for client
// credentials) and client clientID is issued at: now, unless their tokens
// were revoked "issued at or before" within this very second — a logout
// everywhere, a password reset, a disabled client. A JWT's iat has whole
// seconds, so a token minted in that second would be refused at once
// (guard.DenyList.Revoked); the user who logs in again right after a
// password reset would see a 401. issueTime waits for the next second
// instead (under a second, once, right after such a revocation) and
// returns a time in it.
func (h *Handler) issueTime(ctx context.Context, userID, clientID string) (time.Time, error) {
	now := h.now()
	if h.LastCutoff == nil {
		return now, nil
	}
	cut, ok := h.LastCutoff(userID, clientID)
	if !ok || cut < now.Unix() {
		return now, nil
	}
	next := time.Unix(cut+1, 0)
	wait := next.Sub(now)
	if wait > maxIssueWait {
		return now, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	// With a test clock that did not move, still stamp the next second.
	return maxTime(h.now(), next), nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
