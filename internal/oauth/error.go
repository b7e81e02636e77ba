package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes. They are untyped strings because [Error.Code] is a string
// that callers copy into audit reasons and compare with plain strings.
const (
	// RFC 6749 §4.1.2.1 and §5.2.
	InvalidRequest          = "invalid_request"
	InvalidClient           = "invalid_client"
	InvalidGrant            = "invalid_grant"
	UnauthorizedClient      = "unauthorized_client"
	UnsupportedGrantType    = "unsupported_grant_type"
	InvalidScope            = "invalid_scope"
	AccessDenied            = "access_denied"
	UnsupportedResponseType = "unsupported_response_type"
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"

	// RFC 6750 §3.1, for bearer-protected resources.
	InvalidToken      = "invalid_token"
	InsufficientScope = "insufficient_scope"

	// RFC 7009 §2.2.1, for the revocation endpoint.
	UnsupportedTokenType = "unsupported_token_type"

	// OpenID Connect Core §3.1.2.6, for prompt=none at the authorization
	// endpoint.
	LoginRequired       = "login_required"
	ConsentRequired     = "consent_required"
	InteractionRequired = "interaction_required"
)

// DefaultStatus returns the HTTP status for an error code: 401 for
// invalid_client (RFC 6749 §5.2) and invalid_token (RFC 6750 §3.1), 403
// for insufficient_scope, 500 for server_error, 503 for
// temporarily_unavailable and 400 for everything else. Rate limits have no
// code of their own: set [Error.Status] to 429 and [Error.RetryAfter].
func DefaultStatus(code string) int {
	switch code {
	case InvalidClient, InvalidToken:
		return http.StatusUnauthorized
	case InsufficientScope:
		return http.StatusForbidden
	case ServerError:
		return http.StatusInternalServerError
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Error is an OAuth 2.0 protocol error. Code, Description and URI are shown
// to the client; the cause (see [Error.Wrap]) is for logs only.
//
// Build errors fresh with [Errorf] for every request; do not keep shared
// *Error values, because callers set fields on the ones they get.
type Error struct {
	// Code is the "error" value, one of the code constants of this package.
	Code string
	// Description is the human-readable "error_description". It is sent to
	// the client, so it must not contain secrets or internal details;
	// [WriteError] replaces characters RFC 6749 §5.2 forbids.
	Description string
	// Status is the HTTP status. Zero (or anything outside 400–599) means
	// [DefaultStatus] of Code.
	Status int
	// URI is the optional "error_uri", a page explaining the error.
	URI string
	// UseBasic adds WWW-Authenticate: Basic to a 401 response; set it when
	// the client tried HTTP Basic authentication (RFC 6749 §5.2). See
	// clientauth's Credentials.InvalidClient.
	UseBasic bool
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up (RFC 9110 §10.2.3).
	RetryAfter time.Duration

	cause error
}

// Errorf returns a new error with the given code and a description built
// like [fmt.Sprintf]. Status is set to [DefaultStatus] of code. The
// description is shown to the client: attach internal errors with
// [Error.Wrap], never with a format verb.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...), Status: DefaultStatus(code)}
}

// Wrap returns a copy of e whose cause is err. The cause shows in
// [Error.Error] and through [errors.Unwrap], never in the response.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// Unwrap returns the cause given to [Error.Wrap], or nil.
func (e *Error) Unwrap() error { return e.cause }

// Error returns "code: description", followed by ": cause" when there is
// one. It is meant for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, &oauth.Error{Code: oauth.InvalidGrant}) matches any
// invalid_grant error whatever its description.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// StatusCode returns the HTTP status [WriteError] sends for e: Status when
// it is a client or server error status, otherwise [DefaultStatus].
func (e *Error) StatusCode() int {
	if e.Status >= 400 && e.Status <= 599 {
		return e.Status
	}
	return DefaultStatus(e.Code)
}

// Values returns the error as the parameters of an authorization error
// response (RFC 6749 §4.1.2.1): error, error_description and error_uri,
// the last two only when set. The caller adds state (and iss).
func (e *Error) Values() url.Values {
	v := url.Values{"error": {safeText(e.Code)}}
	if e.Description != "" {
		v.Set("error_description", safeText(e.Description))
	}
	if e.URI != "" {
		v.Set("error_uri", safeText(e.URI))
	}
	return v
}

// errorBody is the RFC 6749 §5.2 error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	URI         string `json:"error_uri,omitempty"`
}

// genericServerError is what the client sees for any error that is not an
// *Error: the cause is never leaked.
const genericServerError = "the server encountered an internal error"

// WriteError writes err as an RFC 6749 §5.2 JSON error response with
// Cache-Control: no-store and Pragma: no-cache. If err is (or wraps) an
// *Error, its code, description, URI, status, Retry-After and Basic
// challenge are used; any other error, including nil, becomes server_error
// with a generic description. invalid_token and insufficient_scope also
// get the RFC 6750 §3 Bearer challenge.
//
// WriteError does not log: the caller logs the cause once.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		e = &Error{Code: ServerError, Description: genericServerError}
	}
	status := e.StatusCode()
	h := w.Header()
	if e.RetryAfter > 0 {
		secs := (e.RetryAfter + time.Second - 1) / time.Second
		h.Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	switch {
	case e.Code == InvalidToken || e.Code == InsufficientScope:
		h.Set("WWW-Authenticate", bearerChallenge(e))
	case e.UseBasic && status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	}
	body := errorBody{Error: safeText(e.Code), Description: safeText(e.Description), URI: safeText(e.URI)}
	// Marshalling three strings cannot fail.
	b, _ := json.Marshal(body)
	writeJSON(w, status, b)
}

// Fail writes err as [WriteError] does, and first logs it to logger with
// msg when it is not an *Error: an internal failure, which the client sees
// only as server_error. It is the one place an endpoint logs the cause of
// a failed request; a nil logger logs nothing.
func Fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, msg string, err error) {
	var e *Error
	if !errors.As(err, &e) && logger != nil {
		logger.ErrorContext(r.Context(), msg, "err", err)
	}
	WriteError(w, err)
}

// bearerChallenge builds the RFC 6750 §3 WWW-Authenticate value. safeText
// leaves no '"' or '\' in the parameters, so they need no escaping.
func bearerChallenge(e *Error) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="` + Realm + `", error="` + safeText(e.Code) + `"`)
	if e.Description != "" {
		b.WriteString(`, error_description="` + safeText(e.Description) + `"`)
	}
	if e.URI != "" {
		b.WriteString(`, error_uri="` + safeText(e.URI) + `"`)
	}
	return b.String()
}

// WriteJSON writes v as a JSON response with the given status and the
// Cache-Control: no-store and Pragma: no-cache headers that responses
// carrying tokens need (RFC 6749 §5.1). If v cannot be marshalled, it
// writes a server_error instead and returns the marshalling error for the
// caller to log; otherwise it returns nil (write errors to the client are
// not reported).
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, err)
		return fmt.Errorf("marshal response: %w", err)
	}
	writeJSON(w, status, b)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// safeText maps s into the character set RFC 6749 §5.2 allows in error,
// error_description and error_uri (%x20-21 / %x23-5B / %x5D-7E): a double
// quote becomes a single quote, anything else outside the set becomes '?'.
func safeText(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !allowedErrorByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteByte('\'')
		case r < 0x80 && allowedErrorByte(byte(r)):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func allowedErrorByte(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}
