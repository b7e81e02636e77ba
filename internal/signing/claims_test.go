package signing

import (
	"testing"
)

func TestAtHash(t *testing.T) {
	tests := []struct {
		name, alg, token, want string
	}{
		// OpenID Connect Core 1.0 Appendix A.3/A.4.
		{"RS256 spec example", "RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"},
		{"ES256 uses SHA-256 too", "ES256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "77QmUPtjPfzWtF2AnpK9RQ"},
		// SHA-512 for Ed25519 (openid/connect issue 1125).
		{"EdDSA", "EdDSA", "dNZX1hEZ9wBCzNL40Upu646bdzQA", "8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog"},
		{"HS512", "HS512", "dNZX1hEZ9wBCzNL40Upu646bdzQA", "8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog"},
		{"HS384 length", "HS384", "dNZX1hEZ9wBCzNL40Upu646bdzQA", "phZaPQJosyg-qi-OIYyQ3xJB9wsHYEEz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AtHash(tc.alg, tc.token)
			if err != nil || got != tc.want {
				t.Errorf("AtHash(%s, %q) = %q, %v; want %q", tc.alg, tc.token, got, err, tc.want)
			}
		})
	}
	if _, err := AtHash("none", "x"); err == nil {
		t.Errorf("AtHash(none) succeeded")
	}
}
