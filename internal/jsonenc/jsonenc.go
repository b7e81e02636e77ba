// Package jsonenc appends JSON strings without reflection, byte for byte as
// encoding/json writes them, for the few hot paths that build a JSON
// document by hand (access-token claims, the token endpoint's answer).
package jsonenc

import "encoding/json"

// Plain reports whether s is printable ASCII that encoding/json copies as
// is: nothing it escapes (quote, backslash, and < > & for HTML).
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&' {
			return false
		}
	}
	return true
}

// AppendString appends s as a JSON string the way encoding/json writes it.
// A [Plain] string is copied between quotes; anything else is left to
// encoding/json, so escaping, invalid UTF-8 and U+2028/U+2029 come out
// exactly as it writes them.
func AppendString(dst []byte, s string) []byte {
	if !Plain(s) {
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
