package api

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/manage"
)

// The exported helpers below let the admin API (internal/admin), which is
// part of the resource API, answer exactly like this package does.

// NewError returns a resource-API error with an HTTP status and a stable
// code, for [WriteError].
func NewError(status int, code, msg string) *Error { return errorf(status, code, msg) }

// WriteError writes err as {"error","error_description"}: an *Error or a
// *manage.Error with its code and status; anything else is logged once and
// answered with 500 server_error.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	writeError(w, r, logger, err)
}

// WriteJSON writes v as JSON with status and Cache-Control: no-store.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// DecodeJSON reads a JSON body strictly: unknown fields, trailing data and
// wrong types are 400 invalid_json, a body past the limit 413
// request_too_large. An empty body decodes to the zero value.
func DecodeJSON(r *http.Request, v any) error { return decodeJSON(r, v) }

// ActorOf returns the audit actor of a request made by p: the user (or
// client) id, or "apikey:<key id>" for an API key; from, when set, adds
// IP, user agent and request id.
func ActorOf(r *http.Request, p *guard.Principal, from func(*http.Request) manage.Actor) manage.Actor {
	var a manage.Actor
	if from != nil {
		a = from(r)
	}
	a.ID = p.Subject
	if p.Method == guard.MethodAPIKey {
		a.ID = "apikey:" + p.KeyID
	}
	return a
}
