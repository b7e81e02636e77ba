package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
)

// AppendAddrKey appends the key under which every per-address limit counts
// a client address: an IPv4 address as it is (an IPv4-mapped IPv6 address
// as its IPv4 form), an IPv6 address by its /64, which one subscriber
// usually holds whole; rotating addresses inside it must not reset a
// limit.
func AppendAddrKey(b []byte, ip netip.Addr) []byte {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.AppendTo(b)
	}
	return ip.AppendTo(b)
}

// AddrKey is [AppendAddrKey] for an address in text form. Text that is not
// an address (it comes from the caller, so it is not trusted) is kept as it
// is, or hashed when longer than 64 bytes, so that a key stays short.
func AddrKey(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		var buf [64]byte
		return string(AppendAddrKey(buf[:0], a))
	}
	if len(ip) > 64 {
		sum := sha256.Sum256([]byte(ip))
		return "#" + hex.EncodeToString(sum[:16])
	}
	return ip
}
