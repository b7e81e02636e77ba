package guard_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/guard"
)

// TestIsB64Token checks the bearer syntax of RFC 6750 §2.1 byte by byte:
// every one of the 256 bytes alone, in the middle of a token and after the
// padding, against the grammar written out here.
func TestIsB64Token(t *testing.T) {
	grammar := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	for i := range 256 {
		c := byte(i)
		s := string([]byte{c})
		if got, want := guard.IsB64Token(s), grammar(c); got != want {
			t.Errorf("%q alone: %v, want %v", s, got, want)
		}
		mid := "eyJ" + s + "abc"
		if got, want := guard.IsB64Token(mid), grammar(c); got != want {
			t.Errorf("%q: %v, want %v", mid, got, want)
		}
		pad := "abc=" + s
		if got, want := guard.IsB64Token(pad), c == '='; got != want {
			t.Errorf("%q: %v, want %v", pad, got, want)
		}
	}
	for s, want := range map[string]bool{
		"": false, "=": false, "==": false, "a": true, "a==": true, "a=b": false,
		strings.Repeat("x", 4096) + "==": true, "a b": false, "a\x00": false, "é": false,
	} {
		if got := guard.IsB64Token(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
