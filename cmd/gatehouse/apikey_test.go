package main

import (
	"slices"
	"testing"
)

// TestAPIKeyCreateScopes checks on the command line that `--scopes ""`
// is a key with no scopes; only leaving the flag out gives the owner's
// scopes.
func TestAPIKeyCreateScopes(t *testing.T) {
	c := newCLI(t)
	c.run("pass-word-1\n", "user", "create", "root", "--password-stdin", "--scopes", "read write", "--admin")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"flag left out: the owner's", nil, []string{"read", "write", "admin"}},
		{"empty", []string{"--scopes", ""}, []string{}},
		{"only spaces", []string{"--scopes", "  "}, []string{}},
		{"empty with =", []string{"--scopes="}, []string{}},
		{"one", []string{"--scopes", "read"}, []string{"read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var k struct{ Scopes []string }
			c.mustJSON("", &k, append([]string{"apikey", "create", "--user", "root"}, tc.args...)...)
			if !slices.Equal(k.Scopes, tc.want) {
				t.Errorf("apikey create %q: scopes = %q, want %q", tc.args, k.Scopes, tc.want)
			}
		})
	}
}
