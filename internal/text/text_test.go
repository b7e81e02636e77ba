package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStorable(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"curl/8.5 (é, 日本)", true},
		{"curl/\xff", false},
		{"caf\xc3", false},
		{"a\x00b", false},
		{"\uFFFD", true},
	}
	for _, tc := range tests {
		if got := Storable(tc.in); got != tc.want {
			t.Errorf("Storable(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "curl/8", 10, "curl/8"},
		{"no limit", strings.Repeat("a", 1000), 0, strings.Repeat("a", 1000)},
		{"ascii cut", "abcdef", 3, "abc"},
		{"cut inside a character", "aé", 2, "a"},
		{"cut after a character", "aéb", 3, "aé"},
		{"cut inside a 4-byte character", "a😀", 4, "a"},
		{"invalid bytes", "curl/\xff\xfe 8", 0, "curl/\uFFFD 8"},
		{"split character at the end", "caf\xc3", 0, "caf\uFFFD"},
		{"NUL", "a\x00b", 0, "a\uFFFDb"},
		{"repair then cut", "\xffab", 4, "\uFFFDa"},
		{"repair then cut inside the replacement", "a\xff", 3, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clip(tc.in, tc.max); got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "curl/8", "aé", "caf\xc3", "a\x00b", "\xff\xfe", "a😀b"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		got := Clip(s, max)
		if !Storable(got) {
			t.Fatalf("Clip(%q, %d) = %q is not storable", s, max, got)
		}
		if max > 0 && len(got) > max {
			t.Fatalf("Clip(%q, %d) = %d bytes", s, max, len(got))
		}
		if Storable(s) && !strings.HasPrefix(s, got) {
			t.Fatalf("Clip(%q, %d) = %q is not a prefix of storable input", s, max, got)
		}
		if max > 0 && max < len(s) && Storable(s) && len(got) < max-utf8.UTFMax+1 {
			t.Fatalf("Clip(%q, %d) = %q cut more than one character short", s, max, got)
		}
	})
}
