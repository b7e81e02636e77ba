package admin

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/manage"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Handler serves /admin/*. Manager and Guard are required; the zero Now
// means time.Now.
type Handler struct {
	Manager *manage.Manager
	Guard   *guard.Guard
	Logger  *slog.Logger
	// ActorFrom extracts IP, user agent and request id for the audit log.
	ActorFrom func(r *http.Request) manage.Actor
	Now       func() time.Time
}

// Mount registers every admin route, each behind Guard.Require("admin").
func (h *Handler) Mount(mux *http.ServeMux) {
	admin := h.Guard.Require(manage.ScopeAdmin)
	route := func(f func(http.ResponseWriter, *http.Request, *guard.Principal) error) http.Handler {
		return admin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := guard.PrincipalFrom(r.Context())
			if err := f(w, r, p); err != nil {
				api.WriteError(w, r, h.Logger, err)
			}
		}))
	}
	mux.Handle("GET /admin/users", route(h.listUsers))
	mux.Handle("POST /admin/users", route(h.createUser))
	mux.Handle("GET /admin/users/{user}", route(h.showUser))
	mux.Handle("PUT /admin/users/{user}/scopes", route(h.setScopes))
	mux.Handle("POST /admin/users/{user}/disable", route(h.disableUser))
	mux.Handle("POST /admin/users/{user}/enable", route(h.enableUser))
	mux.Handle("POST /admin/users/{user}/password", route(h.setPassword))
	mux.Handle("POST /admin/users/{user}/logout", route(h.logoutUser))
	mux.Handle("POST /admin/users/{user}/unlock", route(h.unlockUser))
	mux.Handle("GET /admin/users/{user}/api-keys", route(h.listUserKeys))

	mux.Handle("GET /admin/api-keys", route(h.listKeys))
	mux.Handle("GET /admin/api-keys/{id}", route(h.showKey))
	mux.Handle("DELETE /admin/api-keys/{id}", route(h.revokeKey))

	mux.Handle("GET /admin/clients", route(h.listClients))
	mux.Handle("POST /admin/clients", route(h.createClient))
	mux.Handle("GET /admin/clients/{id}", route(h.showClient))
	mux.Handle("PATCH /admin/clients/{id}", route(h.updateClient))
	mux.Handle("DELETE /admin/clients/{id}", route(h.deleteClient))
	mux.Handle("POST /admin/clients/{id}/secret", route(h.rotateClientSecret))

	mux.Handle("GET /admin/signing-keys", route(h.listSigningKeys))
	mux.Handle("POST /admin/signing-keys/rotate", route(h.rotateSigningKey))
	mux.Handle("DELETE /admin/signing-keys/{kid}", route(h.revokeSigningKey))

	mux.Handle("GET /admin/audit", route(h.listAudit))
}

