package guard

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// DefaultTokenCacheSize is the number of verified access tokens a guard
// remembers when [Config.TokenCacheSize] is zero.
const DefaultTokenCacheSize = 10_000

// tokenCache remembers verified access tokens, so that a token presented
// again skips the signature check (an ES256 verification costs ~100µs).
// Entries are keyed by the SHA-256 of the exact token string and live
// until the token expires. Only what the signature vouched for is cached;
// the key's validity, expiry and revocation are checked on every use.
type tokenCache struct {
	max    int
	shards [cacheShards]cacheShard
}

const cacheShards = 16

type cacheShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]cachedToken
}

// cachedToken is a verified token: its principal (shared, never handed
// out) and the "nbf" the principal does not carry.
type cachedToken struct {
	p   *Principal
	nbf time.Time
}

func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{max: max(size/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]cachedToken)
	}
	return c
}

func (c *tokenCache) shard(k *[sha256.Size]byte) *cacheShard { return &c.shards[k[0]%cacheShards] }

// get returns the cached principal for k. The value is shared: callers
// must copy it before handing it out.
func (c *tokenCache) get(k *[sha256.Size]byte) (cachedToken, bool) {
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[*k]
	s.mu.RUnlock()
	return v, ok
}

// put stores v (whose principal the cache now owns) under k. When the shard is full
// it first drops expired entries among a few it looks at, else one
// arbitrary entry (map iteration starts at a random place): O(1) eviction
// that keeps the cache bounded.
func (c *tokenCache) put(k *[sha256.Size]byte, v cachedToken, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.max {
		seen, dropped := 0, false
		var victim [sha256.Size]byte
		for key, v := range s.m {
			if !now.Before(v.p.ExpiresAt) {
				delete(s.m, key)
				dropped = true
			} else if seen == 0 {
				victim = key
			}
			if seen++; seen >= 8 {
				break
			}
		}
		if !dropped {
			delete(s.m, victim)
		}
	}
	s.m[*k] = v
}

func (c *tokenCache) remove(k *[sha256.Size]byte) {
	s := c.shard(k)
	s.mu.Lock()
	delete(s.m, *k)
	s.mu.Unlock()
}

// clonePrincipal returns a copy of p that the caller may change ([Config.Enrich]
// does) without touching p.
func clonePrincipal(p *Principal) *Principal {
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	return &cp
}
