package httpmw

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// IPResolver finds the address of the client behind a chain of reverse
// proxies. Forwarding headers are believed only when they were written by a
// proxy in Trusted: a client that talks to the server directly can send any
// X-Forwarded-For it likes and changes nothing.
//
// The zero IPResolver trusts nobody and returns the connection's peer.
type IPResolver struct {
	// Trusted lists the proxies whose forwarding headers are believed.
	Trusted []netip.Prefix
}

type clientIPKey struct{}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes and
// bare addresses ("10.0.0.0/8, 192.0.2.7, fd00::/8"), as in
// GATEHOUSE_TRUSTED_PROXIES. A bare address becomes a single-address prefix;
// IPv4-mapped IPv6 forms are reduced to IPv4. Empty items are skipped and an
// empty string gives no prefixes.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("parse trusted proxy %q: %w", item, err)
			}
			a := p.Addr()
			if a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("parse trusted proxy %q: %w", item, err)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("parse trusted proxy %q: zones are not allowed", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP returns the address of the client that sent req.
//
// It starts from the connection's peer (req.RemoteAddr). Only if that peer is
// a trusted proxy does it read X-Forwarded-For (all header lines, in order)
// from right to left, skipping trusted hops, and return the first untrusted
// address; if every hop is trusted, the leftmost one is the client. Without
// X-Forwarded-For it reads the for= parameters of Forwarded (RFC 7239 §5.2)
// the same way.
//
// A malformed, empty, obfuscated or "unknown" value ends the walk and the last
// trusted hop seen is returned: everything to its left was written by the
// client and could be forged, so skipping over the bad value would let a
// client choose its own address. Ports and IPv6 brackets are accepted and
// dropped; IPv4-mapped IPv6 addresses are reduced to IPv4. An unparsable
// RemoteAddr gives the zero Addr.
func (r IPResolver) ClientIP(req *http.Request) netip.Addr {
	peer := remoteAddr(req)
	if !peer.IsValid() || !r.trusted(peer) {
		return peer
	}
	if xff := req.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		return r.walk(peer, xff, parseXFFValue)
	}
	if fwd := req.Header.Values("Forwarded"); len(fwd) > 0 {
		return r.walk(peer, fwd, parseForwardedElement)
	}
	return peer
}

// walk goes through the comma-separated elements of lines from right to
// left. last is the closest address known to be real so far.
func (r IPResolver) walk(last netip.Addr, lines []string, parse func(string) (netip.Addr, bool)) netip.Addr {
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for {
			var elem string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				elem, line = line[j+1:], line[:j]
			} else {
				elem, line = line, ""
			}
			a, ok := parse(strings.TrimSpace(elem))
			if !ok {
				return last
			}
			if !r.trusted(a) {
				return a
			}
			last = a
			if line == "" {
				break
			}
		}
	}
	return last
}

func (r IPResolver) trusted(a netip.Addr) bool {
	for _, p := range r.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Middleware stores the client address found by [IPResolver.ClientIP] in the
// request context, for [ClientIPFrom].
func (r IPResolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ip := r.ClientIP(req)
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), clientIPKey{}, ip)))
	})
}

// ClientIPFrom returns the client address stored by
// [IPResolver.Middleware], or the zero Addr.
func ClientIPFrom(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip
}

// parseXFFValue parses one X-Forwarded-For element: an address, optionally
// with a port ("192.0.2.1:4711", "[2001:db8::1]:4711") or in brackets.
func parseXFFValue(s string) (netip.Addr, bool) {
	return parseNode(s)
}

// parseForwardedElement takes the for= parameter of one Forwarded element
// (RFC 7239 §4: pairs separated by ';', names case-insensitive, values
// tokens or quoted strings).
func parseForwardedElement(elem string) (netip.Addr, bool) {
	for pair := range strings.SplitSeq(elem, ";") {
		name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		return parseNode(value)
	}
	return netip.Addr{}, false
}

// parseNode parses a node as RFC 7239 §6 and common X-Forwarded-For usage
// write it. Obfuscated identifiers ("_hidden") and "unknown" are rejected.
func parseNode(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
