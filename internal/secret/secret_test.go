package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
	"testing"
)

// decodeBody is the inverse of encodeBody, for tests: it reports false for
// characters outside base62 and for numbers of 2^256 or more.
func decodeBody(s string) (out [secretBytes]byte, ok bool) {
	if len(s) != BodyLen {
		return out, false
	}
	n := new(big.Int)
	for i := range len(s) {
		v := base62Value(s[i])
		if v < 0 {
			return out, false
		}
		n.Mul(n, big.NewInt(62))
		n.Add(n, big.NewInt(int64(v)))
	}
	if n.BitLen() > 8*secretBytes {
		return out, false
	}
	n.FillBytes(out[:])
	return out, true
}

// bigBase62 encodes b with math/big as an independent reference. big uses
// the digits 0-9a-zA-Z; our alphabet is 0-9A-Za-z, so the cases swap.
func bigBase62(b []byte) string {
	s := new(big.Int).SetBytes(b).Text(62)
	s = strings.Repeat("0", BodyLen-len(s)) + s
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

func mustParse(t testing.TB, prefix, value string) string {
	t.Helper()
	id, err := Parse(prefix, value)
	if err != nil {
		t.Fatalf("Parse(%q, %q) error = %v, want nil", prefix, value, err)
	}
	return id
}

// withChecksum replaces the checksum of a credential-shaped string by the
// right one, so tests can build values that fail only in other ways.
func withChecksum(s string) string {
	head := s[:len(s)-ChecksumLen]
	return string(appendChecksum([]byte(head), crc32.ChecksumIEEE([]byte(head))))
}

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		name string
		in   [secretBytes]byte
	}{
		{name: "zero"},
		{name: "max", in: [secretBytes]byte(bytes.Repeat([]byte{0xff}, secretBytes))},
		{name: "one", in: [secretBytes]byte(append(make([]byte, secretBytes-1), 1))},
		{name: "high bit", in: [secretBytes]byte(append([]byte{0x80}, make([]byte, secretBytes-1)...))},
		{name: "pattern", in: [secretBytes]byte([]byte("0123456789abcdefghijklmnopqrstuv"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got [BodyLen]byte
			encodeBody(got[:], &tc.in)
			if want := bigBase62(tc.in[:]); string(got[:]) != want {
				t.Errorf("encodeBody(%x) = %s, want %s", tc.in, got, want)
			}
			back, ok := decodeBody(string(got[:]))
			if !ok || back != tc.in {
				t.Errorf("decodeBody(%s) = %x, %v, want %x, true", got, back, ok, tc.in)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	for _, s := range []string{"", "a", "gk_abcdefghijkl_", strings.Repeat("\xff\x00z", 40)} {
		if got, want := checksum(s), crc32.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("checksum(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestMaxBody(t *testing.T) {
	var got [BodyLen]byte
	max := [secretBytes]byte(bytes.Repeat([]byte{0xff}, secretBytes))
	encodeBody(got[:], &max)
	if string(got[:]) != maxBody {
		t.Errorf("encodeBody(2^256-1) = %s, want maxBody %s", got, maxBody)
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		ok     bool
	}{
		{"api key", "gk_", true},
		{"one letter", "r_", true},
		{"digits", "a1b2_", true},
		{"longest", "a" + strings.Repeat("b", 15) + "_", true},
		{"too long", "a" + strings.Repeat("b", 16) + "_", false},
		{"empty", "", false},
		{"underscore only", "_", false},
		{"no underscore", "gk", false},
		{"leading digit", "1k_", false},
		{"upper case", "Gk_", false},
		{"two underscores", "g_k_", false},
		{"dash", "g-k_", false},
		{"non-ASCII", "gé_", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePrefix(tc.prefix)
			if (err == nil) != tc.ok {
				t.Errorf("ValidatePrefix(%q) error = %v, want ok=%v", tc.prefix, err, tc.ok)
			}
		})
	}
}

func TestMintParse(t *testing.T) {
	for _, prefix := range []string{"gk_", "r_", "gatehouse0123456_"} {
		t.Run(prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				value, id := Mint(prefix)
				if len(value) != Len(prefix) {
					t.Fatalf("len(Mint(%q)) = %d, want %d", prefix, len(value), Len(prefix))
				}
				if got := mustParse(t, prefix, value); got != id {
					t.Fatalf("Parse(Mint()) id = %q, want %q", got, id)
				}
				if !ValidID(id) {
					t.Fatalf("Mint id %q is not ValidID", id)
				}
				if got, want := Display(value), prefix+id; got != want {
					t.Fatalf("Display(%q) = %q, want %q", value, got, want)
				}
				if !Looks(prefix, value) {
					t.Fatalf("Looks(%q, %q) = false", prefix, value)
				}
				if seen[value] || seen[id] {
					t.Fatalf("Mint repeated %q", value)
				}
				seen[value], seen[id] = true, true
			}
		})
	}
}

func TestMintWithID(t *testing.T) {
	first, id := Mint("gk_")
	second := MintWithID("gk_", id)
	if second == first {
		t.Fatal("MintWithID returned the old value")
	}
	if got := mustParse(t, "gk_", second); got != id {
		t.Errorf("Parse(MintWithID(%q)) id = %q", id, got)
	}
	if Display(second) != Display(first) {
		t.Errorf("Display changed on rotation: %q → %q", Display(first), Display(second))
	}
	bad := MintWithID("gk_", "NOT-AN-ID")
	if _, err := Parse("gk_", bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(MintWithID with invalid id) error = %v, want ErrMalformed", err)
	}
}

func TestMintPanicsOnInvalidPrefix(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"Mint", func() { Mint("GK") }},
		{"MintWithID", func() { MintWithID("", "abcdefghijkl") }},
		{"Derive", func() { Derive([]byte("k"), "g k_", "x") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s with an invalid prefix did not panic", tc.name)
				}
			}()
			tc.f()
		})
	}
}

