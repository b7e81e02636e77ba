package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Error is a resource-API error with an HTTP status and a stable
// machine-readable code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

var kindStatus = map[service.Kind]int{
	service.Invalid:   http.StatusBadRequest,
	service.NotFound:  http.StatusNotFound,
	service.Conflict:  http.StatusConflict,
	service.Forbidden: http.StatusForbidden,
}

// writeError answers err: an *Error or a *service.Error with its code and
// status, through the one JSON error writer ([jsonerror.Write]); a
// service refusal for want of a scope with the guard's Bearer challenge
// naming the scope; anything else is logged once and answered with 500
// server_error.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var ae *Error
	var me *service.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &me) && me.Code == guard.CodeInsufficientScope:
		// RFC 6750 §3.1: name the scope in the challenge, as the guard does.
		guard.WriteError(w, &guard.Error{Status: http.StatusForbidden, Code: me.Code, Description: me.Message, Scope: me.Scope}, "")
		return
	case errors.As(err, &me):
		ae = &Error{Status: kindStatus[me.Kind], Code: me.Code, Message: me.Message}
		if ae.Status == 0 {
			ae.Status = http.StatusBadRequest
		}
	default:
		if logger != nil {
			// The route, not the path: a path can hold a pasted credential.
			logger.ErrorContext(r.Context(), "rest api error", "route", r.Pattern, "err", err)
		}
		ae = errorf(http.StatusInternalServerError, "server_error", "internal error")
	}
	// A message may name a value the client sent: never a credential.
	jsonerror.Write(w, ae.Status, ae.Code, secret.Redact(ae.Message))
}

// writeJSON writes v as JSON with status and Cache-Control: no-store.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// The header values of writeJSON, in canonical form and shared between
// responses: each slice's capacity is its length, so a later Header.Add
// copies it rather than writing into it.
var (
	contentTypeJSON = []string{"application/json"}[:1:1]
	noStore         = []string{"no-store"}[:1:1]
)

// decodeJSON reads a JSON body strictly: unknown fields and anything but
// white space after the one JSON value are errors. An empty body decodes
// to the zero value. Every JSON request body of the package is read here.
func decodeJSON(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return jsonError(err)
	}
	// Decoder.More is not enough: it reports false before a stray "]" or
	// "}", which would then be ignored. Only the end of the body may follow.
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("trailing data")
		}
		return jsonError(fmt.Errorf("after the JSON value: %w", err))
	}
	return nil
}

// jsonError maps a decoding error: 413 for a body past the limit, else 400
// invalid_json.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "request_too_large", "request body is too large")
	}
	return errorf(http.StatusBadRequest, "invalid_json", "invalid JSON body: "+err.Error())
}

// noBody refuses a body on an action route that takes none, so that a
// client sending parameters there learns they are ignored.
func noBody(r *http.Request) error {
	var v struct{}
	return decodeJSON(r, &v)
}
