package service

import (
	"context"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Owner string // username or user id
	Name  string // a label; defaults to "default"
	// Scopes are the key's scopes. nil (absent) means the default: the
	// owner's scopes within Limit. An empty, non-nil list means none: an
	// empty list never stands for "everything".
	Scopes    []string
	ExpiresIn time.Duration
	RateLimit string // e.g. "10/s"; "" = server default
	// Limit, when not nil, bounds the scopes further: the calling
	// credential's scopes, since a credential may not create a key with
	// more scopes than it has itself. nil means no bound (the CLI).
	Limit []string
}

// CreatedAPIKey is a new key with its secret, which is shown only once.
type CreatedAPIKey struct {
	store.APIKey
	Secret   string
	Username string
}

// CreateAPIKey mints a key for the owner. Its scopes must be a subset of
// the owner's (and of in.Limit); nil scopes give all of those, an empty
// list none.
func (m *Manager) CreateAPIKey(ctx context.Context, a audit.Actor, in NewAPIKey) (CreatedAPIKey, error) {
	u, err := m.FindUser(ctx, in.Owner)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if u.Disabled {
		return CreatedAPIKey{}, errorf(Invalid, "user_disabled", "user %q is disabled", u.Username)
	}
	allowed := u.Scopes
	if in.Limit != nil {
		allowed = oauth.Intersect(allowed, in.Limit)
	}
	scopes, err := ParseScopes(in.Scopes)
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if in.Scopes == nil {
		scopes = allowed
	} else if !oauth.Subset(scopes, allowed) {
		return CreatedAPIKey{}, errorf(Forbidden, "invalid_scope",
			"requested scopes exceed what the owner may grant (allowed: %q)", store.JoinScopes(allowed))
	}
	if in.RateLimit != "" {
		if _, err := ratelimit.ParseLimit(in.RateLimit); err != nil {
			return CreatedAPIKey{}, errorf(Invalid, "invalid_rate_limit", "invalid rate limit %q: %v", in.RateLimit, err)
		}
	}
	if in.ExpiresIn < 0 {
		return CreatedAPIKey{}, errorf(Invalid, "invalid_expiry", "expiry must be positive")
	}
	name := in.Name
	if name == "" {
		name = "default"
	}
	if len(name) > 100 {
		return CreatedAPIKey{}, errorf(Invalid, "invalid_name", "name must be at most 100 bytes")
	}
	if !plainLabel(name) {
		return CreatedAPIKey{}, errorf(Invalid, "invalid_name", "name must be UTF-8 text without control characters")
	}
	if err := notSecret("invalid_name", "a name", name); err != nil {
		return CreatedAPIKey{}, err
	}
	value, id := secret.Mint(m.apiKeyPrefix())
	now := m.now()
	k := store.APIKey{
		ID: id, UserID: u.ID, Name: name, Prefix: secret.Display(value), Hash: secret.Hash(value),
		Scopes: scopes, RateLimit: in.RateLimit, CreatedAt: now,
	}
	if in.ExpiresIn > 0 {
		exp := now.Add(in.ExpiresIn)
		k.ExpiresAt = &exp
	}
	if err := m.Store.CreateAPIKey(ctx, k); err != nil {
		return CreatedAPIKey{}, fmt.Errorf("create api key: %w", err)
	}
	m.record(ctx, a, audit.APIKeyCreated, k.ID, resultSuccess, "owner="+u.ID)
	return CreatedAPIKey{APIKey: k, Secret: value, Username: u.Username}, nil
}

