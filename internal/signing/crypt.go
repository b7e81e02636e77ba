package signing

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// rsaBits is the size of generated RSA keys; parsed RSA keys must have at
// least this many bits.
const rsaBits = 2048

// ErrDecrypt is wrapped by the error returned when a private key cannot be
// decrypted: the master secret is wrong or the ciphertext was altered.
var ErrDecrypt = errors.New("message authentication failed")

// newAEAD returns AES-256-GCM under the master secret. It prepends a random
// 96-bit nonce to every ciphertext, so no nonce is ever chosen by hand.
func newAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("master secret must be 32 bytes, got %d", len(secret))
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("master secret: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("master secret: %w", err)
	}
	return aead, nil
}

// additionalData binds a ciphertext to its record (table|column|id), so a
// ciphertext copied into another record does not decrypt.
func additionalData(kid string) []byte {
	return []byte("signing_keys|private_key|" + kid)
}

// seal encrypts the private key of kid.
func seal(aead cipher.AEAD, kid string, plaintext []byte) []byte {
	return aead.Seal(nil, nil, plaintext, additionalData(kid))
}

// open decrypts the private key of kid.
func open(aead cipher.AEAD, kid string, ciphertext []byte) ([]byte, error) {
	plaintext, err := aead.Open(nil, nil, ciphertext, additionalData(kid))
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt signing key %s: wrong GATEHOUSE_SECRET? (%w)", kid, ErrDecrypt)
	}
	return plaintext, nil
}

// generate creates a private key for alg.
func generate(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case jose.RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
}

// checkKeyType enforces the one key type pinned to each algorithm, for a
// public or a private key.
func checkKeyType(alg jose.SignatureAlgorithm, k any) error {
	ok := false
	switch alg {
	case jose.ES256:
		switch k := k.(type) {
		case *ecdsa.PublicKey:
			ok = k.Curve == elliptic.P256()
		case *ecdsa.PrivateKey:
			ok = k.Curve == elliptic.P256()
		}
	case jose.EdDSA:
		switch k.(type) {
		case ed25519.PublicKey, ed25519.PrivateKey:
			ok = true
		}
	case jose.RS256:
		switch k := k.(type) {
		case *rsa.PublicKey:
			ok = k.N.BitLen() >= rsaBits
		case *rsa.PrivateKey:
			ok = k.N.BitLen() >= rsaBits
		}
	}
	if !ok {
		return fmt.Errorf("key of type %T does not fit algorithm %s", k, alg)
	}
	return nil
}

// publicJWK renders the public half of priv as the JWK that is stored and
// published.
func publicJWK(kid string, alg jose.SignatureAlgorithm, pub crypto.PublicKey) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"}
}

// parsePublic reads a stored public JWK and checks it against its record.
func parsePublic(kid string, alg jose.SignatureAlgorithm, data []byte) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("parse public key of %s: %w", kid, err)
	}
	if !jwk.IsPublic() {
		return jose.JSONWebKey{}, fmt.Errorf("public key of %s holds private material", kid)
	}
	if err := checkKeyType(alg, jwk.Key); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("public key of %s: %w", kid, err)
	}
	// Publish exactly what the record says, whatever extra members the
	// stored JSON had.
	return publicJWK(kid, alg, jwk.Key), nil
}

// parsePrivate decrypts and parses a stored private key and checks that it
// belongs to the stored public key.
func parsePrivate(aead cipher.AEAD, kid string, alg jose.SignatureAlgorithm, ciphertext []byte, pub crypto.PublicKey) (crypto.Signer, error) {
	plaintext, err := open(aead, kid, ciphertext)
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(plaintext); err != nil {
		return nil, fmt.Errorf("parse private key of %s: %w", kid, err)
	}
	if err := checkKeyType(alg, jwk.Key); err != nil {
		return nil, fmt.Errorf("private key of %s: %w", kid, err)
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of %s is a %T", kid, jwk.Key)
	}
	if p, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !p.Equal(pub) {
		return nil, fmt.Errorf("private key of %s does not match its public key", kid)
	}
	if rk, ok := signer.(*rsa.PrivateKey); ok {
		// go-jose fills in the CRT values but crypto/rsa still needs its
		// own precomputation; without it every signature recomputes it.
		rk.Precompute()
	}
	return signer, nil
}

// marshalPrivate serialises priv as a private JWK.
func marshalPrivate(kid string, alg jose.SignatureAlgorithm, priv crypto.Signer) ([]byte, error) {
	b, err := jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return b, nil
}
