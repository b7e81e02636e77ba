package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzAddrKey: any text gives a short key without panicking; an address
// and its IPv4-mapped or same-/64 forms give the same key.
func FuzzAddrKey(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "fe80::1%eth0", "", "not an address", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := AddrKey(s)
		if len(k) > 64+1 {
			t.Fatalf("AddrKey(%q) = %q: longer than 65 bytes", s, k)
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		if a.Is4In6() && AddrKey(a.Unmap().String()) != k {
			t.Errorf("AddrKey(%q) = %q, differs from its IPv4 form's %q", s, k, AddrKey(a.Unmap().String()))
		}
		if a.Is6() && !a.Is4In6() {
			other := a.As16()
			other[15] ^= 0xff
			if o := netip.AddrFrom16(other).WithZone(a.Zone()); AddrKey(o.String()) != k {
				t.Errorf("AddrKey(%q) = %q, but %q in the same /64 gives %q", s, k, o, AddrKey(o.String()))
			}
		}
	})
}
