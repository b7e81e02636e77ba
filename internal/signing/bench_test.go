package signing

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func BenchmarkIssueAccessToken(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA, RS256, HS256} {
		b.Run(alg, func(b *testing.B) {
			k := mustKeys(b, Config{Algorithm: alg, IDTokenAlgorithm: idAlgFor(alg), Logger: quiet()})
			mustEnsure(b, k)
			c := accessClaims(time.Now())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.IssueAccessToken(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerificationKey(b *testing.B) {
	k := mustKeys(b, Config{IDTokenAlgorithm: ES256, Logger: quiet()})
	mustEnsure(b, k)
	kid := k.ActiveKeyID()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.VerificationKey(ctx, kid); err != nil {
			b.Fatal(err)
		}
	}
}

// idAlgFor avoids generating an RSA key where the benchmark does not need
// one.
func idAlgFor(alg string) string {
	if alg == HS256 {
		return RS256
	}
	return alg
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
