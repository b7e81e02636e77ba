package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ScopeAccount is the scope that lets a credential other than a password
// login manage its own user's API keys and sessions. An admin grants it
// like any other scope.
const ScopeAccount = "account"

// Credential is what a self-service request authenticated with: the
// account rules below depend on it, not only on the user.
type Credential struct {
	UserID   string   // the user the credential belongs to
	Scopes   []string // the credential's own scopes
	ClientID string   // the OAuth2 client a bearer token was issued to ("" for an API key)
	KeyID    string   // the API key's id ("" for a bearer token)
}

// The account rules, for the self-service operations
// below; listing one's keys needs no more than a credential of the user.
//
//   - Creating or revoking API keys and logging out everywhere needs a
//     password login — a bearer token issued to the built-in first-party
//     client, which only the user's password (or its refresh token) gets —
//     or a credential carrying [ScopeAccount].
//   - A credential creates keys only within its own scopes and revokes only
//     keys whose scopes it holds itself: a narrow key never takes down a
//     wider one.
//   - Any API key may revoke itself.
//
// A refusal is a Forbidden *Error with code insufficient_scope whose
// Scope names what was missing.

// mayManageAccount applies the first rule.
func (m *Manager) mayManageAccount(ctx context.Context, c Credential) error {
	if c.UserID == "" {
		// An empty owner would mean "any user's" to the operations below.
		return errorf(Forbidden, "not_a_user", "this needs a user's credential")
	}
	if contains(c.Scopes, ScopeAccount) {
		return nil
	}
	if c.KeyID == "" && c.ClientID != "" {
		cl, err := m.Store.GetClient(ctx, c.ClientID)
		switch {
		case err == nil && cl.FirstParty:
			return nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("get client: %w", err)
		}
	}
	e := errorf(Forbidden, "insufficient_scope",
		"managing API keys and sessions needs a password login (a token of the first-party client) or a credential with the %q scope", ScopeAccount)
	e.Scope = ScopeAccount
	return e
}

// CreateOwnAPIKey creates an API key for the credential's user, within the
// credential's scopes (in.Owner and in.Limit are set from c).
func (m *Manager) CreateOwnAPIKey(ctx context.Context, a audit.Actor, c Credential, in NewAPIKey) (CreatedAPIKey, error) {
	if err := m.mayManageAccount(ctx, c); err != nil {
		return CreatedAPIKey{}, err
	}
	in.Owner = c.UserID
	in.Limit = append([]string{}, c.Scopes...) // never nil: nil would mean no bound
	return m.CreateAPIKey(ctx, a, in)
}

// RevokeOwnAPIKey revokes one of the credential's user's keys. Another
// user's key is not found, like a key that does not exist.
func (m *Manager) RevokeOwnAPIKey(ctx context.Context, a audit.Actor, c Credential, id string) (store.APIKey, error) {
	if c.UserID == "" {
		return store.APIKey{}, errorf(Forbidden, "not_a_user", "this needs a user's credential")
	}
	if c.KeyID == "" || id != c.KeyID {
		if err := m.mayManageAccount(ctx, c); err != nil {
			return store.APIKey{}, err
		}
		k, err := m.GetAPIKey(ctx, id, c.UserID)
		if err != nil {
			return store.APIKey{}, err
		}
		// The key's scopes as they act now: a scope its user lost is not
		// one the key has (see Verifier), nor one to ask the caller for.
		u, err := m.Store.GetUser(ctx, c.UserID)
		if err != nil {
			return store.APIKey{}, notFound(err, "user", c.UserID)
		}
		if missing := minus(oauth.Intersect(k.Scopes, u.Scopes), c.Scopes); len(missing) > 0 {
			e := errorf(Forbidden, "insufficient_scope",
				"this key has scopes your credential lacks (%s): revoke it with a credential that has them", store.JoinScopes(missing))
			e.Scope = store.JoinScopes(missing)
			return store.APIKey{}, e
		}
	}
	return m.RevokeAPIKey(ctx, a, id, c.UserID)
}

// LogoutOwn logs the credential's user out everywhere (see Logout).
func (m *Manager) LogoutOwn(ctx context.Context, a audit.Actor, c Credential) (store.User, error) {
	if err := m.mayManageAccount(ctx, c); err != nil {
		return store.User{}, err
	}
	return m.Logout(ctx, a, c.UserID)
}

// minus returns the elements of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
