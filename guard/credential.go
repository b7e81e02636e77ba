package guard

import (
	"net/http"
	"net/url"
	"strings"
)

// singleHeader returns the one value of the header name (in canonical form),
// or "" when it is absent. A repeated or oversized header is a malformed
// request (RFC 6750 §3.1 invalid_request): the guard will not guess which
// of two credentials was meant.
func singleHeader(h http.Header, name string) (string, *Error) {
	vs := h[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", invalidRequest("multiple " + name + " headers")
	}
	if len(vs[0]) > maxCredentialSize {
		return "", invalidRequest(name + " header is too large")
	}
	return vs[0], nil
}

// parseBearer reads an Authorization value with the Bearer scheme (RFC 6750
// §2.1; the scheme name is case-insensitive, RFC 9110 §11.1). Other schemes
// report isBearer false: to the guard they are no credential at all.
func parseBearer(v string) (token string, isBearer bool, err *Error) {
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false, nil
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false, nil // "Bearerish": some other scheme
	}
	token = strings.Trim(rest, " \t")
	if token == "" {
		return "", true, invalidRequest("bearer token is empty")
	}
	if !isB64Token(token) {
		return "", true, invalidRequest("bearer token is malformed")
	}
	return token, true, nil
}

// isB64Token reports whether s matches RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// It runs on every bearer request over the whole token, so it looks each
// byte up in a table rather than comparing it with each range.
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64TokenChar[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64TokenChar marks the bytes of b64token before its "=" padding.
var b64TokenChar = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", byte(c)) >= 0
	}
	return t
}()

// hasQueryCredential reports whether the raw query carries a non-empty
// api_key, apikey, access_token, key or token parameter (names compared
// case-insensitively, after percent-decoding). Query strings end up in logs,
// proxies and browser history, so the guard refuses such requests instead
// of ignoring the credential (RFC 6750 §2.3 and RFC 9700 §4.3.2
// discourage it). It scans without allocating in the common case.
func hasQueryCredential(raw string) bool {
	for raw != "" {
		var pair string
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, ""
		}
		name, value, _ := strings.Cut(pair, "=")
		if value == "" {
			continue
		}
		if strings.ContainsAny(name, "%+") {
			if u, err := url.QueryUnescape(name); err == nil {
				name = u
			}
		}
		if isCredentialParam(name) {
			return true
		}
	}
	return false
}

func isCredentialParam(name string) bool {
	switch len(name) {
	case 3:
		return strings.EqualFold(name, "key")
	case 5:
		return strings.EqualFold(name, "token")
	case 6:
		return strings.EqualFold(name, "apikey")
	case 7:
		return strings.EqualFold(name, "api_key")
	case 12:
		return strings.EqualFold(name, "access_token")
	}
	return false
}
