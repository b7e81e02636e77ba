package metrics

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/oauth"
)

// White-box tests of the metric hooks for outcomes the end-to-end tests
// cannot easily provoke.

func TestAuthResult(t *testing.T) {
	invalid := func(cause error) error {
		return &guard.Error{Status: 401, Code: guard.CodeInvalidToken, Description: "x", Err: cause}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "ok"},
		{"not a guard error", errors.New("boom"), "error"},
		{"missing", &guard.Error{Status: 401, Description: guard.DescriptionMissing}, "missing"},
		{"invalid request", &guard.Error{Status: 400, Code: guard.CodeInvalidRequest}, "invalid_request"},
		{"insufficient scope", &guard.Error{Status: 403, Code: guard.CodeInsufficientScope}, "insufficient_scope"},
		{"expired", invalid(&guard.TokenExpiredError{}), "expired"},
		{"not yet valid", invalid(&guard.TokenNotYetValidError{Claim: "nbf"}), "not_yet_valid"},
		{"revoked", invalid(&guard.TokenRevokedError{TokenID: "j"}), "revoked"},
		{"bad signature", invalid(&guard.SignatureError{}), "invalid"},
		{"bad api key", invalid(&guard.APIKeyError{Err: authn.ErrInvalidAPIKey}), "invalid"},
		{"api keys off", invalid(&guard.APIKeyError{}), "invalid"},
		{"verifier failed", invalid(&guard.APIKeyError{Err: errors.New("database is locked")}), "error"},
		{"stale remote feed", &guard.Error{Status: 503, Code: guard.CodeInvalidToken}, "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := authResult(tc.err); got != tc.want {
				t.Errorf("authResult(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestObserveHooks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.RateLimited("ip")
	m.RateLimited("login")
	m.RateLimited("login")
	m.RateLimited("attacker-chosen")
	for kind, want := range map[string]float64{"ip": 1, "login": 2, "user": 0, "other": 1} {
		if got := value(t, m.rateLimited.WithLabelValues(kind)); got != want {
			t.Errorf("rate_limited{kind=%q} = %v, want %v", kind, got, want)
		}
	}

	limited := oauth.Errorf(oauth.InvalidRequest, "slow down")
	limited.Status = http.StatusTooManyRequests
	m.Token("client_credentials", limited, time.Millisecond)
	m.Token("password", errors.New("store down"), time.Millisecond)
	m.Token("urn:made-up", oauth.Errorf("made_up_code", "x"), time.Millisecond)
	for _, tc := range []struct {
		grant, result string
		want          float64
	}{
		{"client_credentials", "rate_limited", 1},
		{"password", oauth.ServerError, 1},
		{"other", "other", 1},
	} {
		if got := value(t, m.tokens.WithLabelValues(tc.grant, tc.result)); got != tc.want {
			t.Errorf("token_requests{grant=%q,result=%q} = %v, want %v", tc.grant, tc.result, got, tc.want)
		}
	}
	if got := value(t, m.issued.WithLabelValues("password")); got != 0 {
		t.Errorf("failed requests counted as issued: %v", got)
	}

	m.RevocationLag(300 * time.Millisecond)
	m.HashWait(2 * time.Millisecond)
	m.HashWait(-time.Second) // clamped, never a negative sample
	for name, want := range map[string]struct {
		n   uint64
		sum float64
	}{
		"gatehouse_revocation_lag_seconds":     {1, 0.3},
		"gatehouse_password_hash_wait_seconds": {2, 0.002},
	} {
		n, sum := histogram(t, reg, name)
		if n != want.n || sum != want.sum {
			t.Errorf("%s: %d samples, sum %v; want %d, %v", name, n, sum, want.n, want.sum)
		}
	}
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0, 0
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