// rejectCase is a value Parse must refuse.
type rejectCase struct {
	name   string
	prefix string
	value  string
}

// rejectCases builds, from a valid "gk_" key, one value for every way a
// credential can be malformed.
func rejectCases(valid string) []rejectCase {
	head := valid[:len(valid)-ChecksumLen]
	return []rejectCase{
		{"empty", "gk_", ""},
		{"prefix only", "gk_", "gk_"},
		{"wrong prefix", "rt_", "rt" + valid[2:]},
		{"other kind", "rt_", valid},
		{"upper-case prefix", "gk_", "GK" + valid[2:]},
		{"truncated", "gk_", valid[:len(valid)-1]},
		{"extended", "gk_", valid + "0"},
		{"extended with newline", "gk_", valid + "\n"},
		{"leading space", "gk_", " " + valid[:len(valid)-1]},
		{"no separator", "gk_", withChecksum(valid[:3+IDLen] + "0" + valid[3+IDLen+1:])},
		{"upper-case id", "gk_", withChecksum("gk_" + strings.ToUpper(valid[3:3+IDLen]) + valid[3+IDLen:])},
		{"id with 0", "gk_", withChecksum("gk_0" + valid[4:])},
		{"body with dash", "gk_", withChecksum(head[:len(head)-1] + "-" + valid[len(head):])},
		{"body out of range", "gk_", withChecksum(valid[:3+IDLen+1] + strings.Repeat("z", BodyLen) + "000000")},
		{"body just out of range", "gk_", withChecksum(valid[:3+IDLen+1] + maxBody[:BodyLen-1] + "2" + "000000")},
		{"checksum with dash", "gk_", head + "-00000"},
		{"checksum too large", "gk_", head + "zzzzzz"},
		{"non-ASCII", "gk_", strings.Replace(valid, valid[20:22], "é", 1)},
		{"invalid UTF-8", "gk_", valid[:20] + "\xff" + valid[21:]},
		{"NUL", "gk_", valid[:20] + "\x00" + valid[21:]},
		{"invalid expected prefix", "GK", valid},
		{"empty expected prefix", "", valid[3:]},
	}
}

