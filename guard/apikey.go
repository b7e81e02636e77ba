package guard

import (
	"errors"
	"hash/crc32"
)

// ErrMalformedAPIKey is the cause of an API key that starts with the
// configured prefix but is not a well-formed gatehouse credential (wrong
// length, character or checksum). A remote guard refuses it without
// asking the server, as the server's own verifier does.
var ErrMalformedAPIKey = errors.New("guard: API key is malformed")

// The parts of a gatehouse credential, <prefix><id>_<body><checksum>; see
// the server's internal/secret package, which mints them.
const (
	credIDLen       = 12 // lower-case base32
	credBodyLen     = 43 // base62 of 32 bytes
	credChecksumLen = 6  // base62 of the CRC-32 (IEEE) of what precedes it
	credMaxPrefix   = 17 // underscore included
	// credMaxBody is the base62 encoding of 2^256-1: a larger body encodes
	// no 32 bytes.
	credMaxBody = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
)

// validCredentialPrefix reports whether p can start a gatehouse
// credential: ^[a-z][a-z0-9]{0,15}_$.
func validCredentialPrefix(p string) bool {
	n := len(p)
	if n < 2 || n > credMaxPrefix || p[n-1] != '_' || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 1; i < n-1; i++ {
		if c := p[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// wellFormedKey reports whether value is a well-formed gatehouse credential
// with the given prefix: prefix, exact length, character sets, body range
// and checksum. It is the check of the server's secret.Parse, which the
// guard, a leaf package, cannot import; both run against the same table,
// guard/testdata/credentials.txt, so they cannot drift apart. It does not
// allocate.
func wellFormedKey(prefix, value string) bool {
	if !validCredentialPrefix(prefix) || len(value) != len(prefix)+credIDLen+1+credBodyLen+credChecksumLen ||
		value[:len(prefix)] != prefix {
		return false
	}
	rest := value[len(prefix):]
	for i := range credIDLen {
		if c := rest[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	if rest[credIDLen] != '_' {
		return false
	}
	body := rest[credIDLen+1 : credIDLen+1+credBodyLen]
	for i := range len(body) {
		if base62Digit(body[i]) < 0 {
			return false
		}
	}
	if body > credMaxBody { // fixed width, alphabet in ASCII order
		return false
	}
	var want uint64
	for _, c := range []byte(rest[credIDLen+1+credBodyLen:]) {
		v := base62Digit(c)
		if v < 0 {
			return false
		}
		want = want*62 + uint64(v)
	}
	return want == uint64(crc32IEEE(value[:len(value)-credChecksumLen]))
}

// base62Digit returns the value of c in 0-9A-Za-z, or -1.
func base62Digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// crc32IEEE is crc32.ChecksumIEEE(s) without the []byte copy that would
// make the check allocate.
func crc32IEEE(s string) uint32 {
	tab := crc32.IEEETable
	crc := ^uint32(0)
	for i := range len(s) {
		crc = tab[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}
