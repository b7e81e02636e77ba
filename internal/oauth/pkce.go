package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE lengths: a code_verifier is 43 to 128 characters (RFC 7636 §4.1), and
// an S256 code_challenge is an unpadded base64url SHA-256 digest, 43
// characters (RFC 7636 §4.2).
const (
	MinVerifierLen = 43
	MaxVerifierLen = 128
	ChallengeLen   = 43
)

// VerifyPKCE reports whether verifier matches the challenge stored with an
// authorization code (RFC 7636 §4.6). Only method [PKCES256] is accepted;
// "plain", an empty method or a malformed verifier never match. The digests
// are compared in constant time.
func VerifyPKCE(verifier, challenge, method string) bool {
	if method != PKCES256 || !ValidVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// S256Challenge returns the S256 code_challenge of verifier
// (RFC 7636 §4.2), as a client computes it.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidVerifier reports whether v has the code_verifier syntax of
// RFC 7636 §4.1: 43 to 128 unreserved characters [A-Za-z0-9-._~].
func ValidVerifier(v string) bool {
	if len(v) < MinVerifierLen || len(v) > MaxVerifierLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// ValidChallenge checks the code_challenge and code_challenge_method of an
// authorization request (RFC 7636 §4.3, §4.4.1). The method must be
// [PKCES256]: an absent method means "plain" (RFC 7636 §4.3), which
// gatehouse refuses. The challenge must be a canonical unpadded base64url
// SHA-256 digest. Every failure is invalid_request. Whether PKCE is
// required at all is the caller's decision: an empty challenge is an
// error here.
func ValidChallenge(challenge, method string) *Error {
	if challenge == "" {
		return Errorf(InvalidRequest, "code_challenge is required")
	}
	if method != PKCES256 {
		return Errorf(InvalidRequest, "code_challenge_method must be S256")
	}
	if len(challenge) != ChallengeLen {
		return Errorf(InvalidRequest, "code_challenge must be %d base64url characters", ChallengeLen)
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(challenge); err != nil {
		return Errorf(InvalidRequest, "code_challenge must be %d base64url characters", ChallengeLen)
	}
	return nil
}
