// Package jsonerror writes gatehouse's JSON error bodies,
// {"error": code, "error_description": description}: the one writer of the
// server's JSON errors, used by the middleware (httpmw), the resource API
// (internal/rest), the root's 404, 405, 429 and readiness answers, the
// documentation and the revocation feed. Only the guard (a leaf that
// imports no gatehouse package) and the OAuth2 protocol errors of RFC 6749
// §5.2 (oauth.WriteError, with their challenges and Retry-After) write
// their own.
//
// It imports the standard library only, so that any package may answer
// with it.
package jsonerror

import (
	"encoding/json"
	"net/http"
)

// body is the error shape of RFC 6749 §5.2, which every gatehouse error
// uses.
type body struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// Write writes a JSON error body {"error": code, "error_description":
// description} with the given status. It sets Content-Type and
// Cache-Control: no-store (error bodies may concern credentials, RFC 6749
// §5.1) and must be called before anything else has been written to w.
func Write(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	// Encoding two strings cannot fail; a write error means the client left.
	_ = json.NewEncoder(w).Encode(body{Error: code, ErrorDescription: description})
}
