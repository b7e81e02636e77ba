package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote"`, `back\slash`, "<a&b>", "tab\t", "nul\x00", "é", "\u2028", "\xff\xfe", "gk_abc_DEF"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
		// Plain is conservative: it may send a string to encoding/json
		// that would have been copied (é), never the other way round.
		if Plain(s) && string(want) != `"`+s+`"` {
			t.Errorf("Plain(%q) = true, but encoding/json writes %s", s, want)
		}
	}
}
