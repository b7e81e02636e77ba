package authn

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrInvalidAPIKey is returned for every API key that must be refused.
var ErrInvalidAPIKey = errors.New("invalid or inactive API key")

// DefaultTTL is how long the verifier and the user cache keep a record
// (when their TTL is 0). A change made on another replica (or by the CLI
// in another process) applies within it; changes made through this node's
// Forget methods apply at once.
const DefaultTTL = time.Second

// maxCachedKeys bounds each cache of this package.
const maxCachedKeys = 100_000

// UsageRecorder learns of every successful API-key use; it coalesces them
// (last-used times, audit aggregates) instead of writing per request.
type UsageRecorder interface {
	Used(keyID, ip string, at time.Time)
}

// KeyStore is what the verifier reads: an API key by id and its owner.
type KeyStore interface {
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	UserStore
}

// VerifierConfig is what [NewVerifier] needs. Store is required.
type VerifierConfig struct {
	Store KeyStore
	// Prefix is the API keys' visible prefix (default "gk_").
	Prefix string
	// TTL is how long a key record and its owner are kept (0:
	// [DefaultTTL]); a missing key is kept as long.
	TTL time.Duration
	// Now tells the time (default time.Now).
	Now func() time.Time
	// Usage, when set, learns of every successful use.
	Usage UsageRecorder
	// Revoked, when set, is consulted on every call (the revocation set).
	Revoked guard.RevocationChecker
	// ClientIP, when set, tells the usage recorder the caller's address.
	ClientIP func(context.Context) string
}

// Verifier checks API keys. It is the embedded guard's APIKeyVerifier.
//
// A key is parsed and its checksum checked without touching the store; the
// record and its owner are then read by the key's embedded id and cached for
// TTL, so a busy key costs one store read per TTL, not per request.
// Revocations reach it through the revocation set at once, and other
// changes (a disabled owner, a rotation) within TTL, or at once through
// [Verifier.Forget] and [Verifier.ForgetUser]. The cached record also
// carries the key's own rate limit, parsed once ([Verifier.RateLimit]).
//
// Make one with [NewVerifier]; it is safe for concurrent use.
type Verifier struct {
	prefix   string
	now      func() time.Time
	usage    UsageRecorder
	revoked  guard.RevocationChecker
	clientIP func(context.Context) string
	store    KeyStore
	keys     *cache.Cache[*cachedKey]
}

// cachedKey is what the verifier keeps of one key: the record, its owner
// and its own rate limit. It is not changed once cached.
type cachedKey struct {
	key      store.APIKey
	user     store.User
	limit    ratelimit.Limit
	ownLimit bool // the key has a valid limit of its own
}

var _ guard.APIKeyVerifier = (*Verifier)(nil)

// NewVerifier returns a verifier with an empty cache.
func NewVerifier(cfg VerifierConfig) *Verifier {
	v := &Verifier{
		prefix: cfg.Prefix, now: cfg.Now, usage: cfg.Usage, revoked: cfg.Revoked, clientIP: cfg.ClientIP,
		store: cfg.Store,
	}
	if v.prefix == "" {
		v.prefix = "gk_"
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.keys = newCache(cfg.TTL, v.fetch)
	return v
}

// newCache returns a cache for this package's records: ttl (0 or less:
// [DefaultTTL]) for a record and as long for its absence.
func newCache[V any](ttl time.Duration, load cache.Loader[V]) *cache.Cache[V] {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return cache.New(cache.Config{TTL: ttl, NegativeTTL: ttl, MaxEntries: maxCachedKeys}, load)
}

// VerifyAPIKey implements guard.APIKeyVerifier.
func (v *Verifier) VerifyAPIKey(ctx context.Context, value string) (*guard.Principal, error) {
	id, err := secret.Parse(v.prefix, value)
	if err != nil {
		return nil, ErrInvalidAPIKey
	}
	now := v.now()
	c, found, err := v.keys.Get(ctx, id, now)
	if err != nil {
		// The store failed, not the key: the guard answers 503.
		return nil, &guard.UnavailableError{Err: err}
	}
	if !found {
		return nil, ErrInvalidAPIKey
	}
	k := &c.key
	if !(secret.Matches(k.Hash, value) ||
		(k.PrevHash != nil && k.PrevExpiresAt != nil && now.Before(*k.PrevExpiresAt) && secret.Matches(k.PrevHash, value))) {
		return nil, ErrInvalidAPIKey
	}
	if k.RevokedAt != nil || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) || c.user.Disabled {
		return nil, ErrInvalidAPIKey
	}
	// A key never carries more than its owner has now (a scope taken from
	// the user leaves their keys too); the common case allocates nothing.
	scopes := k.Scopes
	if !oauth.Subset(scopes, c.user.Scopes) {
		scopes = oauth.Intersect(scopes, c.user.Scopes)
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
	if v.revoked != nil && v.revoked.Revoked(&guard.Principal{Method: guard.MethodAPIKey, KeyID: k.ID}) {
		return nil, ErrInvalidAPIKey
	}
	if v.usage != nil {
		ip := ""
		if v.clientIP != nil {
			ip = v.clientIP(ctx)
		}
		v.usage.Used(k.ID, ip, now)
	}
	return p, nil
}

// RateLimit returns the own rate limit of the key with id, parsed when its
// record was read; false when the key has none (or an invalid one, or
// cannot be read now): the caller applies its default. It answers from
// the record [Verifier.VerifyAPIKey] has just cached for the same
// request, and reads the store only when that record is gone.
func (v *Verifier) RateLimit(ctx context.Context, id string) (ratelimit.Limit, bool) {
	c, _, err := v.keys.Get(ctx, id, v.now())
	if err != nil || c == nil || !c.ownLimit {
		return ratelimit.Limit{}, false
	}
	return c.limit, true
}

// Forget drops the cached key with id, so that a change made on this node
// (a revocation, a rotation, new scopes) applies to the next request.
func (v *Verifier) Forget(id string) { v.keys.Forget(id) }

// ForgetUser drops every cached key of userID (the owner was disabled or
// lost scopes).
func (v *Verifier) ForgetUser(userID string) {
	v.keys.ForgetFunc(func(_ string, c *cachedKey) bool { return c != nil && c.key.UserID == userID })
}

// ForgetAll empties the cache.
func (v *Verifier) ForgetAll() { v.keys.ForgetAll() }

// fetch reads key id and its owner from the store; found is false when
// either is missing.
func (v *Verifier) fetch(ctx context.Context, id string) (*cachedKey, bool, error) {
	k, err := v.store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	c := &cachedKey{key: k}
	if k.RateLimit != "" {
		if l, err := ratelimit.ParseLimit(k.RateLimit); err == nil {
			c.limit, c.ownLimit = l, true
		}
	}
	u, err := v.store.GetUser(ctx, k.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return c, false, nil // kept so that ForgetUser finds it
	} else if err != nil {
		return nil, false, err
	}
	c.user = u
	return c, true, nil
}
