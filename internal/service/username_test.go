package service

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/secure/precis"
)

// TestNewUsername checks the rules for a name that is created: the
// canonical form of NormalizeUsername, PRECIS UsernameCaseMapped (RFC 8265
// §3.4), one script (or a UTS #39 "highly restrictive" mix) and no
// whole-script look-alike of a Latin name.
func TestNewUsername(t *testing.T) {
	tests := []struct {
		name, in, want string
		code           string // "" = accepted
	}{
		{name: "plain", in: "Alice", want: "alice"},
		{name: "fullwidth", in: "Ａｌｉｃｅ", want: "alice"},
		{name: "latin with diacritics", in: "Jürgen", want: "jürgen"},
		{name: "email-like", in: "a.b+c@example.com", want: "a.b+c@example.com"},
		{name: "cyrillic", in: "Алиса", want: "алиса"},
		{name: "greek", in: "Αθηνα", want: "αθηνα"},
		{name: "japanese: han and hiragana", in: "山田たろう", want: "山田たろう"},
		{name: "japanese with latin", in: "tanaka田中タロウ", want: "tanaka田中タロウ"},
		{name: "korean with latin and han", in: "kim김철수金", want: "kim김철수金"},
		{name: "chinese with bopomofo", in: "王ㄅㄆ", want: "王ㄅㄆ"},
		{name: "digits are common", in: "алиса2024", want: "алиса2024"},
		{name: "hebrew (right to left)", in: "דוד", want: "דוד"},
		{name: "arabic", in: "محمد", want: "محمد"},
		{name: "cyrillic o in root", in: "rооt", code: "mixed_script"},
		{name: "cyrillic i in admin", in: "admіn", code: "mixed_script"},
		{name: "latin and arabic digit", in: "alice٣", code: "mixed_script"},
		{name: "hangul with katakana", in: "김タロウ", code: "mixed_script"},
		{name: "all-cyrillic look-alike", in: "аре", code: "confusable_username"},
		{name: "all-cyrillic scope", in: "ѕсоре", code: "confusable_username"},
		{name: "look-alike with digits", in: "асе1", code: "confusable_username"},
		{name: "lisu capitals", in: "ꓮꓓꓟꓲꓠ", code: "confusable_username"},
		{name: "precis: tatweel", in: "ab\u0640c", code: "invalid_username"},
		{name: "precis: old hangul jamo", in: "\u1100\u1100", code: "invalid_username"},
		{name: "looks like an id", in: "aaaaaaaaaaaaaaaaaaaaaaaaaa", code: "invalid_username"},
		{name: "too short", in: "a", code: "invalid_username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewUsername(tc.in)
			if tc.code == "" {
				if err != nil || got != tc.want {
					t.Errorf("NewUsername(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				return
			}
			var me *Error
			if !errors.As(err, &me) || me.Code != tc.code || me.Kind != Invalid {
				t.Errorf("NewUsername(%q) = %q, %v; want a 400 %s", tc.in, got, err, tc.code)
			}
		})
	}
	_, err := NewUsername("аре")
	if err == nil || !strings.Contains(err.Error(), `"ape"`) {
		t.Errorf(`NewUsername("аре") error = %v, want it to name the Latin look-alike "ape"`, err)
	}
}

// TestNormalizeUsernameIsPRECISStable shows that PRECIS UsernameCaseMapped
// maps no canonical username (NormalizeUsername's output, which is what
// the store holds) to anything else: a name PRECIS accepts is stored and
// looked up exactly as before, so existing users still log in and no
// migration is needed. Every code point is tried.
func TestNormalizeUsernameIsPRECISStable(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		n, err := NormalizeUsername("zz" + string(r) + string(r))
		if err != nil {
			continue
		}
		if p, err := precis.UsernameCaseMapped.String(n); err == nil && p != n {
			t.Errorf("U+%04X: PRECIS maps canonical %q to %q", r, n, p)
		}
	}
}

// FuzzNewUsername: no input panics; an accepted name is the canonical
// form of its input, accepted again as it is, and in one script or a
// highly restrictive mix.
func FuzzNewUsername(f *testing.F) {
	for _, s := range []string{"alice", "rооt", "аре", "Алиса", "山田たろう", "ab\u0640c", "\u1100\u1100", "דוד", "a\u0301b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := NewUsername(in)
		if err != nil {
			return
		}
		if c, _ := NormalizeUsername(in); c != n {
			t.Fatalf("NewUsername(%q) = %q, but its canonical form is %q", in, n, c)
		}
		if again, err := NewUsername(n); err != nil || again != n {
			t.Fatalf("NewUsername(%q) = %q, %v; want it accepted unchanged", n, again, err)
		}
		if s := scriptsOf(n); !highlyRestrictive(s) {
			t.Fatalf("NewUsername(%q) accepted scripts %v", in, s)
		}
	})
}
