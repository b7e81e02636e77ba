package signing

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/jsonenc"
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
		dst = jsonenc.AppendString(dst, c.Issuer)
	}
	if c.Subject != "" {
		member("sub")
		dst = jsonenc.AppendString(dst, c.Subject)
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
		dst = jsonenc.AppendString(dst, c.ID)
	}
	member("client_id") // not omitempty
	dst = jsonenc.AppendString(dst, c.ClientID)
	if c.Scope != "" {
		member("scope")
		dst = jsonenc.AppendString(dst, c.Scope)
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
		if !jsonenc.Plain(a) {
			b, err := json.Marshal(jwt.Audience(aud))
			if err != nil { // cannot happen for strings
				panic(err)
			}
			return append(dst, b...)
		}
	}
	if len(aud) == 1 {
		return jsonenc.AppendString(dst, aud[0])
	}
	dst = append(dst, '[')
	for i, a := range aud {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, a)
	}
	return append(dst, ']')
}
