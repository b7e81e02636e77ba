package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Handler serves the resource API.
type Handler struct {
	Manager *manage.Manager
	Guard   *guard.Guard
	Logger  *slog.Logger
	// ActorFrom extracts IP, user agent and request id for the audit log.
	ActorFrom func(r *http.Request) manage.Actor
}

// Mount registers the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	authed := h.Guard.Require()
	mux.Handle("GET /users/me", authed(http.HandlerFunc(h.handleMe)))
	mux.Handle("POST /api-keys", authed(http.HandlerFunc(h.handleCreateKey)))
	mux.Handle("GET /api-keys", authed(http.HandlerFunc(h.handleListKeys)))
	mux.Handle("DELETE /api-keys/{id}", authed(http.HandlerFunc(h.handleRevokeKey)))
}

// Me is the body of GET /users/me.
type Me struct {
	ID         string   `json:"id"`
	Username   string   `json:"username"`
	Scopes     []string `json:"scopes"`
	AuthMethod string   `json:"auth_method"`
	ClientID   string   `json:"client_id,omitempty"`
}

func (h *Handler) handleMe(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	me := Me{ID: p.Subject, Username: p.Username, Scopes: p.Scopes, AuthMethod: string(p.Method), ClientID: p.ClientID}
	if me.Scopes == nil {
		me.Scopes = []string{}
	}
	writeJSON(w, http.StatusOK, me)
}

// APIKey is the JSON shape of an API key (the `apikey create --json` shape;
// Key is set only in the creation response).
type APIKey struct {
	ID         string     `json:"id"`
	Key        string     `json:"key,omitempty"`
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	User       string     `json:"user"`
	UserID     string     `json:"user_id"`
	Scopes     []string   `json:"scopes"`
	RateLimit  string     `json:"rate_limit,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// KeyJSON converts a stored key; username may be "".
func KeyJSON(k store.APIKey, username string) APIKey {
	sc := k.Scopes
	if sc == nil {
		sc = []string{}
	}
	return APIKey{
		ID: k.ID, Prefix: k.Prefix, Name: k.Name, User: username, UserID: k.UserID, Scopes: sc,
		RateLimit: k.RateLimit, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
		RevokedAt: k.RevokedAt,
	}
}

type createKeyRequest struct {
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	ExpiresIn string   `json:"expires_in"`
	RateLimit string   `json:"rate_limit"`
}

func (h *Handler) actor(r *http.Request, p *guard.Principal) manage.Actor {
	return ActorOf(r, p, h.ActorFrom)
}

// Credential describes p for manage's account rules (who may manage a
// user's keys and sessions).
func Credential(p *guard.Principal) manage.Credential {
	c := manage.Credential{UserID: p.Subject, Scopes: p.Scopes}
	if p.Method == guard.MethodAPIKey {
		c.KeyID = p.KeyID
	} else {
		c.ClientID = p.ClientID
	}
	return c
}

// selfOnly refuses callers that are not users (client-credentials tokens).
func selfOnly(p *guard.Principal) error {
	if p.IsClient() {
		return errorf(http.StatusForbidden, "not_a_user", "this endpoint needs a user's credential, not a client's")
	}
	return nil
}

func (h *Handler) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	if err := selfOnly(p); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var req createKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	// The new key is bounded by the caller's credential as well as by the
	// user: a token or key with fewer scopes cannot mint a wider key.
	in := manage.NewAPIKey{Name: req.Name, Scopes: req.Scopes, RateLimit: req.RateLimit}
	if req.ExpiresIn != "" {
		d, err := manage.ParseDuration(req.ExpiresIn)
		if err != nil || d == 0 {
			writeError(w, r, h.Logger, errorf(http.StatusBadRequest, "invalid_expiry", "expires_in must be a duration such as 90d or 12h"))
			return
		}
		in.ExpiresIn = d
	}
	k, err := h.Manager.CreateOwnAPIKey(r.Context(), h.actor(r, p), Credential(p), in)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	out := KeyJSON(k.APIKey, k.Username)
	out.Key = k.Secret
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) handleListKeys(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	if err := selfOnly(p); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	page, err := ParsePage(r)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	ks, err := h.Manager.ListUserAPIKeys(r.Context(), p.Subject, page.After, page.Limit+1)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	items := make([]APIKey, 0, len(ks))
	for _, k := range ks {
		items = append(items, KeyJSON(k, p.Username))
	}
	WritePage(w, items, page.Limit, func(k APIKey) string { return k.ID })
}

func (h *Handler) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	if err := selfOnly(p); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	k, err := h.Manager.RevokeOwnAPIKey(r.Context(), h.actor(r, p), Credential(p), r.PathValue("id"))
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, KeyJSON(k, p.Username))
}