func TestParseRejects(t *testing.T) {
	valid, _ := Mint("gk_")
	for _, tc := range rejectCases(valid) {
		t.Run(tc.name, func(t *testing.T) {
			id, err := Parse(tc.prefix, tc.value)
			if !errors.Is(err, ErrMalformed) || id != "" {
				t.Errorf("Parse(%q, %q) = %q, %v, want \"\", ErrMalformed", tc.prefix, tc.value, id, err)
			}
		})
	}
	// The largest body is accepted.
	maxValue := withChecksum(valid[:3+IDLen+1] + maxBody + "000000")
	mustParse(t, "gk_", maxValue)
}

// TestParseEveryMutation changes every byte of a valid key to every other
// byte value: the prefix test, the character sets or the checksum must
// catch each one.
func TestParseEveryMutation(t *testing.T) {
	for range 3 {
		valid, _ := Mint("gk_")
		b := []byte(valid)
		for i := range b {
			orig := b[i]
			for c := range 256 {
				if byte(c) == orig {
					continue
				}
				b[i] = byte(c)
				if id, err := Parse("gk_", string(b)); err == nil {
					t.Fatalf("Parse accepted %q (byte %d of %q changed to %#x), id %q", b, i, valid, c, id)
				}
			}
			b[i] = orig
		}
	}
}

func TestParseAllocs(t *testing.T) {
	valid, _ := Mint("gk_")
	bad := valid[:len(valid)-1] + "x"
	for _, v := range []string{valid, bad} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Parse("gk_", v) }); n != 0 {
			t.Errorf("Parse(%q) allocates %v times, want 0", v, n)
		}
	}
}

func TestDerive(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	from, _ := Mint("rt_")
	v1, id1 := Derive(key, "rt_", from)
	v2, id2 := Derive(key, "rt_", from)
	if v1 != v2 || id1 != id2 {
		t.Fatalf("Derive is not deterministic: %q/%q vs %q/%q", v1, id1, v2, id2)
	}
	if got := mustParse(t, "rt_", v1); got != id1 {
		t.Errorf("Parse(Derive()) id = %q, want %q", got, id1)
	}
	if v1 == from {
		t.Error("Derive returned its input")
	}
	otherKey := bytes.Repeat([]byte{8}, 32)
	from2, _ := Mint("rt_")
	tests := []struct {
		name   string
		key    []byte
		prefix string
		from   string
	}{
		{"other key", otherKey, "rt_", from},
		{"other from", key, "rt_", from2},
		{"other prefix", key, "rs_", from},
		{"from one byte longer", key, "rt_", from + "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, id := Derive(tc.key, tc.prefix, tc.from)
			mustParse(t, tc.prefix, v)
			if v[len(tc.prefix):] == v1[len("rt_"):] || id == id1 {
				t.Errorf("Derive(%s) = %q, %q: same secret or id as the original %q, %q", tc.name, v, id, v1, id1)
			}
		})
	}
}

