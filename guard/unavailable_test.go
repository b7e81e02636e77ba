package guard_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/guard"
)

// unavailableVerifier and unavailableKeys fail as a store or issuer that
// cannot be reached does.
type unavailableVerifier struct{ err error }

func (v unavailableVerifier) VerifyAPIKey(context.Context, string) (*guard.Principal, error) {
	return nil, v.err
}

type unavailableKeys struct{ err error }

func (k unavailableKeys) VerificationKey(context.Context, string) (any, jose.SignatureAlgorithm, error) {
	return nil, "", k.err
}

// TestUnavailableIs503: a verifier or key set that cannot check a
// credential now (an *guard.UnavailableError) makes the guard answer 503
// temporarily_unavailable; "Invalid or inactive API Key" would tell the
// client its credential is bad when it is not.
func TestUnavailableIs503(t *testing.T) {
	fx := newFixture(t)
	down := &guard.UnavailableError{Err: errors.New("database is locked")}
	g := fx.guard(t, func(c *guard.Config) {
		c.APIKeys = unavailableVerifier{down}
		c.Keys = unavailableKeys{down}
	})
	tok := mustSign(t, fx.ec, jose.ES256, headers("ec1"), claims())
	for name, r := range map[string]*http.Request{"API key": apiKeyRequest(validAPIKey), "bearer": bearerRequest(tok)} {
		wantUnavailable(t, g, name, r)
	}
}

// wantUnavailable checks that g answers r with 503 temporarily_unavailable
// caused by an *guard.UnavailableError.
func wantUnavailable(t *testing.T, g *guard.Guard, name string, r *http.Request) {
	t.Helper()
	res := serve(t, g.Require(), r)
	_, err := g.Authenticate(r)
	var ue *guard.UnavailableError
	if res.status != http.StatusServiceUnavailable || res.body.Error != guard.CodeUnavailable || !errors.As(err, &ue) {
		t.Errorf("%s: %d %+v, Authenticate() error %v; want 503 %s caused by *guard.UnavailableError",
			name, res.status, res.body, err, guard.CodeUnavailable)
	}
}
