package rest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// This file serves the operator API under /admin/ (admin scope).

// ---------------------------------------------------------------- users

func (h *Handler) user(u store.User) User { return NewUser(u, h.now()) }

func (h *Handler) listUsers(r *http.Request, _ *guard.Principal) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	us, err := h.Manager.ListUsers(r.Context(), pg.after, pg.limit+1)
	if err != nil {
		return reply{}, err
	}
	return ok(pageOf(views(us, h.user), pg.limit, func(u User) string { return u.Username })), nil
}

type createUserRequest struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Scopes   []string `json:"scopes"`
	Admin    bool     `json:"admin"`
}

func (h *Handler) createUser(r *http.Request, p *guard.Principal) (reply, error) {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	u, err := h.Manager.CreateUser(r.Context(), actorOf(r, p), service.NewUser{
		Username: req.Username, Password: req.Password, Scopes: req.Scopes, Admin: req.Admin,
	})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusCreated, body: h.user(u), location: "/admin/users/" + u.ID}, nil
}

func (h *Handler) showUser(r *http.Request, _ *guard.Principal) (reply, error) {
	u, err := h.Manager.FindUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return reply{}, err
	}
	return ok(h.user(u)), nil
}

type scopesRequest struct {
	Scopes []string `json:"scopes"`
}

func (h *Handler) setScopes(r *http.Request, p *guard.Principal) (reply, error) {
	var req scopesRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	if req.Scopes == nil {
		return reply{}, errorf(http.StatusBadRequest, "invalid_request", `"scopes" is required (use [] for none)`)
	}
	u, err := h.Manager.SetScopes(r.Context(), actorOf(r, p), r.PathValue("user"), req.Scopes)
	if err != nil {
		return reply{}, err
	}
	return ok(h.user(u)), nil
}

func (h *Handler) disableUser(r *http.Request, p *guard.Principal) (reply, error) {
	if err := noBody(r); err != nil {
		return reply{}, err
	}
	// An admin who disables their own account locks themself (and, when
	// they are the last admin, everyone) out of this API.
	if u, err := h.Manager.FindUser(r.Context(), r.PathValue("user")); err == nil && u.ID == p.Subject {
		return reply{}, errorf(http.StatusConflict, "cannot_disable_self", "you cannot disable your own account; ask another admin or use `gatehouse user disable` on the server")
	}
	return h.setDisabled(r, p, true)
}

func (h *Handler) enableUser(r *http.Request, p *guard.Principal) (reply, error) {
	if err := noBody(r); err != nil {
		return reply{}, err
	}
	return h.setDisabled(r, p, false)
}

func (h *Handler) setDisabled(r *http.Request, p *guard.Principal, disabled bool) (reply, error) {
	u, err := h.Manager.SetDisabled(r.Context(), actorOf(r, p), r.PathValue("user"), disabled)
	if err != nil {
		return reply{}, err
	}
	return ok(h.user(u)), nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

func (h *Handler) setPassword(r *http.Request, p *guard.Principal) (reply, error) {
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	u, err := h.Manager.SetPassword(r.Context(), actorOf(r, p), r.PathValue("user"), req.Password)
	if err != nil {
		return reply{}, err
	}
	return ok(h.user(u)), nil
}

// userAction is a bodiless action on the {user} of the path that answers
// the user.
func (h *Handler) userAction(action func(context.Context, audit.Actor, string) (store.User, error)) endpoint {
	return func(r *http.Request, p *guard.Principal) (reply, error) {
		if err := noBody(r); err != nil {
			return reply{}, err
		}
		u, err := action(r.Context(), actorOf(r, p), r.PathValue("user"))
		if err != nil {
			return reply{}, err
		}
		return ok(h.user(u)), nil
	}
}

// ---------------------------------------------------------------- api keys

func (h *Handler) listUserKeys(r *http.Request, _ *guard.Principal) (reply, error) {
	u, err := h.Manager.FindUser(r.Context(), r.PathValue("user"))
	if err != nil {
		return reply{}, err
	}
	return h.keys(r, u.ID)
}

func (h *Handler) listKeys(r *http.Request, _ *guard.Principal) (reply, error) {
	uid := ""
	if name := r.URL.Query().Get("user"); name != "" {
		u, err := h.Manager.FindUser(r.Context(), name)
		if err != nil {
			return reply{}, err
		}
		uid = u.ID
	}
	return h.keys(r, uid)
}

// keys answers a page of the keys of the user with id uid ("" =
// everyone's).
func (h *Handler) keys(r *http.Request, uid string) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	var ks []store.APIKey
	if uid != "" {
		ks, err = h.Manager.ListUserAPIKeys(r.Context(), uid, pg.after, pg.limit+1)
	} else {
		ks, err = h.Manager.ListAPIKeys(r.Context(), "", pg.after, pg.limit+1)
	}
	if err != nil {
		return reply{}, err
	}
	items, err := APIKeys(r.Context(), h.Manager, ks)
	if err != nil {
		return reply{}, err
	}
	return ok(pageOf(items, pg.limit, func(k APIKey) string { return k.ID })), nil
}

