package signing

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// appendAccessPayload appends the JSON of c's access-token claims to dst:
// exactly the bytes json.Marshal gives for the corresponding accessPayload
// (same members, same order, same escaping), without reflection. Issuing a
// token is the server's hottest path after the signature itself.
// TestAppendAccessPayloadMatchesJSON holds the two together.
func appendAccessPayload(dst []byte, c *AccessClaims) []byte {
	dst = append(dst, '{')
	first := true
	member := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	// jwt.Claims, embedded: every member omitempty.
	if c.Issuer != "" {
		member("iss")
		dst = appendJSONString(dst, c.Issuer)
	}
	if c.Subject != "" {
		member("sub")
		dst = appendJSONString(dst, c.Subject)
	}
	if len(c.Audience) > 0 {
		member("aud")
		dst = appendAudience(dst, c.Audience)
	}
	for _, d := range [...]struct {
		name string
		t    time.Time
	}{{"exp", c.Expiry}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if !d.t.IsZero() { // jwt.NewNumericDate gives nil (omitted) for zero
			member(d.name)
			dst = strconv.AppendInt(dst, d.t.Unix(), 10)
		}
	}
	if c.ID != "" {
		member("jti")
		dst = appendJSONString(dst, c.ID)
	}
	member("client_id") // not omitempty
	dst = appendJSONString(dst, c.ClientID)
	if c.Scope != "" {
		member("scope")
		dst = appendJSONString(dst, c.Scope)
	}
	if !c.AuthTime.IsZero() {
		member("auth_time")
		dst = strconv.AppendInt(dst, c.AuthTime.Unix(), 10)
	}
	return append(dst, '}')
}

// appendAudience appends aud as jwt.Audience marshals it: one value as a
// string, more as an array. jwt.Audience uses go-jose's own copy of
// encoding/json, which escapes some characters differently, so anything
// but plain strings goes through it.
func appendAudience(dst []byte, aud []string) []byte {
	for _, a := range aud {
		if !plainJSON(a) {
			b, err := json.Marshal(jwt.Audience(aud))
			if err != nil { // cannot happen for strings
				panic(err)
			}
			return append(dst, b...)
		}
	}
	if len(aud) == 1 {
		return appendJSONString(dst, aud[0])
	}
	dst = append(dst, '[')
	for i, a := range aud {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, a)
	}
	return append(dst, ']')
}

// plainJSON reports whether s is printable ASCII that JSON encoders copy
// as is: nothing they escape (quote, backslash, and < > & for HTML).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it. Plain printable ASCII other than the characters json escapes (quote,
// backslash and, with HTML escaping on, < > &) is copied; anything else is
// left to encoding/json, so escaping, invalid UTF-8 and U+2028/U+2029 come
// out exactly as before.
func appendJSONString(dst []byte, s string) []byte {
	if !plainJSON(s) {
		q, err := json.Marshal(s)
		if err != nil { // cannot happen for a string
			panic(err)
		}
		return append(dst, q...)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
