package rest

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Handler serves the resource API: the caller's own account and /admin/*.
// Manager and Guard are required; a nil Logger logs nothing; the zero Now
// means time.Now.
type Handler struct {
	Manager *service.Manager
	Guard   *guard.Guard
	Logger  *slog.Logger
	Now     func() time.Time
}

// Routes returns every route of the resource API, each behind the guard:
// the self-service routes for any credential, /admin/* for the admin
// scope.
func (h *Handler) Routes() []route.Route {
	user := h.Guard.Require()
	admin := h.Guard.Require(service.ScopeAdmin)
	on := func(method, path string, require func(http.Handler) http.Handler, e endpoint) route.Route {
		return route.New(method, path, require(h.serve(e)))
	}
	return []route.Route{
		on("GET", "/users/me", user, h.me),
		on("POST", "/users/me/logout", user, selfOnly(h.logout)),
		on("POST", "/api-keys", user, selfOnly(h.createOwnKey)),
		on("GET", "/api-keys", user, selfOnly(h.listOwnKeys)),
		on("DELETE", "/api-keys/{id}", user, selfOnly(h.revokeOwnKey)),

		on("GET", "/admin/users", admin, h.listUsers),
		on("POST", "/admin/users", admin, h.createUser),
		on("GET", "/admin/users/{user}", admin, h.showUser),
		on("PUT", "/admin/users/{user}/scopes", admin, h.setScopes),
		on("POST", "/admin/users/{user}/disable", admin, h.disableUser),
		on("POST", "/admin/users/{user}/enable", admin, h.enableUser),
		on("POST", "/admin/users/{user}/password", admin, h.setPassword),
		on("POST", "/admin/users/{user}/logout", admin, h.userAction(h.Manager.Logout)),
		on("POST", "/admin/users/{user}/unlock", admin, h.userAction(h.Manager.Unlock)),
		on("GET", "/admin/users/{user}/api-keys", admin, h.listUserKeys),
		on("GET", "/admin/api-keys", admin, h.listKeys),
		on("GET", "/admin/api-keys/{id}", admin, h.showKey),
		on("DELETE", "/admin/api-keys/{id}", admin, h.revokeKey),
		on("GET", "/admin/clients", admin, h.listClients),
		on("POST", "/admin/clients", admin, h.createClient),
		on("GET", "/admin/clients/{id}", admin, h.showClient),
		on("PATCH", "/admin/clients/{id}", admin, h.updateClient),
		on("DELETE", "/admin/clients/{id}", admin, h.deleteClient),
		on("POST", "/admin/clients/{id}/secret", admin, h.rotateClientSecret),
		on("GET", "/admin/signing-keys", admin, h.listSigningKeys),
		on("POST", "/admin/signing-keys/rotate", admin, h.rotateSigningKey),
		on("DELETE", "/admin/signing-keys/{kid}", admin, h.revokeSigningKey),
		on("GET", "/admin/audit", admin, h.listAudit),
	}
}

// An endpoint handles one parsed request of an authenticated caller p and
// returns the reply or an error; it never writes the response itself.
type endpoint func(r *http.Request, p *guard.Principal) (reply, error)

// reply is an endpoint's answer: a status and a JSON body, or no body
// when body is nil.
type reply struct {
	status   int
	body     any
	location string // Location header of a 201
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

// serve turns e into a handler: it writes e's reply, or its error through
// the one error writer.
func (h *Handler) serve(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		rep, err := e(r, p)
		if err != nil {
			writeError(w, r, h.Logger, err)
			return
		}
		if rep.location != "" {
			w.Header().Set("Location", rep.location)
		}
		if rep.body == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(rep.status)
			return
		}
		writeJSON(w, rep.status, rep.body)
	})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// actorOf returns the audit actor of a request made by p: the user (or
// client) id, or "apikey:<key id>" for an API key, with the address, user
// agent and request id of r.
func actorOf(r *http.Request, p *guard.Principal) audit.Actor {
	a := httpmw.Actor(r)
	a.ID = p.Subject
	if p.Method == guard.MethodAPIKey {
		a.ID = "apikey:" + p.KeyID
	}
	return a
}