func TestHashMatches(t *testing.T) {
	value, _ := Mint("gk_")
	h := Hash(value)
	if len(h) != 32 {
		t.Fatalf("len(Hash) = %d, want 32", len(h))
	}
	other, _ := Mint("gk_")
	tests := []struct {
		name  string
		hash  []byte
		value string
		want  bool
	}{
		{"same", h, value, true},
		{"other value", h, other, false},
		{"one byte off", h, value[:len(value)-1] + "0", value[len(value)-1] == '0'},
		{"nil hash", nil, value, false},
		{"short hash", h[:31], value, false},
		{"empty value", h, "", false},
		{"hash of empty", Hash(""), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Matches(tc.hash, tc.value); got != tc.want {
				t.Errorf("Matches(%x, %q) = %v, want %v", tc.hash, tc.value, got, tc.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"valid", "gk_abcdefghijkl_" + strings.Repeat("A", BodyLen+ChecksumLen), "gk_abcdefghijkl"},
		{"no underscore", "eyJhbGciOiJFUzI1NiJ9.payload", ""},
		{"empty", "", ""},
		{"bad prefix", "GK_abcdefghijkl_x", ""},
		{"short id", "gk_abc_SECRET", "gk_abc"},
		{"id stops at upper case", "gk_abcSECRETxyz", "gk_abc"},
		{"prefix only", "gk_", "gk_"},
		{"underscore too late", strings.Repeat("a", 20) + "_secret", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Display(tc.value); got != tc.want {
				t.Errorf("Display(%q) = %q, want %q", tc.value, got, tc.want)
			}
		})
	}
}

func TestLooks(t *testing.T) {
	tests := []struct {
		name, prefix, value string
		want                bool
	}{
		{"api key", "gk_", "gk_whatever", true},
		{"jwt", "gk_", "eyJhbGciOiJFUzI1NiJ9.e30.sig", false},
		{"shorter", "gk_", "gk", false},
		{"empty prefix", "", "gk_x", false},
		{"case", "gk_", "GK_x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Looks(tc.prefix, tc.value); got != tc.want {
				t.Errorf("Looks(%q, %q) = %v, want %v", tc.prefix, tc.value, got, tc.want)
			}
		})
	}
}

func TestRandom(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 16, 32, 33} {
		s := Random(n)
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("Random(%d) = %q: not base64url: %v", n, s, err)
		}
		if want := max(n, 0); len(b) != want {
			t.Errorf("Random(%d) decodes to %d bytes, want %d", n, len(b), want)
		}
	}
	if Random(32) == Random(32) {
		t.Error("Random(32) repeated itself")
	}
}

func FuzzParse(f *testing.F) {
	valid, _ := Mint("gk_")
	derived, _ := Derive([]byte("key"), "rt_", "from")
	f.Add("gk_", valid)
	f.Add("rt_", derived)
	f.Add("gk_", valid[:30])
	f.Add("gk_", valid+"x")
	f.Add("gk_", "gk_abcdefghijkl_"+maxBody+"000000")
	f.Add("", "")
	f.Add("a_", "a_\xff")
	f.Fuzz(func(t *testing.T, prefix, value string) {
		if got, want := checksum(value), crc32.ChecksumIEEE([]byte(value)); got != want {
			t.Fatalf("checksum(%q) = %#x, want %#x", value, got, want)
		}
		id, err := Parse(prefix, value)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || id != "" {
				t.Fatalf("Parse(%q, %q) = %q, %v: error not ErrMalformed or id not empty", prefix, value, id, err)
			}
			return
		}
		if ValidatePrefix(prefix) != nil || len(value) != Len(prefix) || !Looks(prefix, value) || !ValidID(id) {
			t.Fatalf("Parse(%q, %q) accepted a value of the wrong shape (id %q)", prefix, value, id)
		}
		if got := Display(value); got != prefix+id {
			t.Fatalf("Display(%q) = %q, want %q", value, got, prefix+id)
		}
		body, ok := decodeBody(value[len(prefix)+IDLen+1 : len(value)-ChecksumLen])
		if !ok {
			t.Fatalf("Parse(%q) accepted a body that does not decode", value)
		}
		if again := format(prefix, id, &body); again != value {
			t.Fatalf("Parse(%q) accepted a non-canonical value; re-serialised as %q", value, again)
		}
	})
}

func BenchmarkMint(b *testing.B) {
	for b.Loop() {
		Mint("gk_")
	}
}

func BenchmarkParse(b *testing.B) {
	value, _ := Mint("gk_")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("gk_", value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashMatches(b *testing.B) {
	value, _ := Mint("gk_")
	h := Hash(value)
	b.ReportAllocs()
	for b.Loop() {
		if !Matches(h, value) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkDerive(b *testing.B) {
	key := bytes.Repeat([]byte{1}, 32)
	from, _ := Mint("rt_")
	for b.Loop() {
		Derive(key, "rt_", from)
	}
}
