package oauthsrv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Introspection is an RFC 7662 §2.2 response. An inactive token is
// answered with {"active":false} and nothing else.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	// KeyID is the API key's id (gatehouse's remote guard reads it).
	KeyID string `json:"key_id,omitempty"`
}

// Token types reported in token_type.
const (
	TypeAccessToken  = "Bearer"
	TypeRefreshToken = "refresh_token"
	TypeAPIKey       = "api_key"
)

// handleIntrospect is RFC 7662. Only authenticated confidential clients
// may ask (401 invalid_client otherwise, §2.1); any of them may introspect
// access tokens and API keys (they are resource servers), but a refresh
// token only by the client it was issued to. token_type_hint is accepted
// and not needed: the kinds are told apart by their shape.
func (h *Handler) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, client, err := h.authenticate(r, false)
	if err != nil {
		h.fail(w, r, "introspect", err)
		return
	}
	value, oerr := oauth.Required(form, "token")
	if oerr != nil {
		oauth.WriteError(w, oerr)
		return
	}
	if _, oerr := oauth.Single(form, "token_type_hint"); oerr != nil {
		oauth.WriteError(w, oerr)
		return
	}
	resp, err := h.introspect(r.Context(), client, value)
	if err != nil {
		h.fail(w, r, "introspect", err)
		return
	}
	if !resp.Active {
		resp = Introspection{}
	}
	_ = oauth.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) introspect(ctx context.Context, client store.Client, value string) (Introspection, error) {
	switch {
	case secret.Looks(h.APIKeyPrefix, value):
		return h.introspectAPIKey(ctx, value)
	case secret.Looks(h.RefreshPrefix, value):
		return h.introspectRefresh(ctx, client, value)
	case strings.Count(value, ".") == 2:
		return h.introspectAccess(ctx, value)
	}
	return Introspection{}, nil
}

func (h *Handler) introspectAccess(ctx context.Context, value string) (Introspection, error) {
	p, err := h.Guard.VerifyAccessToken(ctx, value)
	if err != nil {
		return Introspection{}, nil // invalid, expired, revoked, foreign
	}
	out := Introspection{
		Active: true, Scope: strings.Join(p.Scopes, " "), ClientID: p.ClientID, TokenType: TypeAccessToken,
		Sub: p.Subject, Iss: h.Issuer, Jti: p.TokenID, Aud: []string{h.Audience},
	}
	if !p.IssuedAt.IsZero() {
		out.Iat = p.IssuedAt.Unix()
	}
	if !p.ExpiresAt.IsZero() {
		out.Exp = p.ExpiresAt.Unix()
	}
	if principalIsUser(p) {
		u, ok, err := h.Users.Get(ctx, p.Subject)
		if err != nil {
			return Introspection{}, fmt.Errorf("get user: %w", err)
		}
		if !ok || u.Disabled {
			return Introspection{}, nil
		}
		out.Username = u.Username
	}
	return out, nil
}

func (h *Handler) introspectRefresh(ctx context.Context, client store.Client, value string) (Introspection, error) {
	if _, err := secret.Parse(h.RefreshPrefix, value); err != nil {
		return Introspection{}, nil
	}
	rt, err := h.Store.GetRefreshToken(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("get refresh token: %w", err)
	}
	now := h.now()
	if rt.ClientID != client.ID || rt.RevokedAt != nil || rt.UsedAt != nil ||
		!now.Before(rt.ExpiresAt) || !now.Before(rt.IdleExpires) {
		return Introspection{}, nil
	}
	// Answer what the token can do now, as the token endpoint would: a
	// client that lost the refresh_token grant cannot use it any more.
	if !slices.Contains(client.GrantTypes, string(oauth.GrantRefreshToken)) {
		return Introspection{}, nil
	}
	u, ok, err := h.Users.Get(ctx, rt.UserID)
	if err != nil {
		return Introspection{}, fmt.Errorf("get user: %w", err)
	}
	if !ok || u.Disabled {
		return Introspection{}, nil
	}
	return Introspection{
		Active: true, Scope: oauth.ScopeString(oauth.StillGranted(rt.Scopes, u.Scopes, client.Scopes)),
		ClientID: rt.ClientID, Username: u.Username,
		TokenType: TypeRefreshToken, Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Sub: rt.UserID,
		Iss: h.Issuer, Aud: []string{rt.ClientID},
	}, nil
}

func (h *Handler) introspectAPIKey(ctx context.Context, value string) (Introspection, error) {
	p, err := h.APIKeys.VerifyAPIKey(ctx, value)
	if errors.Is(err, manage.ErrInvalidAPIKey) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("verify api key: %w", err)
	}
	out := Introspection{
		Active: true, Scope: strings.Join(p.Scopes, " "), Username: p.Username, TokenType: TypeAPIKey,
		Sub: p.Subject, Iss: h.Issuer, Jti: p.KeyID, KeyID: p.KeyID,
	}
	if !p.IssuedAt.IsZero() {
		out.Iat = p.IssuedAt.Unix()
	}
	if !p.ExpiresAt.IsZero() {
		out.Exp = p.ExpiresAt.Unix()
	}
	return out, nil
}