func (h *Handler) showKey(r *http.Request, _ *guard.Principal) (reply, error) {
	k, err := h.Manager.GetAPIKey(r.Context(), r.PathValue("id"), "")
	if err != nil {
		return reply{}, err
	}
	return h.key(r, k)
}

func (h *Handler) revokeKey(r *http.Request, p *guard.Principal) (reply, error) {
	k, err := h.Manager.RevokeAPIKey(r.Context(), actorOf(r, p), r.PathValue("id"), "")
	if err != nil {
		return reply{}, err
	}
	return h.key(r, k)
}

func (h *Handler) key(r *http.Request, k store.APIKey) (reply, error) {
	v, err := APIKeys(r.Context(), h.Manager, []store.APIKey{k})
	if err != nil {
		return reply{}, err
	}
	return ok(v[0]), nil
}

// Usernames resolves user ids to usernames, as [service.Manager] does.
type Usernames interface {
	Usernames(ctx context.Context, ids ...string) (map[string]string, error)
}

// APIKeys returns the views of ks with their owners' usernames, which u
// looks up once per owner.
func APIKeys(ctx context.Context, u Usernames, ks []store.APIKey) ([]APIKey, error) {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.UserID
	}
	names, err := u.Usernames(ctx, ids...)
	if err != nil {
		return nil, err
	}
	return views(ks, func(k store.APIKey) APIKey { return NewAPIKey(k, names[k.UserID]) }), nil
}

// ---------------------------------------------------------------- clients

func (h *Handler) listClients(r *http.Request, _ *guard.Principal) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	cs, err := h.Manager.ListClients(r.Context(), pg.after, pg.limit+1)
	if err != nil {
		return reply{}, err
	}
	return ok(pageOf(views(cs, NewClient), pg.limit, func(c Client) string { return c.ClientID })), nil
}

type createClientRequest struct {
	Name         string   `json:"name"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
	Scopes       []string `json:"scopes"`
	RateLimit    string   `json:"rate_limit"`
}

func (h *Handler) createClient(r *http.Request, p *guard.Principal) (reply, error) {
	var req createClientRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	c, err := h.Manager.CreateClient(r.Context(), actorOf(r, p), service.NewClient{
		Name: req.Name, GrantTypes: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		Public: req.Public, Scopes: req.Scopes, RateLimit: req.RateLimit,
	})
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusCreated, body: NewCreatedClient(c), location: "/admin/clients/" + c.ID}, nil
}

func (h *Handler) showClient(r *http.Request, _ *guard.Principal) (reply, error) {
	c, err := h.Manager.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(NewClient(c)), nil
}

type updateClientRequest struct {
	Name         *string  `json:"name"`
	GrantTypes   []string `json:"grant_types"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	RateLimit    *string  `json:"rate_limit"`
}

func (h *Handler) updateClient(r *http.Request, p *guard.Principal) (reply, error) {
	var req updateClientRequest
	if err := decodeJSON(r, &req); err != nil {
		return reply{}, err
	}
	c, err := h.Manager.UpdateClient(r.Context(), actorOf(r, p), r.PathValue("id"), service.ClientUpdate{
		Name: req.Name, GrantTypes: req.GrantTypes, RedirectURIs: req.RedirectURIs,
		Scopes: req.Scopes, RateLimit: req.RateLimit,
	})
	if err != nil {
		return reply{}, err
	}
	return ok(NewClient(c)), nil
}

func (h *Handler) deleteClient(r *http.Request, p *guard.Principal) (reply, error) {
	if err := h.Manager.DeleteClient(r.Context(), actorOf(r, p), r.PathValue("id")); err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusNoContent}, nil
}