// ListAPIKeys lists keys; owner "" lists every user's keys.
func (m *Manager) ListAPIKeys(ctx context.Context, owner, after string, limit int) ([]store.APIKey, error) {
	uid := ""
	if owner != "" {
		u, err := m.FindUser(ctx, owner)
		if err != nil {
			return nil, err
		}
		uid = u.ID
	}
	ks, err := m.Store.ListAPIKeys(ctx, uid, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return ks, nil
}

// GetAPIKey returns one key. When owner is not "" the key must belong to
// that user id (self-service), else it is reported as not found.
func (m *Manager) GetAPIKey(ctx context.Context, id, ownerID string) (store.APIKey, error) {
	k, err := m.Store.GetAPIKey(ctx, id)
	if err == nil && ownerID != "" && k.UserID != ownerID {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.APIKey{}, notFound(err, "api key", id)
	}
	return k, nil
}

// RevokeAPIKey revokes a key at once on every replica. ownerID, when not
// "", restricts the operation to that user's keys.
func (m *Manager) RevokeAPIKey(ctx context.Context, a audit.Actor, id, ownerID string) (store.APIKey, error) {
	if _, err := m.GetAPIKey(ctx, id, ownerID); err != nil {
		return store.APIKey{}, err
	}
	now := m.now()
	k, err := m.Store.UpdateAPIKey(ctx, id, func(k store.APIKey) (store.APIKey, error) {
		if k.RevokedAt == nil {
			k.RevokedAt = &now
		}
		return k, nil
	})
	if err != nil {
		return store.APIKey{}, notFound(err, "api key", id)
	}
	m.applyHere(changes.Change{Kind: changes.APIKey, ID: id})
	if m.Revoker != nil {
		// The entry only has to outlive verifier caches; the store's
		// RevokedAt is the lasting record.
		if err := m.Revoker.Revoke(ctx, guard.RevokeAPIKey, id, now, now.Add(24*time.Hour)); err != nil {
			return k, fmt.Errorf("publish api key revocation: %w", err)
		}
	}
	m.record(ctx, a, audit.APIKeyRevoked, id, resultSuccess, "")
	return k, nil
}

// RotatedAPIKey is the result of RotateAPIKey.
type RotatedAPIKey struct {
	store.APIKey
	Secret string
}

// RotateAPIKey gives a key a new secret. The old secret keeps working until
// grace has passed (0 ends it at once).
func (m *Manager) RotateAPIKey(ctx context.Context, a audit.Actor, id string, grace time.Duration) (RotatedAPIKey, error) {
	if grace < 0 {
		return RotatedAPIKey{}, errorf(Invalid, "invalid_grace", "grace must not be negative")
	}
	value := secret.MintWithID(m.apiKeyPrefix(), id)
	now := m.now()
	k, err := m.Store.UpdateAPIKey(ctx, id, func(k store.APIKey) (store.APIKey, error) {
		if k.RevokedAt != nil {
			return k, errorf(Invalid, "revoked", "api key %q is revoked", id)
		}
		k.PrevHash, k.PrevExpiresAt = nil, nil
		if grace > 0 {
			end := now.Add(grace)
			k.PrevHash, k.PrevExpiresAt = k.Hash, &end
		}
		k.Hash = secret.Hash(value)
		k.Prefix = secret.Display(value)
		return k, nil
	})
	if err != nil {
		return RotatedAPIKey{}, notFound(err, "api key", id)
	}
	// Caches everywhere still hold the old hash: tell them.
	m.publish(ctx, changes.Change{Kind: changes.APIKey, ID: id})
	m.record(ctx, a, audit.APIKeyRotated, id, resultSuccess, "grace="+grace.String())
	return RotatedAPIKey{APIKey: k, Secret: value}, nil
}

// SetAPIKeyRateLimit changes a key's own rate limit ("10/s", "100/m:20";
// "" returns the key to the server default) and records apikey.updated.
// ownerID, when not "", restricts the operation to that user's keys. The
// new limit applies at once on this node and within a second elsewhere.
func (m *Manager) SetAPIKeyRateLimit(ctx context.Context, a audit.Actor, id, ownerID, rate string) (store.APIKey, error) {
	if rate != "" {
		l, err := ratelimit.ParseLimit(rate)
		if err != nil {
			return store.APIKey{}, errorf(Invalid, "invalid_rate_limit", "invalid rate limit %q: %v", rate, err)
		}
		rate = l.String()
		if l.Unlimited() {
			rate = "unlimited"
		}
	}
	if _, err := m.GetAPIKey(ctx, id, ownerID); err != nil {
		return store.APIKey{}, err
	}
	old := ""
	k, err := m.Store.UpdateAPIKey(ctx, id, func(k store.APIKey) (store.APIKey, error) {
		old = k.RateLimit
		k.RateLimit = rate
		return k, nil
	})
	if err != nil {
		return store.APIKey{}, notFound(err, "api key", id)
	}
	m.publish(ctx, changes.Change{Kind: changes.APIKey, ID: id})
	m.record(ctx, a, audit.APIKeyUpdated, id, resultSuccess, "rate_limit="+orDefault(old)+"->"+orDefault(rate))
	return k, nil
}

func orDefault(rate string) string {
	if rate == "" {
		return "default"
	}
	return rate
}

// plainLabel reports whether a display label (an API key's or a client's
// name) is valid UTF-8 without control characters: no NUL, which
// PostgreSQL text cannot hold, and no escape sequences for the terminal
// that lists it.
func plainLabel(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
