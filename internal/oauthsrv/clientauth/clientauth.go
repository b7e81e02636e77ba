// Package clientauth authenticates OAuth2 clients (RFC 6749 §2.3) for the
// token, revocation and introspection endpoints, with a short cache of
// client records so that a busy machine client costs no database read per
// request.
//
// It stands alone so that every endpoint package authenticates clients the
// same way without importing one another. It imports store, oauth and
// secret only.
package clientauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/flight"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultTTL is how long a client record is cached. A change made on
// another replica (or by the CLI in another process) applies within it;
// changes made through this node's [Authenticator.Forget] apply at once.
const DefaultTTL = time.Second

// maxEntries bounds the cache; beyond it the cache is emptied.
const maxEntries = 10_000

// Authenticator looks clients up (through a cache) and checks their
// credentials. Store is required; TTL 0 means [DefaultTTL] and a negative
// TTL turns the cache off; Now defaults to time.Now. It is safe for
// concurrent use once its fields are set.
type Authenticator struct {
	Store store.Clients
	TTL   time.Duration
	Now   func() time.Time

	mu     sync.RWMutex
	cache  map[string]entry
	gen    uint64 // bumped by Forget, so a lookup racing it is not cached
	flight flight.Group[store.Client]
}

type entry struct {
	c       store.Client
	fetched time.Time
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Authenticator) ttl() time.Duration {
	if a.TTL == 0 {
		return DefaultTTL
	}
	return a.TTL
}

// Client returns the client with id, from the cache when fresh. An unknown
// client gives store.ErrNotFound (unknown ids are not cached).
func (a *Authenticator) Client(ctx context.Context, id string) (store.Client, error) {
	ttl := a.ttl()
	now := a.now()
	if ttl > 0 {
		a.mu.RLock()
		e, ok := a.cache[id]
		gen := a.gen
		a.mu.RUnlock()
		if ok && now.Sub(e.fetched) < ttl && !now.Before(e.fetched) {
			return e.c, nil
		}
		// One read per client at a time: when the entry expires under
		// load, the requests that miss together share it. The generation
		// in the key keeps a read started before a Forget from answering
		// requests that come after it.
		c, err := a.flight.Do(ctx, flight.Key(gen, id), func(ctx context.Context) (store.Client, error) {
			return a.Store.GetClient(ctx, id)
		})
		if err != nil {
			return store.Client{}, err
		}
		a.mu.Lock()
		if a.gen == gen {
			if a.cache == nil || len(a.cache) >= maxEntries {
				a.cache = make(map[string]entry)
			}
			a.cache[id] = entry{c: c, fetched: now}
		}
		a.mu.Unlock()
		return c, nil
	}
	return a.Store.GetClient(ctx, id)
}

// Forget drops the cached record of client id ("" drops every record), so
// that a change made on this node applies to the next request.
func (a *Authenticator) Forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	if id == "" {
		a.cache = nil
		return
	}
	delete(a.cache, id)
}

// Authenticate checks the credentials ca (from [oauth.ClientCredentials])
// against the client's record: a confidential client must present its
// secret (compared by hash in constant time), a public client must not
// present one. Every failure is an invalid_client *oauth.Error (with
// UseBasic when the request used HTTP Basic, RFC 6749 §5.2); other errors
// are internal. A request without client_id fails too: callers that serve
// anonymous requests (the first-party password grant) fill ca.ID first.
func (a *Authenticator) Authenticate(ctx context.Context, ca oauth.ClientAuth) (store.Client, error) {
	if ca.ID == "" {
		return store.Client{}, ca.InvalidClient("client authentication is required")
	}
	c, err := a.Client(ctx, ca.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, ca.InvalidClient("client authentication failed")
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client: %w", err)
	}
	if c.Public {
		if ca.Secret != "" {
			return store.Client{}, ca.InvalidClient("public clients do not authenticate with a secret")
		}
		return c, nil
	}
	if ca.Secret == "" || !secret.Matches(c.SecretHash, ca.Secret) {
		return store.Client{}, ca.InvalidClient("client authentication failed")
	}
	return c, nil
}
