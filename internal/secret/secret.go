package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/bits"
	"strconv"
)

// Sizes of the parts of a credential, in bytes (all parts are ASCII).
const (
	// MaxPrefixLen is the longest prefix allowed, underscore included.
	MaxPrefixLen = 17
	// IDLen is the length of the identifier: 12 base32 characters, 60 bits.
	IDLen = 12
	// BodyLen is the length of the secret part: 32 bytes in base62.
	BodyLen = 43
	// ChecksumLen is the length of the CRC-32 checksum in base62.
	ChecksumLen = 6
	// suffixLen is everything after the prefix: id, "_", body, checksum.
	suffixLen = IDLen + 1 + BodyLen + ChecksumLen
)

// ErrMalformed is returned (wrapped) by [Parse] for a value that is not a
// well-formed credential of the expected kind.
var ErrMalformed = errors.New("malformed credential")

// parseError says what was wrong with a credential. It is a string type so
// that returning one does not allocate.
type parseError string

func (e parseError) Error() string        { return "malformed credential: " + string(e) }
func (e parseError) Is(target error) bool { return target == ErrMalformed }

const (
	idAlphabet   = "abcdefghijklmnopqrstuvwxyz234567"
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretBytes  = 32
	idRandomBits = 5 * IDLen // 60

	// maxBody is the base62 encoding of 2^256-1. The alphabet is in ASCII
	// order and the width is fixed, so comparing bodies as strings compares
	// the numbers they encode; a larger body is not the encoding of any 32
	// bytes. TestMaxBody checks the constant.
	maxBody = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
)

// Len returns the length of every credential with the given prefix.
func Len(prefix string) int { return len(prefix) + suffixLen }

// ValidatePrefix reports whether prefix can start a credential: a lower-case
// letter, at most 15 lower-case letters or digits, and a final underscore,
// e.g. "gk_". Configuration that sets a prefix should call it, because
// [Mint], [MintWithID] and [Derive] panic on an invalid prefix.
func ValidatePrefix(prefix string) error {
	if !validPrefix(prefix) {
		return errors.New(`credential prefix must match ^[a-z][a-z0-9]{0,15}_$, e.g. "gk_"`)
	}
	return nil
}

