package userinfo

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Tokens authenticates a request's bearer token, or a token taken from a
// form, and names the realm of its challenges (guard.Guard).
type Tokens interface {
	Authenticate(r *http.Request) (*guard.Principal, error)
	VerifyAccessToken(ctx context.Context, token string) (*guard.Principal, error)
	Realm() string
}

// Users looks a token's user up (authn.UserCache); ok is false for an
// unknown user.
type Users interface {
	Get(ctx context.Context, id string) (u store.User, ok bool, err error)
}

// Handler serves /oauth2/userinfo. Build it as a literal with its final
// fields; Tokens and Users are required, and nothing changes it
// afterwards. It is safe for concurrent use.
type Handler struct {
	Tokens  Tokens
	Users   Users
	Logger  *slog.Logger
	MaxBody int64
}

// Response is the OIDC Core §5.3.2 response: sub always, the profile
// claims gatehouse knows when the token carries the profile scope.
type Response struct {
	Sub               string `json:"sub"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
}

// ScopeProfile is the OIDC scope that releases the profile claims
// (OIDC Core §5.4).
const ScopeProfile = "profile"

// Routes returns the endpoint, on GET and POST (OIDC Core §5.3.1).
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/oauth2/userinfo", h.handleUserInfo).Advertised("userinfo_endpoint"),
		route.Func("POST", "/oauth2/userinfo", h.handleUserInfo),
	}
}

// handleUserInfo is OIDC Core §5.3: a bearer access token carrying the
// openid scope, sent in the Authorization header (RFC 6750 §2.1) or, on
// POST, as the access_token form parameter (§2.2). Errors follow RFC 6750
// §3: 401 with a Bearer challenge (no error code when no token was sent),
// 403 insufficient_scope without openid.
func (h *Handler) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	info, err := h.serve(r)
	if err != nil {
		guard.WriteError(w, err, h.Tokens.Realm())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(info)
}

func (h *Handler) serve(r *http.Request) (Response, error) {
	p, err := h.principal(r)
	if err != nil {
		return Response{}, err
	}
	if p.Method != guard.MethodBearer || p.Subject == "" || p.IsClient() {
		return Response{}, &guard.Error{Status: http.StatusUnauthorized, Code: guard.CodeInvalidToken,
			Description: "userinfo needs an access token issued to a user"}
	}
	if !p.HasScope(oauth.ScopeOpenID) {
		return Response{}, &guard.Error{Status: http.StatusForbidden, Code: guard.CodeInsufficientScope,
			Description: "the token lacks the openid scope", Scope: oauth.ScopeOpenID}
	}
	u, ok, err := h.Users.Get(r.Context(), p.Subject)
	if err != nil {
		if h.Logger != nil {
			h.Logger.ErrorContext(r.Context(), "userinfo: get user", "err", err)
		}
		return Response{}, err
	}
	if !ok || u.Disabled {
		return Response{}, &guard.Error{Status: http.StatusUnauthorized, Code: guard.CodeInvalidToken,
			Description: "the token's user is no longer active"}
	}
	info := Response{Sub: u.ID}
	if p.HasScope(ScopeProfile) {
		info.PreferredUsername, info.Name = u.Username, u.Username
	}
	return info, nil
}

// principal authenticates the request: the Authorization header through
// the guard, or a form access_token on POST.
func (h *Handler) principal(r *http.Request) (*guard.Principal, error) {
	if r.Method == http.MethodPost && r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			form, oerr := oauth.ParseForm(r, h.MaxBody)
			if oerr != nil {
				return nil, &guard.Error{Status: http.StatusBadRequest, Code: guard.CodeInvalidRequest, Description: oerr.Description}
			}
			tok, oerr := oauth.Single(form, "access_token")
			if oerr != nil {
				return nil, &guard.Error{Status: http.StatusBadRequest, Code: guard.CodeInvalidRequest, Description: oerr.Description}
			}
			if tok != "" {
				return h.Tokens.VerifyAccessToken(r.Context(), tok)
			}
		}
	}
	return h.Tokens.Authenticate(r)
}
