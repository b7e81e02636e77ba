package api

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// LogoutHandler serves POST /users/me/logout: the caller logs themself out
// everywhere (with a password login or the account scope, see
// manage.ScopeAccount). Every access and refresh token issued to them until now is
// refused on every replica and every guard that follows the revocation
// feed; their API keys keep working (revoke those with DELETE
// /api-keys/{id}).
type LogoutHandler struct {
	Manager *manage.Manager
	Guard   *guard.Guard
	Logger  *slog.Logger
	// ActorFrom extracts IP, user agent and request id for the audit log.
	ActorFrom func(r *http.Request) manage.Actor
}

// Logout is the body of a successful POST /users/me/logout.
type Logout struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	LoggedOut  bool   `json:"logged_out"`
	AuthMethod string `json:"auth_method"`
}

// Mount registers the route.
func (h *LogoutHandler) Mount(mux *http.ServeMux) {
	mux.Handle("POST /users/me/logout", h.Guard.Require()(http.HandlerFunc(h.handleLogout)))
}

func (h *LogoutHandler) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	if err := selfOnly(p); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	u, err := h.Manager.LogoutOwn(r.Context(), ActorOf(r, p, h.ActorFrom), Credential(p))
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Logout{
		ID: u.ID, Username: u.Username, LoggedOut: true, AuthMethod: string(p.Method),
	})
}