func validPrefix(p string) bool {
	n := len(p)
	if n < 2 || n > MaxPrefixLen || p[n-1] != '_' || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 1; i < n-1; i++ {
		if c := p[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ValidID reports whether id has the form of a credential identifier:
// [IDLen] characters of lower-case base32.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

func mustPrefix(prefix string) {
	if !validPrefix(prefix) {
		panic("secret: invalid credential prefix " + strconv.Quote(prefix))
	}
}

// Mint returns a new random credential with the given prefix and its
// identifier. It panics if prefix is invalid (see [ValidatePrefix]).
func Mint(prefix string) (value, id string) {
	mustPrefix(prefix)
	var b [8 + secretBytes]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	id = encodeID(binary.BigEndian.Uint64(b[:8]))
	return format(prefix, id, (*[secretBytes]byte)(b[8:])), id
}

// MintWithID returns a new random credential with the given prefix and an
// existing identifier, as when an API key is rotated: the record keeps its
// identifier and gets a new secret. It panics if prefix is invalid. If id is
// not a valid identifier (see [ValidID]) the result is no valid credential:
// [Parse] rejects it, and no stored record can have such an id.
func MintWithID(prefix, id string) string {
	mustPrefix(prefix)
	var b [secretBytes]byte
	_, _ = rand.Read(b[:])
	return format(prefix, id, &b)
}

// Derive returns a credential determined by key, prefix and from: the same
// inputs always give the same credential, and without key nobody can compute
// it. It serves refresh-token rotation: the successor of a token presented
// twice within the reuse grace window is derived again instead of being
// stored in plain text. key should be at least 32 secret random bytes. It
// panics if prefix is invalid.
func Derive(key []byte, prefix, from string) (value, id string) {
	mustPrefix(prefix)
	// Two domain-separated HMACs give the body and the id bits.
	body := deriveBlock(key, "body", prefix, from)
	idBits := deriveBlock(key, "id", prefix, from)
	id = encodeID(binary.BigEndian.Uint64(idBits[:8]))
	return format(prefix, id, &body), id
}

func deriveBlock(key []byte, label, prefix, from string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	// Every field but the last is followed by a 0 byte, which none of
	// label and prefix can contain, so the encoding is unambiguous.
	m.Write([]byte("gatehouse secret derive v1\x00"))
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(prefix))
	m.Write([]byte{0})
	m.Write([]byte(from))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// encodeID renders the low 60 bits of v as IDLen base32 characters.
func encodeID(v uint64) string {
	var b [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		b[i] = idAlphabet[v&31]
		v >>= 5
	}
	return string(b[:])
}

// format assembles a credential and appends its checksum.
func format(prefix, id string, body *[secretBytes]byte) string {
	n := len(prefix) + len(id) + 1 + BodyLen
	b := make([]byte, n, n+ChecksumLen)
	copy(b, prefix)
	copy(b[len(prefix):], id)
	b[len(prefix)+len(id)] = '_'
	encodeBody(b[len(prefix)+len(id)+1:], body)
	b = appendChecksum(b, crc32.ChecksumIEEE(b))
	return string(b)
}

// encodeBody writes the 256-bit big-endian number in src as BodyLen base62
// digits into dst, most significant first.
func encodeBody(dst []byte, src *[secretBytes]byte) {
	var limbs [4]uint64
	for i := range limbs {
		limbs[i] = binary.BigEndian.Uint64(src[8*i:])
	}
	for i := BodyLen - 1; i >= 0; i-- {
		var rem uint64
		for j := range limbs {
			limbs[j], rem = bits.Div64(rem, limbs[j], 62)
		}
		dst[i] = base62[rem]
	}
}

func appendChecksum(b []byte, sum uint32) []byte {
	var c [ChecksumLen]byte
	v := uint64(sum)
	for i := ChecksumLen - 1; i >= 0; i-- {
		c[i] = base62[v%62]
		v /= 62
	}
	return append(b, c[:]...)
}

// base62Value returns the digit value of c, or -1.
func base62Value(c byte) int {
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

// Parse checks that value is a well-formed credential with the given prefix:
// prefix, exact length, character sets and checksum. It returns the
// embedded identifier, or an error wrapping [ErrMalformed]. It needs no
// database, so a mistyped credential costs nothing to refuse; a credential
// that parses still has to be looked up and compared with [Matches].
func Parse(prefix, value string) (id string, err error) {
	if !validPrefix(prefix) {
		return "", parseError("invalid expected prefix")
	}
	if len(value) != Len(prefix) {
		return "", parseError("wrong length")
	}
	if value[:len(prefix)] != prefix {
		return "", parseError("wrong prefix")
	}
	rest := value[len(prefix):]
	id = rest[:IDLen]
	if !ValidID(id) {
		return "", parseError("invalid identifier")
	}
	if rest[IDLen] != '_' {
		return "", parseError("missing separator")
	}
	body := rest[IDLen+1 : IDLen+1+BodyLen]
	for i := range len(body) {
		if base62Value(body[i]) < 0 {
			return "", parseError("invalid character")
		}
	}
	if body > maxBody {
		return "", parseError("body out of range")
	}
	var want uint64
	for _, c := range []byte(rest[IDLen+1+BodyLen:]) {
		v := base62Value(c)
		if v < 0 {
			return "", parseError("invalid character")
		}
		want = want*62 + uint64(v)
	}
	if want != uint64(checksum(value[:len(value)-ChecksumLen])) {
		return "", parseError("checksum mismatch")
	}
	return id, nil
}

// checksum is the CRC-32 (IEEE) of s, computed with the standard library's
// table over the string itself: every hash/crc32 function lets its argument
// escape, and the []byte(s) copy that needs would be Parse's only allocation.
// TestChecksum compares it with crc32.ChecksumIEEE.
func checksum(s string) uint32 {
	tab := crc32.IEEETable
	crc := ^uint32(0)
	for i := range len(s) {
		crc = tab[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// Looks reports whether value starts with prefix, the cheap test that tells
// which kind of credential a caller sent (for example a "gk_" API key sent
// as a bearer token). It does not check the rest; [Parse] does.
func Looks(prefix, value string) bool {
	return prefix != "" && len(value) >= len(prefix) && value[:len(prefix)] == prefix
}

// Hash returns the SHA-256 of value: what is stored in place of a
// credential. A fast hash is right for secrets of 256 random bits.
func Hash(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// Matches reports in constant time whether hash is [Hash] of value.
func Matches(hash []byte, value string) bool {
	h := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(hash, h[:]) == 1
}

// Display returns the non-secret start of a credential, its prefix and
// identifier (e.g. "gk_abcdefghijkl"), for logs and listings. For a value
// that is not well formed it returns at most the part before the first
// character that cannot belong to a prefix or identifier, so it never shows
// a secret body.
func Display(value string) string {
	sep := -1
	for i := 0; i < len(value) && i < MaxPrefixLen; i++ {
		if value[i] == '_' {
			sep = i
			break
		}
	}
	if sep < 0 || !validPrefix(value[:sep+1]) {
		return ""
	}
	end := sep + 1
	for end < len(value) && end-sep-1 < IDLen {
		c := value[end]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			break
		}
		end++
	}
	return value[:end]
}

// Random returns n random bytes in unpadded base64url, e.g. for CSRF tokens
// and PKCE-style nonces. n <= 0 gives "".
func Random(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
