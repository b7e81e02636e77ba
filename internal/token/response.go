package token

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/jsonenc"
)

// writeResponse sends a successful token response: the same status,
// headers and body bytes as oauth.WriteJSON(w, 200, resp), written without
// reflection (the token endpoint answers thousands of client_credentials
// requests a second). TestWriteResponseMatchesWriteJSON holds the two
// together.
func writeResponse(w http.ResponseWriter, resp *Response) {
	body := appendResponse(make([]byte, 0, responseSize(resp)), resp)
	body = append(body, '\n')
	h := w.Header()
	// The four header values share one allocation; each is its own
	// full-capacity slice, so a later Add copies instead of overwriting
	// a neighbour.
	v := make([]string, 4)
	v[0], v[1], v[2], v[3] = "application/json", "no-store", "no-cache", "nosniff"
	h["Content-Type"] = v[0:1:1]
	h["Cache-Control"] = v[1:2:2]
	h["Pragma"] = v[2:3:3]
	h["X-Content-Type-Options"] = v[3:4:4]
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// responseSize is enough room for resp's JSON and the newline when no
// string needs escaping.
func responseSize(resp *Response) int {
	return 128 + len(resp.AccessToken) + len(resp.TokenType) + len(resp.RefreshToken) + len(resp.IDToken) + len(resp.Scope)
}

// appendResponse appends the JSON encoding/json gives for resp.
func appendResponse(dst []byte, resp *Response) []byte {
	dst = append(dst, `{"access_token":`...)
	dst = jsonenc.AppendString(dst, resp.AccessToken)
	dst = append(dst, `,"token_type":`...)
	dst = jsonenc.AppendString(dst, resp.TokenType)
	dst = append(dst, `,"expires_in":`...)
	dst = strconv.AppendInt(dst, resp.ExpiresIn, 10)
	if resp.RefreshToken != "" {
		dst = append(dst, `,"refresh_token":`...)
		dst = jsonenc.AppendString(dst, resp.RefreshToken)
	}
	if resp.IDToken != "" {
		dst = append(dst, `,"id_token":`...)
		dst = jsonenc.AppendString(dst, resp.IDToken)
	}
	if resp.Scope != "" {
		dst = append(dst, `,"scope":`...)
		dst = jsonenc.AppendString(dst, resp.Scope)
	}
	return append(dst, '}')
}
