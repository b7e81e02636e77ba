package manage

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/flight"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrInvalidAPIKey is returned for every API key that must be refused.
var ErrInvalidAPIKey = errors.New("invalid or inactive API key")

// UsageRecorder learns of every successful API-key use; it coalesces them
// (last-used times, audit aggregates) instead of writing per request.
type UsageRecorder interface {
	Used(keyID, ip string, at time.Time)
}

// Verifier checks API keys. It is the embedded guard's APIKeyVerifier.
//
// A key is parsed and its checksum checked without touching the store; the
// record and its owner are then read by the key's embedded id and cached for
// TTL, so a busy key costs one store read per TTL, not per request.
// Revocations reach it through the revocation set at once, and other
// changes (a disabled owner, a rotation) within TTL.
type Verifier struct {
	Store  store.Store
	Prefix string
	TTL    time.Duration // default 1s
	Now    func() time.Time
	Usage  UsageRecorder
	// Revoked, when set, is consulted on every call (the revocation set).
	Revoked guard.RevocationChecker
	// ClientIP, when set, tells the usage recorder the caller's address.
	ClientIP func(context.Context) string

	mu     sync.RWMutex
	cache  map[string]*cachedKey
	gen    uint64 // bumped by Forget, so a read racing it is not cached
	flight flight.Group[*cachedKey]
}

type cachedKey struct {
	key     store.APIKey
	user    store.User
	missing bool
	fetched time.Time
}

var _ guard.APIKeyVerifier = (*Verifier)(nil)

const maxCachedKeys = 100_000

// VerifyAPIKey implements guard.APIKeyVerifier.
func (v *Verifier) VerifyAPIKey(ctx context.Context, value string) (*guard.Principal, error) {
	prefix := v.Prefix
	if prefix == "" {
		prefix = "gk_"
	}
	id, err := secret.Parse(prefix, value)
	if err != nil {
		return nil, ErrInvalidAPIKey
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	c, err := v.lookup(ctx, id, now)
	if err != nil {
		// The store failed, not the key: the guard answers 503.
		return nil, &guard.UnavailableError{Err: err}
	}
	k := &c.key
	if c.missing || !(secret.Matches(k.Hash, value) ||
		(k.PrevHash != nil && k.PrevExpiresAt != nil && now.Before(*k.PrevExpiresAt) && secret.Matches(k.PrevHash, value))) {
		return nil, ErrInvalidAPIKey
	}
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) || c.user.Disabled {
		return nil, ErrInvalidAPIKey
	}
	// A key never carries more than its owner has now (a scope taken from
	// the user leaves their keys too); the common case allocates nothing.
	scopes := k.Scopes
	if !subset(scopes, c.user.Scopes) {
		scopes = intersect(scopes, c.user.Scopes)
	}
	p := &guard.Principal{
		Subject: k.UserID, Username: c.user.Username, Scopes: scopes,
		Method: guard.MethodAPIKey, KeyID: k.ID, IssuedAt: k.CreatedAt,
	}
	if k.ExpiresAt != nil {
		p.ExpiresAt = *k.ExpiresAt
	}
	// Only the key's own revocation applies: a user's "log out everywhere"
	// ends sessions, not API keys (disabling the owner does, above).
	if v.Revoked != nil && v.Revoked.Revoked(&guard.Principal{Method: guard.MethodAPIKey, KeyID: k.ID}) {
		return nil, ErrInvalidAPIKey
	}
	if v.Usage != nil {
		ip := ""
		if v.ClientIP != nil {
			ip = v.ClientIP(ctx)
		}
		v.Usage.Used(k.ID, ip, now)
	}
	return p, nil
}

// Forget drops cached keys: the key with id, every key of userID, or
// everything when both are "". Changes made on this node call it so they
// apply at once; other replicas see them within TTL.
func (v *Verifier) Forget(id, userID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	if id == "" && userID == "" {
		v.cache = nil
		return
	}
	delete(v.cache, id)
	if userID != "" {
		for k, c := range v.cache {
			if c.key.UserID == userID {
				delete(v.cache, k)
			}
		}
	}
}

func (v *Verifier) lookup(ctx context.Context, id string, now time.Time) (*cachedKey, error) {
	ttl := v.TTL
	if ttl <= 0 {
		ttl = time.Second
	}
	v.mu.RLock()
	c := v.cache[id]
	gen := v.gen
	v.mu.RUnlock()
	if c != nil && now.Sub(c.fetched) < ttl && now.Sub(c.fetched) >= 0 {
		return c, nil
	}
	// One read per key at a time (see package flight).
	c, err := v.flight.Do(ctx, flight.Key(gen, id), func(ctx context.Context) (*cachedKey, error) {
		return v.fetch(ctx, id, now)
	})
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.gen == gen {
		if v.cache == nil || len(v.cache) >= maxCachedKeys {
			v.cache = make(map[string]*cachedKey)
		}
		v.cache[id] = c
	}
	v.mu.Unlock()
	return c, nil
}

// fetch reads key id and its owner from the store.
func (v *Verifier) fetch(ctx context.Context, id string, now time.Time) (*cachedKey, error) {
	c := &cachedKey{fetched: now}
	k, err := v.Store.GetAPIKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.missing = true
	case err != nil:
		return nil, err
	default:
		c.key = k
		u, err := v.Store.GetUser(ctx, k.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.missing = true
		case err != nil:
			return nil, err
		default:
			c.user = u
		}
	}
	return c, nil
}
