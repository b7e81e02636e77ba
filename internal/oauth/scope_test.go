package oauth

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	many := make([]string, MaxScopes)
	for i := range many {
		many[i] = fmt.Sprintf("s%d", i)
	}
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "only spaces", in: "   ", want: nil},
		{name: "one", in: "read", want: []string{"read"}},
		{name: "several in order", in: "write read openid", want: []string{"write", "read", "openid"}},
		{name: "duplicates removed keeping the first", in: "b a b c a", want: []string{"b", "a", "c"}},
		{name: "extra spaces tolerated", in: " a  b ", want: []string{"a", "b"}},
		{name: "full charset", in: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~ urn:example:scope/read", want: []string{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~", "urn:example:scope/read"}},
		{name: "longest token", in: strings.Repeat("x", MaxScopeLen), want: []string{strings.Repeat("x", MaxScopeLen)}},
		{name: "most tokens", in: strings.Join(many, " "), want: many},
		{name: "most tokens with duplicates", in: strings.Join(many, " ") + " s0 s1", want: many},
		{name: "double quote", in: `a "b"`, wantErr: true},
		{name: "backslash", in: `a\b`, wantErr: true},
		{name: "tab separator", in: "a\tb", wantErr: true},
		{name: "newline", in: "a\nb", wantErr: true},
		{name: "non-ASCII", in: "caf\u00e9", wantErr: true},
		{name: "DEL", in: "a\x7f", wantErr: true},
		{name: "token too long", in: strings.Repeat("x", MaxScopeLen+1), wantErr: true},
		{name: "too many tokens", in: strings.Join(many, " ") + " one-more", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScope(tc.in)
			if tc.wantErr {
				if err == nil || err.Code != InvalidScope {
					t.Errorf("ParseScope(%q) = %q, %v; want invalid_scope", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q) error = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseScope(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestScopeString(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"nil", nil, ""},
		{"one", []string{"a"}, "a"},
		{"several", []string{"openid", "read"}, "openid read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ScopeString(tc.in); got != tc.want {
				t.Errorf("ScopeString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSubset(t *testing.T) {
	tests := []struct {
		name       string
		want, have []string
		ok         bool
	}{
		{"empty want", nil, []string{"a"}, true},
		{"both empty", nil, nil, true},
		{"subset", []string{"b"}, []string{"a", "b"}, true},
		{"equal", []string{"a", "b"}, []string{"b", "a"}, true},
		{"missing one", []string{"a", "c"}, []string{"a", "b"}, false},
		{"nothing held", []string{"a"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Subset(tc.want, tc.have); got != tc.ok {
				t.Errorf("Subset(%q, %q) = %v, want %v", tc.want, tc.have, got, tc.ok)
			}
		})
	}
}

func TestIntersect(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want []string
	}{
		{"disjoint", []string{"a"}, []string{"b"}, nil},
		{"keeps a's order", []string{"c", "a", "b"}, []string{"a", "b", "c"}, []string{"c", "a", "b"}},
		{"dedupes", []string{"a", "a", "b"}, []string{"a"}, []string{"a"}},
		{"empty b", []string{"a"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Intersect(tc.a, tc.b)); diff != "" {
				t.Errorf("Intersect(%q, %q) mismatch (-want +got):\n%s", tc.a, tc.b, diff)
			}
		})
	}
}

func TestNarrow(t *testing.T) {
	allowed := []string{"openid", "read", "write"}
	tests := []struct {
		name      string
		requested []string
		allowed   []string
		want      []string
		wantErr   string
	}{
		{name: "nothing requested gets everything allowed", requested: nil, allowed: allowed, want: allowed},
		{name: "empty request gets everything allowed", requested: []string{}, allowed: allowed, want: allowed},
		{name: "nothing requested, nothing allowed", requested: nil, allowed: nil, want: nil},
		{name: "subset in request order", requested: []string{"write", "openid"}, allowed: allowed, want: []string{"write", "openid"}},
		{name: "duplicates removed", requested: []string{"read", "read"}, allowed: allowed, want: []string{"read"}},
		{name: "one not allowed", requested: []string{"read", "admin"}, allowed: allowed, wantErr: "scope not allowed: admin"},
		{name: "empty allowed allows nothing", requested: []string{"read"}, allowed: nil, wantErr: "scope not allowed: read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Narrow(tc.requested, tc.allowed)
			if tc.wantErr != "" {
				if err == nil || err.Code != InvalidScope || err.Description != tc.wantErr {
					t.Errorf("Narrow(%q, %q) = %q, %v; want invalid_scope %q", tc.requested, tc.allowed, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Narrow(%q, %q) error = %v", tc.requested, tc.allowed, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Narrow(%q, %q) mismatch (-want +got):\n%s", tc.requested, tc.allowed, diff)
			}
		})
	}
}

func TestNarrowReturnsACopy(t *testing.T) {
	allowed := []string{"a", "b"}
	got, err := Narrow(nil, allowed)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "changed"
	if allowed[0] != "a" {
		t.Errorf("Narrow(nil, allowed) shares its result with allowed")
	}
}

func TestNarrowForUser(t *testing.T) {
	own := []string{"read", "write"}
	tests := []struct {
		name               string
		requested, own, cl []string
		want               []string
		wantErr            string
	}{
		{name: "no scope: the user's own, no OIDC scope", own: own, want: own},
		{name: "no scope, bounded by the client", own: own, cl: []string{"read", "openid"}, want: []string{"read"}},
		{name: "OIDC scopes without holding them", requested: []string{"openid", "profile", "offline_access", "read"}, own: own,
			want: []string{"openid", "profile", "offline_access", "read"}},
		{name: "openid for a user with no scopes at all", requested: []string{"openid"}, want: []string{"openid"}},
		{name: "a permission the user lacks", requested: []string{"openid", "admin"}, own: own, wantErr: "scope not allowed: admin"},
		{name: "an OIDC scope the client did not register", requested: []string{"openid"}, own: own, cl: []string{"read"},
			wantErr: "scope not allowed: openid"},
		{name: "an OIDC scope the client registered", requested: []string{"openid", "read"}, own: own, cl: []string{"read", "openid"},
			want: []string{"openid", "read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NarrowForUser(tc.requested, tc.own, tc.cl)
			if tc.wantErr != "" {
				if err == nil || err.Code != InvalidScope || err.Description != tc.wantErr {
					t.Errorf("NarrowForUser(%q, %q, %q) = %q, %v; want invalid_scope %q", tc.requested, tc.own, tc.cl, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NarrowForUser(%q, %q, %q) error = %v", tc.requested, tc.own, tc.cl, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NarrowForUser(%q, %q, %q) mismatch (-want +got):\n%s", tc.requested, tc.own, tc.cl, diff)
			}
		})
	}
	if u := UserScopes(own); len(own) != 2 || len(u) != 5 {
		t.Errorf("UserScopes(%q) = %q (and must not change its argument)", own, u)
	}
}

func TestStillGranted(t *testing.T) {
	tests := []struct {
		name                   string
		granted, own, cl, want []string
	}{
		{name: "unchanged", granted: []string{"read", "write"}, own: []string{"read", "write"}, want: []string{"read", "write"}},
		{name: "taken from the user", granted: []string{"read", "write"}, own: []string{"read"}, want: []string{"read"}},
		{name: "taken from the client", granted: []string{"read", "write"}, own: []string{"read", "write"},
			cl: []string{"read"}, want: []string{"read"}},
		{name: "never widened", granted: []string{"read"}, own: []string{"read", "write"}, cl: []string{"read", "write"},
			want: []string{"read"}},
		{name: "OIDC scopes need no holding, but the client's registration", granted: []string{"openid", "read"},
			own: []string{"read"}, cl: []string{"read"}, want: []string{"read"}},
		{name: "OIDC scopes kept without client scopes", granted: []string{"openid", "read"}, own: []string{"read"},
			want: []string{"openid", "read"}},
		{name: "nothing left", granted: []string{"write"}, own: []string{"write"}, cl: []string{"read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := StillGranted(tc.granted, tc.own, tc.cl)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("StillGranted(%q, %q, %q) mismatch (-want +got):\n%s", tc.granted, tc.own, tc.cl, diff)
			}
		})
	}
}
