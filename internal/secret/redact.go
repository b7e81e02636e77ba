package secret

import "strings"

// Redacted is what [Redact] puts in place of a credential.
const Redacted = "[secret]"

// minBody is how much of a credential's secret part makes a string count
// as a credential in [Redact] and [Contains]: a quarter of a minted body,
// ≥ 64 bits. A credential cut short or mistyped still holds most of its
// secret, so it counts as well.
const minBody = 16

// minJWTPart is the length of each of the first two base64url parts that
// makes a string count as a JWT.
const minJWTPart = 10

// Redact returns s with every credential in it replaced by [Redacted]. It
// is for text that may carry request input to a place the credential must
// not reach: an error message, a log line, an audit row.
//
// A credential is anything shaped like one of gatehouse's opaque
// credentials (a prefix, an identifier, an underscore and at least 16
// characters of a secret body, whatever the checksum says), or like a JSON
// Web Token, as access and ID tokens are: a base64url part starting "eyJ"
// (the encoding of `{"`), a dot and a second base64url part, and whatever
// parts and dots follow. Passwords and other secrets without a shape cannot
// be recognised; code must keep them out of such text itself.
//
// When s holds no credential it is returned as is, without allocating.
func Redact(s string) string {
	start, end := next(s, 0)
	if start < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	from := 0
	for start >= 0 {
		b.WriteString(s[from:start])
		b.WriteString(Redacted)
		from = end
		start, end = next(s, end)
	}
	b.WriteString(s[from:])
	return b.String()
}

// Contains reports whether s holds a credential, as [Redact] recognises
// one.
func Contains(s string) bool {
	start, _ := next(s, 0)
	return start >= 0
}

// next returns the bounds of the first credential in s at or after from,
// or -1, -1.
func next(s string, from int) (int, int) {
	// Every credential has an underscore, every JWT "eyJ": most text has
	// neither and is skipped at once.
	if strings.IndexByte(s[from:], '_') < 0 && !strings.Contains(s[from:], "eyJ") {
		return -1, -1
	}
	for i := from; i < len(s); i++ {
		if end := credentialAt(s, i); end > 0 {
			return i, end
		}
		if end := jwtAt(s, i); end > 0 {
			return i, end
		}
	}
	return -1, -1
}

// credentialAt returns the end of the opaque credential starting at s[i],
// or 0.
func credentialAt(s string, i int) int {
	j := i
	for j < len(s) && j-i < MaxPrefixLen && s[j] != '_' {
		j++
	}
	if j >= len(s) || !validPrefix(s[i:j+1]) {
		return 0
	}
	j++
	if len(s)-j < IDLen+1+minBody || !ValidID(s[j:j+IDLen]) || s[j+IDLen] != '_' {
		return 0
	}
	j += IDLen + 1
	k := j
	for k < len(s) && base62Value(s[k]) >= 0 {
		k++
	}
	if k-j < minBody {
		return 0
	}
	return k
}

// jwtAt returns the end of the JWT starting at s[i], or 0.
func jwtAt(s string, i int) int {
	if !strings.HasPrefix(s[i:], "eyJ") {
		return 0
	}
	j, parts := i, 0
	for {
		k := j
		for k < len(s) && isBase64URL(s[k]) {
			k++
		}
		if parts < 2 && k-j < minJWTPart {
			return 0
		}
		parts++
		j = k
		if parts >= 2 && (j >= len(s) || s[j] != '.') {
			return j
		}
		if j >= len(s) || s[j] != '.' {
			return 0
		}
		j++ // the dot
	}
}

func isBase64URL(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
