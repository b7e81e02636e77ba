package rest

import (
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/service"
)

// This file serves the caller's own account: /users/me, /users/me/logout
// and /api-keys.

// selfOnly refuses callers that are not users (client-credentials tokens)
// before e runs.
func selfOnly(e endpoint) endpoint {
	return func(r *http.Request, p *guard.Principal) (reply, error) {
		if p.IsClient() {
			return reply{}, errorf(http.StatusForbidden, "not_a_user", "this endpoint needs a user's credential, not a client's")
		}
		return e(r, p)
	}
}

// credential describes p for the service layer's account rule (who may
// manage a user's keys and sessions).
func credential(p *guard.Principal) service.Credential {
	c := service.Credential{UserID: p.Subject, Scopes: p.Scopes}
	if p.Method == guard.MethodAPIKey {
		c.KeyID = p.KeyID
	} else {
		c.ClientID = p.ClientID
	}
	return c
}

func (h *Handler) me(_ *http.Request, p *guard.Principal) (reply, error) {
	return ok(Me{ID: p.Subject, Username: p.Username, Scopes: nonNil(p.Scopes), AuthMethod: string(p.Method), ClientID: p.ClientID}), nil
}

// logout serves POST /users/me/logout: the caller logs themself out
// everywhere (with a password login or the account scope, see
// service.ScopeAccount). Every access and refresh token issued to them
// until now is refused on every replica and every guard that follows the
// revocation feed; their API keys keep working (revoke those with DELETE
// /api-keys/{id}).
func (h *Handler) logout(r *http.Request, p *guard.Principal) (reply, error) {
	u, err := h.Manager.LogoutOwn(r.Context(), actorOf(r, p), credential(p))
	if err != nil {
		return reply{}, err
	}
	return ok(Logout{ID: u.ID, Username: u.Username, LoggedOut: true, AuthMethod: string(p.Method)}), nil
}

type createKeyRequest struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresIn string   `json:"expires_in"`
	RateLimit string   `json:"rate_limit"`
}

func (h *Handler) createOwnKey(r *http.Request, p *guard.Principal) (reply, error) {
	var req createKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	// The new key is bounded by the caller's credential as well as by the
	// user: a token or key with fewer scopes cannot mint a wider key.
	in := service.NewAPIKey{Name: req.Name, Scopes: req.Scopes, RateLimit: req.RateLimit}
	if req.ExpiresIn != "" {
		d, err := service.ParseDuration(req.ExpiresIn)
		if err != nil || d == 0 {
			return reply{}, errorf(http.StatusBadRequest, "invalid_expiry", "expires_in must be a duration such as 90d or 12h")
		}
		in.ExpiresIn = d
	}
	k, err := h.Manager.CreateOwnAPIKey(r.Context(), actorOf(r, p), credential(p), in)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusCreated, body: NewCreatedAPIKey(k)}, nil
}

func (h *Handler) listOwnKeys(r *http.Request, p *guard.Principal) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	ks, err := h.Manager.ListUserAPIKeys(r.Context(), p.Subject, pg.after, pg.limit+1)
	if err != nil {
		return reply{}, err
	}
	items := make([]APIKey, len(ks))
	for i, k := range ks {
		items[i] = NewAPIKey(k, p.Username)
	}
	return ok(pageOf(items, pg.limit, func(k APIKey) string { return k.ID })), nil
}

func (h *Handler) revokeOwnKey(r *http.Request, p *guard.Principal) (reply, error) {
	k, err := h.Manager.RevokeOwnAPIKey(r.Context(), actorOf(r, p), credential(p), r.PathValue("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(NewAPIKey(k, p.Username)), nil
}
