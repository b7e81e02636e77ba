package password

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePHC(t *testing.T) {
	const salt16 = "c29tZXNhbHRzb21lc2FsdA" // "somesaltsomesalt"
	const key32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	tests := []struct {
		name    string
		in      string
		want    Params
		wantErr bool
	}{
		{"default", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32, DefaultParams(), false},
		{"passlib style", "$argon2id$v=19$m=65536,t=3,p=4$" + salt16 + "$" + key32, Params{65536, 3, 4, 16, 32}, false},
		{"empty", "", Params{}, true},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"no version", "$argon2id$m=19456,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"version 16", "$argon2id$v=16$m=19456,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"extra param", "$argon2id$v=19$m=19456,t=2,p=1,keyid=x$" + salt16 + "$" + key32, Params{}, true},
		{"leading zero", "$argon2id$v=19$m=019456,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"plus sign", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"overflow", "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"memory too big", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"zero t", "$argon2id$v=19$m=19456,t=0,p=1$" + salt16 + "$" + key32, Params{}, true},
		{"zero p", "$argon2id$v=19$m=19456,t=2,p=0$" + salt16 + "$" + key32, Params{}, true},
		{"p 256", "$argon2id$v=19$m=19456,t=2,p=256$" + salt16 + "$" + key32, Params{}, true},
		{"m below 8p", "$argon2id$v=19$m=15,t=2,p=2$" + salt16 + "$" + key32, Params{}, true},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "==$" + key32, Params{}, true},
		{"url base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + strings.ReplaceAll(key32, "A", "-"), Params{}, true},
		{"non-canonical tail", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdB$" + key32, Params{}, true},
		{"newline in key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32[:10] + "\n" + key32[10:], Params{}, true},
		{"salt too short", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key32, Params{}, true},
		{"empty key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$", Params{}, true},
		{"trailing dollar", "$argon2id$v=19$m=19456,t=2,p=1$" + salt16 + "$" + key32 + "$", Params{}, true},
		{"bcrypt", xcrypt2b, Params{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, salt, key, err := ParsePHC(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformedHash) {
					t.Errorf("ParsePHC(%q) error = %v, want ErrMalformedHash", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePHC(%q) error = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, p); diff != "" {
				t.Errorf("ParsePHC(%q) params (-want +got):\n%s", tc.in, diff)
			}
			if string(salt) != "somesaltsomesalt" || !bytes.Equal(key, []byte(makeSeq(32))) {
				t.Errorf("ParsePHC(%q) salt %q key %x", tc.in, salt, key)
			}
			if got := encodePHC(p, salt, key); got != tc.in {
				t.Errorf("encodePHC(ParsePHC(%q)) = %q", tc.in, got)
			}
		})
	}
}

func makeSeq(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

func FuzzParsePHC(f *testing.F) {
	h := New(Config{Params: TestParams(), MaxConcurrent: 1})
	enc, err := h.Hash(f.Context(), "password123")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add(xcrypt2b)
	f.Add("")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) || salt != nil || key != nil || p != (Params{}) {
				t.Fatalf("ParsePHC(%q) = %+v, %x, %x, %v: want zero values and ErrMalformedHash", s, p, salt, key, err)
			}
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("ParsePHC(%q) accepted invalid params: %v", s, verr)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("ParsePHC(%q) lengths %d/%d do not match salt %d and key %d bytes", s, p.SaltLen, p.KeyLen, len(salt), len(key))
		}
		if again := encodePHC(p, salt, key); again != s {
			t.Fatalf("ParsePHC(%q) accepted a non-canonical string; re-encoded %q", s, again)
		}
	})
}
