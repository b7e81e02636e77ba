package signing

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// TestGuardAcceptsTokens checks the contract with the guard: it verifies
// access tokens through Keys as its KeySet, and refuses ID tokens.
func TestGuardAcceptsTokens(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA, RS256, HS256} {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			k := mustKeys(t, Config{Algorithm: alg, Now: clk.Now})
			mustEnsure(t, k)
			g, err := guard.New(guard.Config{Issuer: "https://auth.example", Audience: "https://api.example", Keys: k, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			now := clk.Now()
			tok := mustIssue(t, k, now)
			p, err := g.VerifyAccessToken(t.Context(), tok)
			if err != nil {
				t.Fatalf("guard VerifyAccessToken() error = %v", err)
			}
			if p.Subject != "user-1" || p.ClientID != "client-1" || !slices.Equal(p.Scopes, []string{"read", "write"}) ||
				p.TokenID != "jti-1" || p.SigningKeyID != k.ActiveKeyID() {
				t.Errorf("principal = %+v", p)
			}

			idt, err := k.IssueIDToken(IDClaims{Issuer: "https://auth.example", Subject: "user-1",
				Audience: []string{"https://api.example"}, Expiry: now.Add(time.Hour), AccessToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.VerifyAccessToken(t.Context(), idt); err == nil {
				t.Errorf("the guard accepted an ID token as an access token")
			}

			if alg != HS256 {
				kid := k.ActiveKeyID()
				if err := k.Revoke(t.Context(), kid); err != nil {
					t.Fatal(err)
				}
				_, err := g.VerifyAccessToken(t.Context(), tok)
				if !errors.Is(err, ErrKeyRevoked) {
					t.Errorf("guard after Revoke error = %v, want one wrapping ErrKeyRevoked", err)
				}
			}
		})
	}
}