func (h *Handler) actor(r *http.Request, p *guard.Principal) manage.Actor {
	return api.ActorOf(r, p, h.ActorFrom)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ---------------------------------------------------------------- users

// User is the JSON shape of a user.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Scopes    []string  `json:"scopes"`
	Admin     bool      `json:"admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LockedUntil is null unless failed logins on the account are being
	// throttled (POST /admin/users/{user}/unlock ends it).
	LockedUntil *time.Time `json:"locked_until"`
}

func (h *Handler) userJSON(u store.User) User {
	return User{
		ID: u.ID, Username: u.Username, Scopes: nonNil(u.Scopes), Admin: u.Admin, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LockedUntil: manage.LockedUntil(u, h.now()),
	}
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	page, err := api.ParsePage(r)
	if err != nil {
		return err
	}
	us, err := h.Manager.ListUsers(r.Context(), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]User, len(us))
	for i, u := range us {
		items[i] = h.userJSON(u)
	}
	api.WritePage(w, items, page.Limit, func(u User) string { return u.Username })
	return nil
}

type createUserRequest struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Scopes   []string `json:"scopes"`
	Admin    bool     `json:"admin"`
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	var req createUserRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Manager.CreateUser(r.Context(), h.actor(r, p), manage.NewUser{
		Username: req.Username, Password: req.Password, Scopes: req.Scopes, Admin: req.Admin,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/users/"+u.ID)
	api.WriteJSON(w, http.StatusCreated, h.userJSON(u))
	return nil
}

func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	u, err := h.Manager.FindUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.userJSON(u))
	return nil
}

type scopesRequest struct {
	Scopes []string `json:"scopes"`
}

func (h *Handler) setScopes(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	var req scopesRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Scopes == nil {
		return api.NewError(http.StatusBadRequest, "invalid_request", `"scopes" is required (use [] for none)`)
	}
	u, err := h.Manager.SetScopes(r.Context(), h.actor(r, p), r.PathValue("user"), req.Scopes)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.userJSON(u))
	return nil
}

func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	return h.setDisabled(w, r, p, true)
}

func (h *Handler) enableUser(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	return h.setDisabled(w, r, p, false)
}

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, p *guard.Principal, disabled bool) error {
	if err := noBody(r); err != nil {
		return err
	}
	if disabled {
		// An admin who disables their own account locks themself (and,
		// when they are the last admin, everyone) out of this API.
		if u, err := h.Manager.FindUser(r.Context(), r.PathValue("user")); err == nil && u.ID == p.Subject {
			return api.NewError(http.StatusConflict, "cannot_disable_self", "you cannot disable your own account; ask another admin or use `gatehouse user disable` on the server")
		}
	}
	u, err := h.Manager.SetDisabled(r.Context(), h.actor(r, p), r.PathValue("user"), disabled)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.userJSON(u))
	return nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	var req passwordRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Manager.SetPassword(r.Context(), h.actor(r, p), r.PathValue("user"), req.Password)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.userJSON(u))
	return nil
}

func (h *Handler) logoutUser(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	return h.userAction(w, r, p, h.Manager.Logout)
}

func (h *Handler) unlockUser(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	return h.userAction(w, r, p, h.Manager.Unlock)
}

// userAction runs a bodiless action on the {user} of the path and answers
// the user.
func (h *Handler) userAction(w http.ResponseWriter, r *http.Request, p *guard.Principal,
	action func(context.Context, manage.Actor, string) (store.User, error)) error {
	if err := noBody(r); err != nil {
		return err
	}
	u, err := action(r.Context(), h.actor(r, p), r.PathValue("user"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.userJSON(u))
	return nil
}

// ---------------------------------------------------------------- api keys

func (h *Handler) listUserKeys(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	u, err := h.Manager.FindUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return h.writeKeys(w, r, u.ID)
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	uid := ""
	if name := r.URL.Query().Get("user"); name != "" {
		u, err := h.Manager.FindUser(r.Context(), name)
		if err != nil {
			return err
		}
		uid = u.ID
	}
	return h.writeKeys(w, r, uid)
}

// writeKeys writes a page of the keys of user id uid ("" = everyone's).
func (h *Handler) writeKeys(w http.ResponseWriter, r *http.Request, uid string) error {
	page, err := api.ParsePage(r)
	if err != nil {
		return err
	}
	var ks []store.APIKey
	if uid != "" {
		ks, err = h.Manager.ListUserAPIKeys(r.Context(), uid, page.After, page.Limit+1)
	} else {
		ks, err = h.Manager.ListAPIKeys(r.Context(), "", page.After, page.Limit+1)
	}
	if err != nil {
		return err
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.UserID
	}
	names, err := h.Manager.Usernames(r.Context(), ids...)
	if err != nil {
		return err
	}
	items := make([]api.APIKey, len(ks))
	for i, k := range ks {
		items[i] = api.KeyJSON(k, names[k.UserID])
	}
	api.WritePage(w, items, page.Limit, func(k api.APIKey) string { return k.ID })
	return nil
}

func (h *Handler) keyJSON(r *http.Request, k store.APIKey) (api.APIKey, error) {
	names, err := h.Manager.Usernames(r.Context(), k.UserID)
	if err != nil {
		return api.APIKey{}, err
	}
	return api.KeyJSON(k, names[k.UserID]), nil
}

func (h *Handler) showKey(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	k, err := h.Manager.GetAPIKey(r.Context(), r.PathValue("id"), "")
	if err != nil {
		return err
	}
	out, err := h.keyJSON(r, k)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	k, err := h.Manager.RevokeAPIKey(r.Context(), h.actor(r, p), r.PathValue("id"), "")
	if err != nil {
		return err
	}
	out, err := h.keyJSON(r, k)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---------------------------------------------------------------- clients

// Client is the JSON shape of an OAuth2 client; Secret is set only when
// the client is created or its secret rotated.
type Client struct {
	ClientID     string    `json:"client_id"`
	Secret       string    `json:"client_secret,omitempty"`
	Name         string    `json:"name"`
	GrantTypes   []string  `json:"grant_types"`
	RedirectURIs []string  `json:"redirect_uris"`
	Public       bool      `json:"public"`
	FirstParty   bool      `json:"first_party"`
	Scopes       []string  `json:"scopes"`
	RateLimit    string    `json:"rate_limit,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func clientJSON(c store.Client, secret string) Client {
	return Client{
		ClientID: c.ID, Secret: secret, Name: c.Name, GrantTypes: nonNil(c.GrantTypes),
		RedirectURIs: nonNil(c.RedirectURIs), Public: c.Public, FirstParty: c.FirstParty,
		Scopes: nonNil(c.Scopes), RateLimit: c.RateLimit, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	page, err := api.ParsePage(r)
	if err != nil {
		return err
	}
	cs, err := h.Manager.ListClients(r.Context(), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]Client, len(cs))
	for i, c := range cs {
		items[i] = clientJSON(c, "")
	}
	api.WritePage(w, items, page.Limit, func(c Client) string { return c.ClientID })
	return nil
}

