package authn

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/store"
)

// UserStore is what the user cache reads: a user by id.
type UserStore interface {
	GetUser(ctx context.Context, id string) (store.User, error)
}

// UserCacheConfig is what [NewUserCache] needs. Store is required.
type UserCacheConfig struct {
	Store UserStore
	// TTL is how long a user (or the absence of one) is kept (0:
	// [DefaultTTL]).
	TTL time.Duration
	// Now tells the time (default time.Now).
	Now func() time.Time
}

// UserCache answers "who is user X" for the hot path (the username of a
// bearer token's subject) with at most one store read per user per TTL.
// Make one with [NewUserCache]; it is safe for concurrent use.
type UserCache struct {
	now   func() time.Time
	store UserStore
	users *cache.Cache[store.User]
}

// NewUserCache returns an empty user cache.
func NewUserCache(cfg UserCacheConfig) *UserCache {
	c := &UserCache{now: cfg.Now, store: cfg.Store}
	if c.now == nil {
		c.now = time.Now
	}
	c.users = newCache(cfg.TTL, c.fetch)
	return c
}

// Get returns the user with id, or false when there is none.
func (c *UserCache) Get(ctx context.Context, id string) (store.User, bool, error) {
	return c.users.Get(ctx, id, c.now())
}

// Forget drops the cached user with id, so that a change made on this
// node applies to the next request.
func (c *UserCache) Forget(id string) { c.users.Forget(id) }

// ForgetAll empties the cache.
func (c *UserCache) ForgetAll() { c.users.ForgetAll() }

func (c *UserCache) fetch(ctx context.Context, id string) (store.User, bool, error) {
	u, err := c.store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	}
	return u, err == nil, err
}
