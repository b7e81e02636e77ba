package clientauth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/cache"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultTTL is how long a client record is cached. A change made on
// another replica (or by the CLI in another process) applies within it;
// changes made through this node's [Authenticator.Forget] apply at once.
const DefaultTTL = time.Second

// DefaultNegativeTTL is how long "no such client" is cached. It is no
// longer than [DefaultTTL], so that a client created on another replica
// is known here within the same bound as any other change.
const DefaultNegativeTTL = time.Second

// maxEntries bounds the cache.
const maxEntries = 10_000

// ClientStore is what the authenticator reads: a client by id.
type ClientStore interface {
	GetClient(ctx context.Context, id string) (store.Client, error)
}

// Config is what [New] needs. Store is required.
type Config struct {
	Store ClientStore
	// TTL is how long a client record is cached: 0 means [DefaultTTL], a
	// negative TTL turns the cache off (every lookup reads the store).
	TTL time.Duration
	// NegativeTTL is how long an unknown client id is cached: 0 means
	// [DefaultNegativeTTL], negative not at all.
	NegativeTTL time.Duration
	// Now tells the time (default time.Now).
	Now func() time.Time
}

// Authenticator looks clients up (through a cache) and checks their
// credentials. Make one with [New]; it is safe for concurrent use.
type Authenticator struct {
	now     func() time.Time
	store   ClientStore
	clients *cache.Cache[client]
}

// client is what the cache keeps of a client: the record and its own rate
// limit, parsed once.
type client struct {
	c        store.Client
	limit    ratelimit.Limit
	ownLimit bool // the client has a valid limit of its own
}

// New returns an authenticator with an empty cache.
func New(cfg Config) *Authenticator {
	a := &Authenticator{now: cfg.Now, store: cfg.Store}
	if a.now == nil {
		a.now = time.Now
	}
	ttl, neg := cfg.TTL, cfg.NegativeTTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if neg == 0 {
		neg = DefaultNegativeTTL
	}
	// A negative TTL reaches the cache as is: it keeps nothing.
	a.clients = cache.New(cache.Config{TTL: ttl, NegativeTTL: neg, MaxEntries: maxEntries}, a.fetch)
	return a
}

func (a *Authenticator) fetch(ctx context.Context, id string) (client, bool, error) {
	c, err := a.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return client{}, false, nil
	} else if err != nil {
		return client{}, false, err
	}
	e := client{c: c}
	if c.RateLimit != "" {
		if l, err := ratelimit.ParseLimit(c.RateLimit); err == nil {
			e.limit, e.ownLimit = l, true
		}
	}
	return e, true, nil
}

// Client returns the client with id, from the cache when fresh. An unknown
// client gives store.ErrNotFound.
func (a *Authenticator) Client(ctx context.Context, id string) (store.Client, error) {
	e, found, err := a.clients.Get(ctx, id, a.now())
	if err != nil {
		return store.Client{}, err
	}
	if !found {
		return store.Client{}, store.ErrNotFound
	}
	return e.c, nil
}

// RateLimit returns the own rate limit of the client with id, parsed when
// its record was read; false when it has none (or an invalid one, or
// cannot be read now): the caller applies its default. It answers from
// the record [Authenticator.Authenticate] has just cached for the same
// request, and reads the store only when that record is gone.
func (a *Authenticator) RateLimit(ctx context.Context, id string) (ratelimit.Limit, bool) {
	e, found, err := a.clients.Get(ctx, id, a.now())
	if err != nil || !found || !e.ownLimit {
		return ratelimit.Limit{}, false
	}
	return e.limit, true
}

// Forget drops the cached record of client id, so that a change made on
// this node applies to the next request.
func (a *Authenticator) Forget(id string) { a.clients.Forget(id) }

// ForgetAll empties the cache.
func (a *Authenticator) ForgetAll() { a.clients.ForgetAll() }

// Changed is the authenticator's change-stream handler: a changed or
// deleted client is read again.
func (a *Authenticator) Changed(c changes.Change) {
	if c.Kind == changes.Client {
		a.Forget(c.ID)
	}
}