type createClientRequest struct {
	Name         string   `json:"name"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	Scopes       []string `json:"scopes"`
	RateLimit    string   `json:"rate_limit"`
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	var req createClientRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := h.Manager.CreateClient(r.Context(), h.actor(r, p), manage.NewClient{
		Name: req.Name, GrantTypes: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		Public: req.Public, Scopes: req.Scopes, RateLimit: req.RateLimit,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/clients/"+c.ID)
	api.WriteJSON(w, http.StatusCreated, clientJSON(c.Client, c.Secret))
	return nil
}

func (h *Handler) showClient(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	c, err := h.Manager.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, clientJSON(c, ""))
	return nil
}

type updateClientRequest struct {
	Name         *string  `json:"name"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	RateLimit    *string  `json:"rate_limit"`
}

func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	var req updateClientRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := h.Manager.UpdateClient(r.Context(), h.actor(r, p), r.PathValue("id"), manage.ClientUpdate{
		Name: req.Name, GrantTypes: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		Scopes: req.Scopes, RateLimit: req.RateLimit,
	})
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, clientJSON(c, ""))
	return nil
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	if err := h.Manager.DeleteClient(r.Context(), h.actor(r, p), r.PathValue("id")); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rotateClientSecret(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	if err := noBody(r); err != nil {
		return err
	}
	c, err := h.Manager.RotateClientSecret(r.Context(), h.actor(r, p), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, clientJSON(c.Client, c.Secret))
	return nil
}

// ---------------------------------------------------------------- signing keys

func (h *Handler) listSigningKeys(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	page, err := api.ParsePage(r)
	if err != nil {
		return err
	}
	ks, err := h.Manager.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	// The keys are few and come newest first; the cursor is the kid of
	// the last key shown.
	if page.After != "" {
		i := slices.IndexFunc(ks, func(k signing.KeyInfo) bool { return k.ID == page.After })
		if i < 0 {
			return api.NewError(http.StatusBadRequest, "invalid_cursor", "unknown cursor")
		}
		ks = ks[i+1:]
	}
	if len(ks) > page.Limit+1 {
		ks = ks[:page.Limit+1]
	}
	for i := range ks {
		if ks[i].Use == nil {
			ks[i].Use = []string{}
		}
	}
	api.WritePage(w, ks, page.Limit, func(k signing.KeyInfo) string { return k.ID })
	return nil
}

func (h *Handler) rotateSigningKey(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	if err := noBody(r); err != nil {
		return err
	}
	k, err := h.Manager.RotateSigningKey(r.Context(), h.actor(r, p))
	if err != nil {
		return err
	}
	// Report the new key as List does, with its status.
	ks, err := h.Manager.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	out := signing.KeyInfo{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt, Use: []string{}}
	if i := slices.IndexFunc(ks, func(i signing.KeyInfo) bool { return i.ID == k.ID }); i >= 0 {
		out = ks[i]
	}
	api.WriteJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) revokeSigningKey(w http.ResponseWriter, r *http.Request, p *guard.Principal) error {
	kid := r.PathValue("kid")
	ks, err := h.Manager.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ks, func(k signing.KeyInfo) bool { return k.ID == kid }) {
		msg := "signing key " + strconv.Quote(kid) + " not found"
		if _, ok := manage.CredentialID(kid); ok {
			msg = "signing key not found: that is a secret (not shown), not a kid"
		}
		return api.NewError(http.StatusNotFound, "not_found", msg)
	}
	if err := h.Manager.RevokeSigningKey(r.Context(), h.actor(r, p), kid); err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"kid": kid, "revoked": true})
	return nil
}

// ---------------------------------------------------------------- audit

// AuditEvent is the JSON shape of an audit event: the `audit --json` one,
// with the actor's and target's names beside their ids.
type AuditEvent = manage.AuditEntry

// listAudit serves GET /admin/audit: events oldest first, or newest first
// with order=desc; the cursor is the last sequence number shown.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request, _ *guard.Principal) error {
	page, err := api.ParsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{
		Actor: q.Get("actor"), Action: q.Get("action"), Result: q.Get("result"), Limit: page.Limit + 1,
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return api.NewError(http.StatusBadRequest, "invalid_order", "order must be asc (oldest first, the default) or desc")
	}
	if page.After != "" {
		n, err := strconv.ParseInt(page.After, 10, 64)
		// Newest first, 0 would read as "no bound" (everything again).
		if err != nil || n < 0 || f.Desc && n == 0 {
			return api.NewError(http.StatusBadRequest, "invalid_cursor", "cursor must be an event sequence number")
		}
		if f.Desc {
			f.BeforeSeq = n
		} else {
			f.AfterSeq = n
		}
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := q.Get(b.name); s != "" {
			if *b.t, err = manage.ParseTimeBound(b.name, s, h.now()); err != nil {
				return err
			}
		}
	}
	items, err := h.Manager.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	api.WritePage(w, items, page.Limit, func(e AuditEvent) string { return strconv.FormatInt(e.Seq, 10) })
	return nil
}

// ---------------------------------------------------------------- helpers

// noBody refuses a body on an action route that takes none, so that a
// client sending parameters there learns they are ignored.
func noBody(r *http.Request) error {
	var v struct{}
	return api.DecodeJSON(r, &v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
