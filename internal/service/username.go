package service

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// NewUsername returns the canonical form of a username that is to be
// created, or an error saying why it may not be. On top of what
// [NormalizeUsername] requires (and what every existing name still only
// needs in order to be found and to log in):
//
//   - it is in one script, or in a mix that UTS #39 §5.2 calls "highly
//     restrictive" (Latin with Han and Hiragana/Katakana, Bopomofo or
//     Hangul): "rооt" with a Cyrillic о is refused (mixed_script);
//   - it is not written wholly in look-alikes of ASCII letters and digits
//     from another script (a whole-script confusable, UTS #39 §4): "аре" in
//     Cyrillic would pass for "ape" (confusable_username);
//   - it does not look like a user id (FindUser takes either);
//   - it is valid under the PRECIS UsernameCaseMapped profile (RFC 8265
//     §3.4): no code point that RFC 8264's IdentifierClass disallows, and
//     the Bidi Rule for right-to-left text. PRECIS maps no canonical name
//     to another (its width and case mapping and NFC are already done by
//     NFKC and lower case), so it changes no stored name.
//
// Look-alikes within one script ("rn" for "m", "0" for "o", Latin "ɑ" for
// "a") are not refused: that needs each new name's skeleton compared with
// every existing one.
func NewUsername(name string) (string, error) {
	n, err := NormalizeUsername(name)
	if err != nil {
		return "", err
	}
	if looksLikeID(n) {
		// FindUser takes a username or an id: a username shaped like an id
		// could be mistaken for another user.
		return "", errorf(Invalid, "invalid_username", "username must not look like a user id")
	}
	if scripts := scriptsOf(n); !highlyRestrictive(scripts) {
		return "", errorf(Invalid, "mixed_script",
			"username mixes scripts (%s): use letters of one script, so that no name can pass for another",
			strings.Join(scripts, ", "))
	}
	if like, ok := latinLookingName(n); ok {
		return "", errorf(Invalid, "confusable_username",
			"username cannot be told from the Latin name %q: choose a name with other letters", like)
	}
	if p, err := precis.UsernameCaseMapped.String(n); err != nil || p != n {
		return "", errorf(Invalid, "invalid_username",
			"username has characters that usernames may not contain (RFC 8265 PRECIS)")
	}
	return n, nil
}

// scriptsOf returns the scripts of s's characters, sorted, leaving out
// Common and Inherited (digits and punctuation belong to every script).
func scriptsOf(s string) []string {
	var out []string
	for _, r := range s {
		if unicode.In(r, unicode.Common, unicode.Inherited) {
			continue
		}
		name := "Unknown"
		if unicode.Is(unicode.Latin, r) {
			name = "Latin"
		} else {
			for sn, table := range unicode.Scripts {
				if unicode.Is(table, r) {
					name = sn
					break
				}
			}
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// restrictiveMixes are the multi-script sets that UTS #39 §5.2 allows in a
// "highly restrictive" identifier.
var restrictiveMixes = [][]string{
	{"Han", "Hiragana", "Katakana", "Latin"},
	{"Bopomofo", "Han", "Latin"},
	{"Han", "Hangul", "Latin"},
}

// highlyRestrictive reports whether scripts (from scriptsOf) form a
// highly restrictive identifier (UTS #39 §5.2).
func highlyRestrictive(scripts []string) bool {
	if len(scripts) <= 1 {
		return true
	}
	for _, mix := range restrictiveMixes {
		inMix := func(sc string) bool { return slices.Contains(mix, sc) }
		if !slices.ContainsFunc(scripts, func(sc string) bool { return !inMix(sc) }) {
			return true
		}
	}
	return false
}

// latinLookingName reports whether s, which is not ASCII, is made only of
// ASCII and of characters of other scripts that look like ASCII letters
// or digits, and returns the ASCII name it looks like.
func latinLookingName(s string) (string, bool) {
	var b strings.Builder
	foreign := false
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		c, ok := latinLookalike[r]
		if !ok {
			return "", false
		}
		b.WriteByte(c)
		foreign = true
	}
	return b.String(), foreign
}
