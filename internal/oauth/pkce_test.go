package oauth

import (
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestS256ChallengeRFC7636(t *testing.T) {
	if got := S256Challenge(rfcVerifier); got != rfcChallenge {
		t.Errorf("S256Challenge(%q) = %q, want %q", rfcVerifier, got, rfcChallenge)
	}
}

func TestVerifyPKCE(t *testing.T) {
	long := strings.Repeat("a", MaxVerifierLen)
	tests := []struct {
		name                        string
		verifier, challenge, method string
		want                        bool
	}{
		{"RFC 7636 Appendix B", rfcVerifier, rfcChallenge, "S256", true},
		{"shortest verifier", strings.Repeat("~", 43), S256Challenge(strings.Repeat("~", 43)), "S256", true},
		{"longest verifier", long, S256Challenge(long), "S256", true},
		{"all unreserved characters", "ABCXYZabcxyz0189-._~" + strings.Repeat("q", 23), S256Challenge("ABCXYZabcxyz0189-._~" + strings.Repeat("q", 23)), "S256", true},
		{"wrong verifier", strings.Replace(rfcVerifier, "d", "e", 1), rfcChallenge, "S256", false},
		{"plain method refused even when equal", rfcVerifier, rfcVerifier, "plain", false},
		{"empty method refused", rfcVerifier, rfcVerifier, "", false},
		{"method is case-sensitive", rfcVerifier, rfcChallenge, "s256", false},
		{"verifier too short", strings.Repeat("a", 42), S256Challenge(strings.Repeat("a", 42)), "S256", false},
		{"verifier too long", long + "a", S256Challenge(long + "a"), "S256", false},
		{"verifier with a reserved character", rfcVerifier[:42] + "+", S256Challenge(rfcVerifier[:42] + "+"), "S256", false},
		{"verifier with a space", rfcVerifier[:42] + " ", S256Challenge(rfcVerifier[:42] + " "), "S256", false},
		{"empty verifier", "", S256Challenge(""), "S256", false},
		{"padded challenge", rfcVerifier, rfcChallenge + "=", "S256", false},
		{"empty challenge", rfcVerifier, "", "S256", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyPKCE(tc.verifier, tc.challenge, tc.method); got != tc.want {
				t.Errorf("VerifyPKCE(%q, %q, %q) = %v, want %v", tc.verifier, tc.challenge, tc.method, got, tc.want)
			}
		})
	}
}

func TestValidChallenge(t *testing.T) {
	tests := []struct {
		name              string
		challenge, method string
		wantErr           bool
	}{
		{"RFC 7636 Appendix B", rfcChallenge, "S256", false},
		{"missing challenge", "", "S256", true},
		{"missing method means plain", rfcChallenge, "", true},
		{"plain", rfcChallenge, "plain", true},
		{"lower-case method", rfcChallenge, "s256", true},
		{"too short", rfcChallenge[:42], "S256", true},
		{"too long", rfcChallenge + "A", "S256", true},
		{"padded", rfcChallenge[:42] + "=", "S256", true},
		{"standard base64 alphabet", strings.Replace(rfcChallenge, "-", "+", 1), "S256", true},
		{"non-canonical final character", rfcChallenge[:42] + "N", "S256", true},
		{"43 characters of junk", strings.Repeat("!", 43), "S256", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidChallenge(tc.challenge, tc.method)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ValidChallenge(%q, %q) error = %v, want error %v", tc.challenge, tc.method, err, tc.wantErr)
			}
			if err != nil && err.Code != InvalidRequest {
				t.Errorf("ValidChallenge(%q, %q) code = %q, want %q", tc.challenge, tc.method, err.Code, InvalidRequest)
			}
		})
	}
}

func BenchmarkVerifyPKCE(b *testing.B) {
	for b.Loop() {
		if !VerifyPKCE(rfcVerifier, rfcChallenge, PKCES256) {
			b.Fatal("VerifyPKCE failed")
		}
	}
}
