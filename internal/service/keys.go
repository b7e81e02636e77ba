package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RotateSigningKey creates a new signing key and retires the current one;
// the retired key stays published until every token it signed has
// expired. Other replicas are told to reload their keys.
func (m *Manager) RotateSigningKey(ctx context.Context, a audit.Actor) (store.SigningKey, error) {
	k, err := m.Keys.Rotate(ctx)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	m.publish(ctx, changes.Change{Kind: changes.SigningKeys})
	m.record(ctx, a, audit.KeyRotated, k.ID, resultSuccess, "")
	return k, nil
}

// RevokeSigningKey withdraws a key: it leaves the JWKS and every token it
// signed is refused.
func (m *Manager) RevokeSigningKey(ctx context.Context, a audit.Actor, kid string) error {
	if err := m.Keys.Revoke(ctx, kid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound(err, "signing key", kid)
		}
		return fmt.Errorf("revoke signing key: %w", err)
	}
	now := m.now()
	if m.Revoker != nil {
		if err := m.Revoker.Revoke(ctx, guard.RevokeKey, kid, now, now.Add(m.maxTokenTTL())); err != nil {
			return fmt.Errorf("publish key revocation: %w", err)
		}
	}
	m.publish(ctx, changes.Change{Kind: changes.SigningKeys})
	m.record(ctx, a, audit.KeyRevoked, kid, resultSuccess, "")
	return nil
}

// RotateSigningKeyIfDue rotates the signing key when the current one is
// period old or older (see signing.Keys.RotateIfDue): every replica may
// call it on a timer and exactly one rotates. When this call rotated, the
// other replicas are told to reload their keys and the rotation is
// audited.
func (m *Manager) RotateSigningKeyIfDue(ctx context.Context, a audit.Actor, period time.Duration) (store.SigningKey, bool, error) {
	rotated, k, err := m.Keys.RotateIfDue(ctx, period)
	if err != nil || !rotated {
		if err != nil {
			err = fmt.Errorf("rotate signing key: %w", err)
		}
		return store.SigningKey{}, false, err
	}
	m.publish(ctx, changes.Change{Kind: changes.SigningKeys})
	m.record(ctx, a, audit.KeyRotated, k.ID, resultSuccess, "automatic")
	return k, true, nil
}
