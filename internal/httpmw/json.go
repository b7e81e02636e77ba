package httpmw

import (
	"encoding/json"
	"net/http"
)

// errorBody is the RFC 6749 §5.2 error shape that every gatehouse error uses.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// WriteJSONError writes a JSON error body {"error": code,
// "error_description": description} with the given status. It sets
// Content-Type and Cache-Control: no-store (error bodies may concern
// credentials, RFC 6749 §5.1) and must be called before anything else has
// been written to w.
func WriteJSONError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	// Encoding two strings cannot fail; a write error means the client left.
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, ErrorDescription: description})
}
