package httpmw

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "spaces and commas", in: " , ,", want: nil},
		{name: "cidr", in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{name: "cidr masked", in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "bare v4", in: "192.0.2.7", want: []string{"192.0.2.7/32"}},
		{name: "bare v6", in: "::1", want: []string{"::1/128"}},
		{name: "mapped v4", in: "::ffff:192.0.2.7", want: []string{"192.0.2.7/32"}},
		{name: "mapped v4 prefix", in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{name: "list", in: "10.0.0.0/8, 192.0.2.7 ,fd00::/8", want: []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8"}},
		{name: "garbage", in: "10.0.0.0/8,nope", wantErr: true},
		{name: "bad bits", in: "10.0.0.0/33", wantErr: true},
		{name: "hostname", in: "proxy.local", wantErr: true},
		{name: "zone", in: "fe80::1%eth0", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrustedProxies(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTrustedProxies(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("ParseTrustedProxies(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientIP(t *testing.T) {
	trusted := "10.0.0.0/8, 192.168.0.0/16, fd00::/8"
	tests := []struct {
		name      string
		trusted   string
		remote    string
		xff       []string
		forwarded []string
		want      string
	}{
		// Spoofing from untrusted peers changes nothing.
		{name: "no proxies configured, spoofed xff", trusted: "", remote: "203.0.113.5:1234", xff: []string{"1.1.1.1"}, want: "203.0.113.5"},
		{name: "untrusted peer, spoofed xff", trusted: trusted, remote: "203.0.113.5:1234", xff: []string{"10.0.0.1, 1.1.1.1"}, want: "203.0.113.5"},
		{name: "untrusted peer, spoofed forwarded", trusted: trusted, remote: "203.0.113.5:1234", forwarded: []string{"for=1.1.1.1"}, want: "203.0.113.5"},
		{name: "untrusted v6 peer, spoofed xff", trusted: trusted, remote: "[2001:db8::5]:1234", xff: []string{"1.1.1.1"}, want: "2001:db8::5"},

		// Trusted peers.
		{name: "trusted peer, no headers", trusted: trusted, remote: "10.0.0.1:80", want: "10.0.0.1"},
		{name: "one hop", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "client prepends spoof", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "two trusted hops", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6, 203.0.113.9, 192.168.1.1"}, want: "203.0.113.9"},
		{name: "multiple header lines", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6", "203.0.113.9", "192.168.1.1"}, want: "203.0.113.9"},
		{name: "all trusted", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"10.9.9.9, 192.168.1.1"}, want: "10.9.9.9"},
		{name: "with port", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"203.0.113.9:4711"}, want: "203.0.113.9"},
		{name: "v6 with brackets and port", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"[2001:db8::9]:4711"}, want: "2001:db8::9"},
		{name: "v6 brackets", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"[2001:db8::9]"}, want: "2001:db8::9"},
		{name: "v6 plain", trusted: trusted, remote: "[fd00::1]:80", xff: []string{"2001:db8::9"}, want: "2001:db8::9"},
		{name: "mapped v4 in xff", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "mapped v4 peer", trusted: trusted, remote: "[::ffff:10.0.0.1]:80", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},

		// Malformed values end the walk at the last trusted hop.
		{name: "malformed rightmost", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6, garbage"}, want: "10.0.0.1"},
		{name: "malformed after trusted hop", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6, unknown, 192.168.1.1"}, want: "192.168.1.1"},
		{name: "malformed left of client ignored", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"garbage, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "empty element", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"6.6.6.6, , 192.168.1.1"}, want: "192.168.1.1"},
		{name: "empty header", trusted: trusted, remote: "10.0.0.1:80", xff: []string{""}, want: "10.0.0.1"},
		{name: "zone rejected", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"fe80::1%eth0"}, want: "10.0.0.1"},

		// Forwarded (RFC 7239) when X-Forwarded-For is absent.
		{name: "forwarded", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{"for=203.0.113.9;proto=https"}, want: "203.0.113.9"},
		{name: "forwarded case and quotes", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{`proto=https; For="[2001:db8::9]:4711"`}, want: "2001:db8::9"},
		{name: "forwarded chain", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{"for=6.6.6.6, for=203.0.113.9", "for=192.168.0.3;by=10.0.0.1"}, want: "203.0.113.9"},
		{name: "forwarded obfuscated", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{"for=6.6.6.6, for=_hidden"}, want: "10.0.0.1"},
		{name: "forwarded unknown", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{`for="unknown"`}, want: "10.0.0.1"},
		{name: "forwarded without for", trusted: trusted, remote: "10.0.0.1:80", forwarded: []string{"for=6.6.6.6, proto=https"}, want: "10.0.0.1"},
		{name: "xff wins over forwarded", trusted: trusted, remote: "10.0.0.1:80", xff: []string{"203.0.113.9"}, forwarded: []string{"for=6.6.6.6"}, want: "203.0.113.9"},

		// Odd peers.
		{name: "unparsable remote", trusted: trusted, remote: "pipe", xff: []string{"1.1.1.1"}, want: "invalid IP"},
		{name: "remote without port", trusted: trusted, remote: "203.0.113.5", want: "203.0.113.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := IPResolver{Trusted: mustPrefixes(t, tc.trusted)}
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.forwarded {
				req.Header.Add("Forwarded", v)
			}
			if got := r.ClientIP(req).String(); got != tc.want {
				t.Errorf("ClientIP(remote %q, xff %q, fwd %q) = %s, want %s", tc.remote, tc.xff, tc.forwarded, got, tc.want)
			}
		})
	}
}

func TestIPResolverMiddleware(t *testing.T) {
	r := IPResolver{Trusted: mustPrefixes(t, "10.0.0.0/8")}
	var got netip.Addr
	h := r.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got = ClientIPFrom(req.Context())
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.1:80"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if want := netip.MustParseAddr("203.0.113.9"); got != want {
		t.Errorf("ClientIPFrom = %v, want %v", got, want)
	}
	if ip := ClientIPFrom(t.Context()); ip.IsValid() {
		t.Errorf("ClientIPFrom(empty) = %v, want zero", ip)
	}
}

// FuzzClientIP checks that whatever the headers say, an untrusted peer is
// never overridden and a trusted one is replaced only by a valid, normalised
// address.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:80", "6.6.6.6, 203.0.113.9", "")
	f.Add("10.0.0.1:80", "", `for="[2001:db8::1]:80";proto=https, for=_x`)
	f.Add("203.0.113.5:1", "1.1.1.1", "for=2.2.2.2")
	f.Add("10.0.0.1:80", ",,,[", "for=\"")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			req.Header.Set("Forwarded", fwd)
		}
		r := IPResolver{Trusted: trusted}
		got := r.ClientIP(req)
		peer := remoteAddr(req)
		if got == peer {
			return
		}
		if !peer.IsValid() || !r.trusted(peer) {
			t.Fatalf("untrusted peer %v overridden by %v", peer, got)
		}
		if !got.IsValid() {
			t.Fatalf("invalid address returned for trusted peer %v", peer)
		}
		if got.Is4In6() || got.Zone() != "" {
			t.Fatalf("ClientIP = %v, want unmapped and without zone", got)
		}
	})
}

func FuzzParseTrustedProxies(f *testing.F) {
	f.Add("10.0.0.0/8, 192.0.2.7 ,fd00::/8")
	f.Add("::ffff:10.0.0.0/104")
	f.Add("1.2.3.4/33,")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseTrustedProxies(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("ParseTrustedProxies(%q) gave unnormalised prefix %v", s, p)
			}
		}
	})
}
