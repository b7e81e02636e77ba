package oauthsrv

import (
	"encoding/json"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// UserInfo is the OIDC Core §5.3.2 response: sub always, the profile
// claims gatehouse knows when the token carries the profile scope.
type UserInfo struct {
	Sub               string `json:"sub"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
}

// ScopeProfile is the OIDC scope that releases the profile claims.
const ScopeProfile = "profile"

// handleUserInfo is OIDC Core §5.3: a bearer access token carrying the
// openid scope, sent in the Authorization header (RFC 6750 §2.1) or, on
// POST, as the access_token form parameter (§2.2). Errors follow RFC 6750
// §3: 401 with a Bearer challenge (no error code when no token was sent),
// 403 insufficient_scope without openid.
func (h *Handler) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	p, err := h.userInfoPrincipal(r)
	if err != nil {
		guard.WriteError(w, err, h.Guard.Realm())
		return
	}
	if p.Method != guard.MethodBearer || !principalIsUser(p) {
		guard.WriteError(w, &guard.Error{Status: http.StatusUnauthorized, Code: guard.CodeInvalidToken,
			Description: "userinfo needs an access token issued to a user"}, h.Guard.Realm())
		return
	}
	if !p.HasScope(oauth.ScopeOpenID) {
		guard.WriteError(w, &guard.Error{Status: http.StatusForbidden, Code: guard.CodeInsufficientScope,
			Description: "the token lacks the openid scope", Scope: oauth.ScopeOpenID}, h.Guard.Realm())
		return
	}
	u, ok, err := h.Users.Get(r.Context(), p.Subject)
	if err != nil {
		if h.Logger != nil {
			h.Logger.ErrorContext(r.Context(), "userinfo: get user", "err", err)
		}
		guard.WriteError(w, err, h.Guard.Realm())
		return
	}
	if !ok || u.Disabled {
		guard.WriteError(w, &guard.Error{Status: http.StatusUnauthorized, Code: guard.CodeInvalidToken,
			Description: "the token's user is no longer active"}, h.Guard.Realm())
		return
	}
	info := UserInfo{Sub: u.ID}
	if p.HasScope(ScopeProfile) {
		info.PreferredUsername, info.Name = u.Username, u.Username
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(info)
}

// userInfoPrincipal authenticates the request: the Authorization header
// through the guard, or a form access_token on POST.
func (h *Handler) userInfoPrincipal(r *http.Request) (*guard.Principal, error) {
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
				p, err := h.Guard.VerifyAccessToken(r.Context(), tok)
				if err != nil {
					return nil, err
				}
				return p, nil
			}
		}
	}
	return h.Guard.Authenticate(r)
}
