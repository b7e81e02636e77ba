package oauth

import "testing"

func TestGrantTypeKnown(t *testing.T) {
	for _, g := range GrantTypes() {
		if !g.Known() {
			t.Errorf("GrantType(%q).Known() = false for a listed grant", g)
		}
	}
	for _, g := range []GrantType{"", "implicit", "PASSWORD", "urn:ietf:params:oauth:grant-type:device_code"} {
		if g.Known() {
			t.Errorf("GrantType(%q).Known() = true, want false", g)
		}
	}
	if n := len(GrantTypes()); n != 4 {
		t.Errorf("len(GrantTypes()) = %d, want 4", n)
	}
}

func TestListsAreFresh(t *testing.T) {
	GrantTypes()[0] = "changed"
	AuthMethods()[0] = "changed"
	if GrantTypes()[0] == "changed" || AuthMethods()[0] == "changed" {
		t.Errorf("GrantTypes or AuthMethods returned shared state")
	}
}