func (h *Handler) rotateClientSecret(r *http.Request, p *guard.Principal) (reply, error) {
	if err := noBody(r); err != nil {
		return reply{}, err
	}
	c, err := h.Manager.RotateClientSecret(r.Context(), actorOf(r, p), r.PathValue("id"))
	if err != nil {
		return reply{}, err
	}
	return ok(NewCreatedClient(c)), nil
}

// ---------------------------------------------------------------- signing keys

func (h *Handler) listSigningKeys(r *http.Request, _ *guard.Principal) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	ks, err := h.Manager.ListSigningKeys(r.Context())
	if err != nil {
		return reply{}, err
	}
	// The keys are few and come newest first; the cursor is the kid of
	// the last key shown.
	if pg.after != "" {
		i := slices.IndexFunc(ks, func(k signing.KeyInfo) bool { return k.ID == pg.after })
		if i < 0 {
			return reply{}, errorf(http.StatusBadRequest, "invalid_cursor", "unknown cursor")
		}
		ks = ks[i+1:]
	}
	if len(ks) > pg.limit+1 {
		ks = ks[:pg.limit+1]
	}
	return ok(pageOf(views(ks, NewSigningKey), pg.limit, func(k SigningKey) string { return k.ID })), nil
}

func (h *Handler) rotateSigningKey(r *http.Request, p *guard.Principal) (reply, error) {
	if err := noBody(r); err != nil {
		return reply{}, err
	}
	k, err := h.Manager.RotateSigningKey(r.Context(), actorOf(r, p))
	if err != nil {
		return reply{}, err
	}
	v, err := RotatedSigningKey(r.Context(), h.Manager, k)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusCreated, body: v}, nil
}

// SigningKeys describes a signing key by its kid, as [service.Manager]
// does; an unknown kid is a NotFound *service.Error.
type SigningKeys interface {
	SigningKey(ctx context.Context, kid string) (signing.KeyInfo, error)
}

// RotatedSigningKey returns the view of k, a key that has just been made,
// with its status as keys describe it.
func RotatedSigningKey(ctx context.Context, keys SigningKeys, k store.SigningKey) (SigningKey, error) {
	info, err := keys.SigningKey(ctx, k.ID)
	if se := (*service.Error)(nil); errors.As(err, &se) && se.Kind == service.NotFound {
		// Not listed (yet): report the new key as it was made.
		info, err = signing.KeyInfo{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt}, nil
	}
	if err != nil {
		return SigningKey{}, err
	}
	return NewSigningKey(info), nil
}

func (h *Handler) revokeSigningKey(r *http.Request, p *guard.Principal) (reply, error) {
	kid := r.PathValue("kid")
	if _, err := h.Manager.SigningKey(r.Context(), kid); err != nil {
		return reply{}, err
	}
	if err := h.Manager.RevokeSigningKey(r.Context(), actorOf(r, p), kid); err != nil {
		return reply{}, err
	}
	return ok(RevokedSigningKey{ID: kid, Revoked: true}), nil
}

// ---------------------------------------------------------------- audit

// listAudit serves GET /admin/audit: events oldest first, or newest first
// with order=desc; the cursor is the last sequence number shown.
func (h *Handler) listAudit(r *http.Request, _ *guard.Principal) (reply, error) {
	pg, err := parsePage(r)
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	f := store.AuditFilter{
		Actor: q.Get("actor"), Action: q.Get("action"), Result: q.Get("result"), Limit: pg.limit + 1,
	}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return reply{}, errorf(http.StatusBadRequest, "invalid_order", "order must be asc (oldest first, the default) or desc")
	}
	if pg.after != "" {
		n, err := strconv.ParseInt(pg.after, 10, 64)
		// Newest first, 0 would read as "no bound" (everything again).
		if err != nil || n < 0 || f.Desc && n == 0 {
			return reply{}, errorf(http.StatusBadRequest, "invalid_cursor", "cursor must be an event sequence number")
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
			if *b.t, err = service.ParseTimeBound(b.name, s, h.now()); err != nil {
				return reply{}, err
			}
		}
	}
	items, err := h.Manager.ListAudit(r.Context(), f)
	if err != nil {
		return reply{}, err
	}
	return ok(pageOf(items, pg.limit, func(e AuditEntry) string { return strconv.FormatInt(e.Seq, 10) })), nil
}
