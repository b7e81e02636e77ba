// Package flight runs one lookup per key at a time for the short caches on
// the hot path (client records, users, API keys). When a cached record
// expires under load, every request that needs it misses at the same
// moment; without this, each would read the database, and a busy server
// sent a burst of identical queries to the connection pool once per TTL —
// on PostgreSQL under a login flood, bursts that held every request up for
// a second or more. With it, one caller reads and the others wait for its
// answer.
//
// It wraps golang.org/x/sync/singleflight with a type parameter and
// context handling.
package flight

import (
	"context"
	"strconv"
	"time"

	"golang.org/x/sync/singleflight"
)

// FetchTimeout bounds one shared lookup. The lookup does not stop when the
// caller that started it goes away (others may be waiting for it), so it
// needs a bound of its own.
const FetchTimeout = 10 * time.Second

// Group runs one fetch per key at a time. The zero value is ready to use;
// it is safe for concurrent use.
type Group[T any] struct {
	g singleflight.Group
}

// Do returns fetch's answer for key, calling fetch only if no call for key
// is already running; otherwise it waits for that call and shares its
// answer. fetch runs with a context that keeps ctx's values but not its
// cancellation, bounded by [FetchTimeout]; a caller whose ctx ends stops
// waiting with ctx's error, and the others still get the answer.
//
// Callers that must not share an answer fetched before some change (a cache
// entry dropped by Forget) put a generation number in key.
func (g *Group[T]) Do(ctx context.Context, key string, fetch func(context.Context) (T, error)) (T, error) {
	ch := g.g.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FetchTimeout)
		defer cancel()
		return fetch(fctx)
	})
	var zero T
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Key is the key of id's lookup in a cache whose Forget bumps gen: a lookup
// started before a Forget does not answer the callers that come after it.
func Key(gen uint64, id string) string {
	return strconv.FormatUint(gen, 10) + "\x00" + id
}
