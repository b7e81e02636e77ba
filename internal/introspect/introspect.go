package introspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AccessTokens verifies access tokens (guard.Guard).
type AccessTokens interface {
	VerifyAccessToken(ctx context.Context, token string) (*guard.Principal, error)
}

// Users looks a token's user up (authn.UserCache); ok is false for an
// unknown user.
type Users interface {
	Get(ctx context.Context, id string) (u store.User, ok bool, err error)
}

// RefreshTokens reads a refresh token by the hash of its value
// (store.OAuth).
type RefreshTokens interface {
	GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error)
}

// Handler serves POST /oauth2/introspect. Build it as a literal with its
// final fields; every field but Logger and Now is required, and nothing
// changes it afterwards. It is safe for concurrent use.
type Handler struct {
	// Clients authenticates the client that asks.
	Clients       *clientauth.Authenticator
	AccessTokens  AccessTokens
	APIKeys       guard.APIKeyVerifier
	Users         Users
	RefreshTokens RefreshTokens
	Logger        *slog.Logger

	// Issuer and Audience are reported in iss and aud.
	Issuer, Audience string
	// APIKeyPrefix and RefreshPrefix tell the credential kinds apart.
	APIKeyPrefix, RefreshPrefix string
	MaxBody                     int64
	// Now is the clock for refresh-token expiry; nil means time.Now.
	Now func() time.Time
}

// Response is an RFC 7662 §2.2 response. An inactive token is answered
// with {"active":false} and nothing else.
type Response struct {
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

// Routes returns the endpoint.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("POST", "/oauth2/introspect", h.handleIntrospect).Advertised("introspection_endpoint"),
	}
}

// handleIntrospect is RFC 7662. Only authenticated confidential clients
// may ask (401 invalid_client otherwise, §2.1); any of them may introspect
// access tokens and API keys (they are resource servers), but a refresh
// token only by the client it was issued to. token_type_hint is accepted
// and not needed: the kinds are told apart by their shape.
func (h *Handler) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	resp, err := h.serve(r)
	if err != nil {
		oauth.Fail(w, r, h.Logger, "introspect", err)
		return
	}
	_ = oauth.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handler) serve(r *http.Request) (Response, error) {
	form, oerr := oauth.ParseForm(r, h.MaxBody)
	if oerr != nil {
		return Response{}, oerr
	}
	// Confidential clients only: the endpoint must be protected (RFC 7662
	// §2.1), and a public client proves nothing by its client_id.
	client, _, err := h.Clients.Authenticate(r, form, clientauth.Policy{})
	if err != nil {
		return Response{}, err
	}
	p := oauth.NewParams(form)
	value := p.Required("token")
	p.Get("token_type_hint")
	if err := p.Err(); err != nil {
		return Response{}, err
	}
	resp, err := h.introspect(r.Context(), client, value)
	if err != nil || !resp.Active {
		return Response{}, err
	}
	return resp, nil
}

func (h *Handler) introspect(ctx context.Context, client store.Client, value string) (Response, error) {
	switch {
	case secret.Looks(h.APIKeyPrefix, value):
		return h.introspectAPIKey(ctx, value)
	case secret.Looks(h.RefreshPrefix, value):
		return h.introspectRefresh(ctx, client, value)
	case strings.Count(value, ".") == 2:
		return h.introspectAccess(ctx, value)
	}
	return Response{}, nil
}

func (h *Handler) introspectAccess(ctx context.Context, value string) (Response, error) {
	p, err := h.AccessTokens.VerifyAccessToken(ctx, value)
	if err != nil {
		return Response{}, nil // invalid, expired, revoked, foreign
	}
	out := Response{
		Active: true, Scope: strings.Join(p.Scopes, " "), ClientID: p.ClientID, TokenType: TypeAccessToken,
		Sub: p.Subject, Iss: h.Issuer, Jti: p.TokenID, Aud: []string{h.Audience},
	}
	out.Iat, out.Exp = unix(p.IssuedAt), unix(p.ExpiresAt)
	if p.Subject != "" && !p.IsClient() {
		u, ok, err := h.Users.Get(ctx, p.Subject)
		if err != nil {
			return Response{}, fmt.Errorf("get user: %w", err)
		}
		if !ok || u.Disabled {
			return Response{}, nil
		}
		out.Username = u.Username
	}
	return out, nil
}

func (h *Handler) introspectRefresh(ctx context.Context, client store.Client, value string) (Response, error) {
	if _, err := secret.Parse(h.RefreshPrefix, value); err != nil {
		return Response{}, nil
	}
	rt, err := h.RefreshTokens.GetRefreshToken(ctx, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, nil
	}
	if err != nil {
		return Response{}, fmt.Errorf("get refresh token: %w", err)
	}
	now := h.now()
	if rt.ClientID != client.ID || rt.RevokedAt != nil || rt.UsedAt != nil ||
		!now.Before(rt.ExpiresAt) || !now.Before(rt.IdleExpires) {
		return Response{}, nil
	}
	// Answer what the token can do now, as the token endpoint would: a
	// client that lost the refresh_token grant cannot use it any more.
	if !slices.Contains(client.GrantTypes, string(oauth.GrantRefreshToken)) {
		return Response{}, nil
	}
	u, ok, err := h.Users.Get(ctx, rt.UserID)
	if err != nil {
		return Response{}, fmt.Errorf("get user: %w", err)
	}
	if !ok || u.Disabled {
		return Response{}, nil
	}
	return Response{
		Active: true, Scope: oauth.ScopeString(oauth.StillGranted(rt.Scopes, u.Scopes, client.Scopes)),
		ClientID: rt.ClientID, Username: u.Username,
		TokenType: TypeRefreshToken, Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Sub: rt.UserID,
		Iss: h.Issuer, Aud: []string{rt.ClientID},
	}, nil
}

func (h *Handler) introspectAPIKey(ctx context.Context, value string) (Response, error) {
	p, err := h.APIKeys.VerifyAPIKey(ctx, value)
	if errors.Is(err, authn.ErrInvalidAPIKey) {
		return Response{}, nil
	}
	if err != nil {
		return Response{}, fmt.Errorf("verify api key: %w", err)
	}
	out := Response{
		Active: true, Scope: strings.Join(p.Scopes, " "), Username: p.Username, TokenType: TypeAPIKey,
		Sub: p.Subject, Iss: h.Issuer, Jti: p.KeyID, KeyID: p.KeyID,
	}
	out.Iat, out.Exp = unix(p.IssuedAt), unix(p.ExpiresAt)
	return out, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return store.Normalize(h.Now())
	}
	return store.Normalize(time.Now())
}

// unix is t in seconds, 0 (left out of the response) for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
