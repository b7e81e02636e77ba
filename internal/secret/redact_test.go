package secret

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	key, _ := Mint("gk_")
	refresh, _ := Mint("grt_")
	const jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain text", "user \"alice\" not found", "user \"alice\" not found"},
		{"underscores in text", "invalid_scope: read_write is not allowed", "invalid_scope: read_write is not allowed"},
		{"an API key", key, Redacted},
		{"a key in a message", `api key "` + key + `" not found`, `api key "` + Redacted + `" not found`},
		{"two credentials", key + " and " + refresh, Redacted + " and " + Redacted},
		{"a mistyped key", key[:len(key)-1] + "x", Redacted},
		{"a key cut short", key[:len(key)-20], Redacted},
		{"only prefix and id", key[:3+IDLen+1], key[:3+IDLen+1]},
		{"a key glued to a word", "key=" + key + ";", "key=" + Redacted + ";"},
		{"a key after an underscore", "x_" + key, "x_" + Redacted},
		{"a JWT", jwt, Redacted},
		{"a JWT in a message", "grant_type '" + jwt + "' is not supported", "grant_type '" + Redacted + "' is not supported"},
		{"a JWT cut after the payload", jwt[:strings.LastIndexByte(jwt, '.')], Redacted},
		{"a JWT header alone", "eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJFUzI1NiJ9"},
		{"eyJ in a word", "keyJournal.entries", "keyJournal.entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got, want := Contains(tc.in), tc.in != tc.want; got != want {
				t.Errorf("Contains(%q) = %v, want %v", tc.in, got, want)
			}
		})
	}
}

func TestRedactDoesNotAllocateWithoutCredentials(t *testing.T) {
	s := "user_agent Mozilla/5.0 (X11; Linux x86_64) request_id 0123"
	if n := testing.AllocsPerRun(100, func() { _ = Redact(s) }); n != 0 {
		t.Errorf("Redact allocates %v times for text without credentials", n)
	}
}

// FuzzRedact checks that nothing Redact returns holds a credential and
// that text without one comes back unchanged.
func FuzzRedact(f *testing.F) {
	key, _ := Mint("gk_")
	f.Add("api key " + key + " not found")
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig")
	f.Add("read_write x_y_z eyJ.")
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact(s)
		if Contains(out) {
			t.Fatalf("Redact(%q) = %q still holds a credential", s, out)
		}
		if !Contains(s) && out != s {
			t.Fatalf("Redact(%q) = %q, but it holds no credential", s, out)
		}
	})
}
