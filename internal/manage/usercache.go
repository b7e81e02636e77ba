package manage

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/flight"
	"github.com/gatehouse/gatehouse/internal/store"
)

// UserCache answers "who is user X" for the hot path (the username of a
// bearer token's subject) with at most one store read per user per TTL.
type UserCache struct {
	Store store.Users
	TTL   time.Duration // default 1s
	Now   func() time.Time

	mu     sync.RWMutex
	m      map[string]cachedUser
	gen    uint64 // bumped by Forget, so a read racing it is not cached
	flight flight.Group[cachedUser]
}

type cachedUser struct {
	user    store.User
	ok      bool
	fetched time.Time
}

// Get returns the user with id, or false when there is none.
func (c *UserCache) Get(ctx context.Context, id string) (store.User, bool, error) {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Second
	}
	c.mu.RLock()
	e, hit := c.m[id]
	gen := c.gen
	c.mu.RUnlock()
	if hit && now.Sub(e.fetched) < ttl && now.Sub(e.fetched) >= 0 {
		return e.user, e.ok, nil
	}
	// One read per user at a time (see package flight).
	e, err := c.flight.Do(ctx, flight.Key(gen, id), func(ctx context.Context) (cachedUser, error) {
		u, err := c.Store.GetUser(ctx, id)
		if err != nil && err != store.ErrNotFound {
			return cachedUser{}, err
		}
		return cachedUser{user: u, ok: err == nil, fetched: now}, nil
	})
	if err != nil {
		return store.User{}, false, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.m == nil || len(c.m) >= maxCachedKeys {
			c.m = make(map[string]cachedUser)
		}
		c.m[id] = e
	}
	c.mu.Unlock()
	return e.user, e.ok, nil
}

// Forget drops one user (or, with "", every user) from the cache.
func (c *UserCache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		c.m = nil
		return
	}
	delete(c.m, id)
}
