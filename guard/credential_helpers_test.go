package guard_test

import (
	"crypto/rand"
	"hash/crc32"
	"testing"
)

const (
	testIDAlphabet = "abcdefghijklmnopqrstuvwxyz234567"
	testBase62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// mustWellFormedKey returns a random credential in gatehouse's format
// (prefix, 12-character id, "_", 43-character base62 body, 6-character
// base62 CRC-32), as the server mints them, so that remote-guard tests can
// send keys that pass the guard's own format check.
func mustWellFormedKey(t testing.TB, prefix string) string {
	t.Helper()
	var rnd [12 + 43]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	b := []byte(prefix)
	for _, c := range rnd[:12] {
		b = append(b, testIDAlphabet[int(c)%len(testIDAlphabet)])
	}
	b = append(b, '_', '0') // a leading 0 keeps the body below 2^256
	for _, c := range rnd[12+1:] {
		b = append(b, testBase62[int(c)%len(testBase62)])
	}
	sum := uint64(crc32.ChecksumIEEE(b))
	var cs [6]byte
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i] = testBase62[sum%62]
		sum /= 62
	}
	return string(append(b, cs[:]...))
}

// mistypeKey returns key with its last character changed (always different).
func mistypeKey(key string) string {
	last := byte('x')
	if key[len(key)-1] == last {
		last = 'y'
	}
	return key[:len(key)-1] + string(last)
}
