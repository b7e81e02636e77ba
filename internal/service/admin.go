package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// This file holds the read and update operations that the admin API and
// the self-service API need beyond what the CLI already had, so that
// neither reaches around the service layer into the store.

// ListUserAPIKeys lists the keys of the user with id userID (never a
// username: a self-service caller is known by id, and a username that
// happens to look like someone's id must not select their keys).
func (m *Manager) ListUserAPIKeys(ctx context.Context, userID, after string, limit int) ([]store.APIKey, error) {
	if userID == "" {
		return nil, errorf(Invalid, "invalid_user", "a user id is required")
	}
	ks, err := m.Store.ListAPIKeys(ctx, userID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// Usernames resolves user ids to usernames for display. Unknown ids are
// left out; a store error ends the lookup and is returned with what was
// found so far.
func (m *Manager) Usernames(ctx context.Context, ids ...string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; ok || id == "" {
			continue
		}
		u, err := m.Store.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("get user: %w", err)
		}
		out[id] = u.Username
	}
	return out, nil
}

// ListSigningKeys lists the signing keys, newest first, with their status.
func (m *Manager) ListSigningKeys(ctx context.Context) ([]signing.KeyInfo, error) {
	if m.Keys == nil {
		return nil, errors.New("list signing keys: no key store configured")
	}
	return m.Keys.List(ctx)
}

// SigningKey returns the signing key kid as [Manager.ListSigningKeys]
// describes it, with its status; an unknown kid is a NotFound error.
func (m *Manager) SigningKey(ctx context.Context, kid string) (signing.KeyInfo, error) {
	ks, err := m.ListSigningKeys(ctx)
	if err != nil {
		return signing.KeyInfo{}, err
	}
	if i := slices.IndexFunc(ks, func(k signing.KeyInfo) bool { return k.ID == kid }); i >= 0 {
		return ks[i], nil
	}
	if _, ok := CredentialID(kid); ok {
		return signing.KeyInfo{}, errorf(NotFound, "not_found", "signing key not found: that is a secret (not shown), not a kid")
	}
	return signing.KeyInfo{}, errorf(NotFound, "not_found", "signing key %q not found", kid)
}

// VerifyAudit walks the audit log's hash chain and reports the first
// edited, inserted or deleted event (see audit.Verify).
func (m *Manager) VerifyAudit(ctx context.Context) (audit.Report, error) {
	rep, err := audit.Verify(ctx, m.Store)
	if err != nil {
		return audit.Report{}, fmt.Errorf("verify audit log: %w", err)
	}
	return rep, nil
}

// PruneAudit deletes audit events older than before, keeping the chain
// verifiable (see audit.Prune), and returns how many were deleted.
func (m *Manager) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	return audit.Prune(ctx, m.Audit, before)
}

// HasUsers reports whether at least one user exists.
func (m *Manager) HasUsers(ctx context.Context) (bool, error) {
	us, err := m.Store.ListUsers(ctx, "", 1)
	if err != nil {
		return false, fmt.Errorf("list users: %w", err)
	}
	return len(us) > 0, nil
}

// ClientUpdate is the input of UpdateClient: nil fields stay as they are.
type ClientUpdate struct {
	Name         *string
	GrantTypes   []string // nil = unchanged
	RedirectURIs []string // nil = unchanged; empty (not nil) clears them
	Scopes       []string // nil = unchanged; empty (not nil) clears them
	RateLimit    *string
}

// UpdateClient changes a client's settings, validated by the same rules as
// CreateClient. Whether the client is public, its secret and its id cannot
// change (rotate the secret with RotateClientSecret). Access tokens already
// issued keep their scopes until they expire; refresh tokens and codes not
// yet redeemed give no more than the new registration allows (the token
// endpoint re-checks it on every grant).
func (m *Manager) UpdateClient(ctx context.Context, a audit.Actor, id string, in ClientUpdate) (store.Client, error) {
	old, err := m.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	want := NewClient{
		Name: old.Name, GrantTypes: old.GrantTypes, RedirectURIs: old.RedirectURIs,
		Public: old.Public, Scopes: old.Scopes, RateLimit: old.RateLimit,
	}
	if in.Name != nil {
		want.Name = *in.Name
	}
	if in.GrantTypes != nil {
		want.GrantTypes = in.GrantTypes
	}
	if in.RedirectURIs != nil {
		want.RedirectURIs = in.RedirectURIs
	}
	if in.Scopes != nil {
		want.Scopes = in.Scopes
	}
	if in.RateLimit != nil {
		want.RateLimit = *in.RateLimit
	}
	v, err := m.validateClient(want)
	if err != nil {
		return store.Client{}, err
	}
	now := m.now()
	c, err := m.Store.UpdateClient(ctx, id, func(c store.Client) (store.Client, error) {
		c.Name, c.GrantTypes, c.RedirectURIs, c.Scopes, c.RateLimit = v.Name, v.GrantTypes, v.RedirectURIs, v.Scopes, v.RateLimit
		c.UpdatedAt = now
		return c, nil
	})
	if err != nil {
		return store.Client{}, notFound(err, "client", id)
	}
	m.publish(ctx, changes.Change{Kind: changes.Client, ID: id})
	m.record(ctx, a, audit.ClientUpdated, id, resultSuccess, "")
	return c, nil
}
