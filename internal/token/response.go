package token

import (
	"encoding/json"
	"net/http"
	"strconv"
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
	dst = appendJSONString(dst, resp.AccessToken)
	dst = append(dst, `,"token_type":`...)
	dst = appendJSONString(dst, resp.TokenType)
	dst = append(dst, `,"expires_in":`...)
	dst = strconv.AppendInt(dst, resp.ExpiresIn, 10)
	if resp.RefreshToken != "" {
		dst = append(dst, `,"refresh_token":`...)
		dst = appendJSONString(dst, resp.RefreshToken)
	}
	if resp.IDToken != "" {
		dst = append(dst, `,"id_token":`...)
		dst = appendJSONString(dst, resp.IDToken)
	}
	dst = append(dst, `,"scope":`...)
	dst = appendJSONString(dst, resp.Scope)
	return append(dst, '}')
}

// appendJSONString appends s as encoding/json writes a string: printable
// ASCII other than what it escapes (quote, backslash, < > &) is copied,
// anything else is left to encoding/json itself.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
			q, err := json.Marshal(s)
			if err != nil { // cannot happen for a string
				panic(err)
			}
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
