package authn

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// failingStore is a store whose API-key reads fail.
type failingStore struct{ store.Store }

func (failingStore) GetAPIKey(context.Context, string) (store.APIKey, error) {
	return store.APIKey{}, errors.New("database is locked")
}

// TestVerifierStoreFailure: a key that cannot be looked up is not called
// invalid: the verifier says it cannot check it now, which the guard
// answers with 503 temporarily_unavailable instead of "Invalid or inactive
// API Key".
func TestVerifierStoreFailure(t *testing.T) {
	key, _ := secret.Mint("gk_")
	v := NewVerifier(VerifierConfig{Store: failingStore{}})
	_, err := v.VerifyAPIKey(t.Context(), key)
	var ue *guard.UnavailableError
	if !errors.As(err, &ue) || errors.Is(err, ErrInvalidAPIKey) {
		t.Errorf("VerifyAPIKey() with a failing store: error = %v, want a *guard.UnavailableError", err)
	}
}
