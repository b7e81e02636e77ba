package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedHash is returned (wrapped) for a stored hash that cannot be
// parsed, or that uses parameters outside the accepted bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// Params are the argon2id cost parameters of a hash.
type Params struct {
	Memory      uint32 // memory in KiB
	Iterations  uint32 // passes over the memory (argon2 "t")
	Parallelism uint8  // lanes (argon2 "p")
	SaltLen     uint32 // salt length in bytes
	KeyLen      uint32 // derived key length in bytes
}

// Bounds that every parsed or configured Params must respect. The lower
// ones come from RFC 9106 §3.1; the upper ones are far beyond any sensible
// setting and stop a corrupt stored hash from tying up a hashing slot for
// hours or allocating gigabytes.
const (
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 4
	maxKeyLen     = 64
	maxMemory     = 1 << 21 // KiB: 2 GiB
	maxIterations = 64
)

// argon2Version is the only argon2 version x/crypto implements (0x13).
const argon2Version = 19

// DefaultParams returns the parameters of new hashes: OWASP's minimum for
// argon2id (m=19456 KiB, t=2, p=1) with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// TestParams returns deliberately cheap parameters (64 KiB, one pass) for
// the tests of other packages. They are INSECURE: a hash made with them
// offers almost no resistance to guessing. Never use them in production.
func TestParams() Params {
	return Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is within the bounds this package accepts:
// t in 1..64, p ≥ 1, m from 8·p KiB up to 2 GiB, salt 8..64 bytes and key
// 4..64 bytes.
func (p Params) Validate() error {
	var problems []string
	if p.Iterations < 1 || p.Iterations > maxIterations {
		problems = append(problems, fmt.Sprintf("iterations %d not in 1..%d", p.Iterations, maxIterations))
	}
	if p.Parallelism < 1 {
		problems = append(problems, "parallelism must be at least 1")
	}
	if p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory {
		problems = append(problems, fmt.Sprintf("memory %d KiB not in 8·parallelism..%d", p.Memory, maxMemory))
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		problems = append(problems, fmt.Sprintf("salt length %d not in %d..%d", p.SaltLen, minSaltLen, maxSaltLen))
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		problems = append(problems, fmt.Sprintf("key length %d not in %d..%d", p.KeyLen, minKeyLen, maxKeyLen))
	}
	if problems != nil {
		return fmt.Errorf("invalid argon2id parameters: %s", strings.Join(problems, "; "))
	}
	return nil
}

// weakerThan reports whether a hash made with p should be replaced by one
// made with want. Parallelism is not compared: it splits the same memory
// into lanes and does not change what a guess costs an attacker.
func (p Params) weakerThan(want Params) bool {
	return p.Memory < want.Memory || p.Iterations < want.Iterations ||
		p.SaltLen < want.SaltLen || p.KeyLen < want.KeyLen
}

// phcB64 returns the base64 of PHC strings: standard alphabet, no padding,
// strict so that every hash has exactly one encoding.
func phcB64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2Version, p.Memory, p.Iterations, p.Parallelism,
		phcB64().EncodeToString(salt), phcB64().EncodeToString(key))
}

// ParsePHC parses an argon2id hash in PHC string format,
//
//	$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>
//
// and returns its parameters (SaltLen and KeyLen taken from the decoded
// lengths), salt and key. It is strict: exactly this layout, decimal numbers
// without leading zeros, canonical unpadded base64 and parameters within
// [Params.Validate]'s bounds, so every accepted string is the one
// encoding of its contents. Errors wrap [ErrMalformedHash].
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	fail := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, what)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v=19" {
		return fail("unsupported argon2 version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return fail("want parameters m, t and p")
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return fail("want parameters m, t and p in that order")
		}
		n, ok := parseDecimal(v)
		if !ok {
			return fail("bad number in parameter " + name[:1])
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return fail("parallelism too large")
	}
	salt, ok := decodeB64(parts[4])
	if !ok {
		return fail("bad salt encoding")
	}
	key, ok = decodeB64(parts[5])
	if !ok {
		return fail("bad key encoding")
	}
	p = Params{
		Memory: vals[0], Iterations: vals[1], Parallelism: uint8(vals[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key)),
	}
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// parseDecimal parses a PHC decimal: digits only, no sign, no leading zero.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// decodeB64 decodes unpadded standard base64. It refuses the CR and LF
// that encoding/base64 would otherwise skip.
func decodeB64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := phcB64().DecodeString(s)
	return b, err == nil
}
