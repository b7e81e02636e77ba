// Package text makes strings fit to store: valid UTF-8 without NUL bytes,
// cut to a byte limit on a character boundary.
//
// PostgreSQL refuses such text (SQLSTATE 22021) where SQLite keeps it, so
// one unchecked string from a request (a User-Agent, a query parameter)
// would fail a write on one backend and be stored on the other. Text that
// identifies something (an id, a name, a filter) is checked with
// [Storable] and refused; text that only describes a request (audit
// fields, log-like detail) is repaired with [Clip] so that the event is
// still kept.
//
// The package stands alone, importing only the standard library, so that
// the HTTP middleware, the audit log, the service layer and the store all
// apply the same rule.
package text

import (
	"strings"
	"unicode/utf8"
)

// Storable reports whether s can be stored as text by every backend: it is
// valid UTF-8 and holds no NUL byte.
func Storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Clip returns s as storable text of at most max bytes (no limit when max
// <= 0): every run of invalid UTF-8 bytes and every NUL becomes U+FFFD,
// and the result is cut at the last character boundary within max. A
// storable s that fits is returned unchanged.
func Clip(s string, max int) string {
	if !Storable(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	}
	if max <= 0 || len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
