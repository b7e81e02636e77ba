// Package changes is the one stream of "a record changed" notices. A
// change made by this process (the service layer) and a change another
// replica made (an entry of the revocation feed) take the same way: the
// [Stream] hands each [Change] to every handler the composition root gave
// it — the user cache, the client cache, the API-key verifier, the per-key
// rate limits, the login throttle, the signing-key reload — so that no
// cache can be left out of one path and not the other.
//
// A change this process makes is applied here at once and written to the
// revocation feed as a notice ([guard.RevokeEvent] with the value
// "KIND:ID"), which every other replica's feed reads within its
// propagation delay and passes to its own Stream. Real revocations (an API
// key, a user's tokens, a signing key, a client) are changes too: the feed
// maps them, so a replica drops what it caches about a revoked record.
//
// It imports the store (the feed's record) and the revocation feed's
// writer; nothing imports it but the service layer and the root.
package changes

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Kind names what changed.
type Kind string

// Kinds of change. The ID of a change is the record's id, except for
// Unlock (the account's digest, so that no username travels) and
// SigningKeys (none).
const (
	User        Kind = "user"   // scopes, disabled, password, lock, deleted
	Client      Kind = "client" // registration, secret, deleted
	APIKey      Kind = "apikey" // revoked, rotated, rate limit
	SigningKeys Kind = "keys"   // rotated or revoked: reload the key set
	Unlock      Kind = "unlock" // forget an account's failed logins
)

// Change says that the record ID of kind Kind changed.
type Change struct {
	Kind Kind
	ID   string
}

// Handler drops what a component caches about c. It is called on the
// goroutine that applies the change — for feed entries under the feed's
// lock — so it must be quick and must not block: slow work (a network
// call) goes to a goroutine of its own.
type Handler func(c Change)

// Notifier writes a notice to the revocation feed for the other replicas
// (revocation.Revoker.Revoke): kind, value, in force from at until expires.
type Notifier interface {
	Revoke(ctx context.Context, kind, value string, at, expires time.Time) error
}

// noticeTTL is how long a notice stays in the feed: far longer than any
// replica's poll window, so that a replica that was briefly away still
// reads it when it catches up.
const noticeTTL = time.Hour

// Stream hands changes to its handlers. Build it with [New]; it is safe
// for concurrent use and never changes after.
type Stream struct {
	notifier Notifier
	now      func() time.Time
	handlers []Handler
}

// New returns a stream that writes notices through n (nil: this process
// only, e.g. a CLI with no caches to tell) and applies every change to the
// handlers, in order. now is the clock (nil: time.Now).
func New(n Notifier, now func() time.Time, handlers ...Handler) *Stream {
	if now == nil {
		now = time.Now
	}
	return &Stream{notifier: n, now: now, handlers: handlers}
}

// Apply hands c to this process's handlers only: for a change whose news
// already travels to the other replicas by other means (a revocation entry
// the caller wrote, or an entry the feed just read).
func (s *Stream) Apply(c Change) {
	for _, h := range s.handlers {
		h(c)
	}
}

// Publish applies c here at once and writes a notice that tells every
// other replica. When the notice cannot be written the change still
// applies here, and the error says that the others have not heard of it
// (their caches catch up when their entries expire).
func (s *Stream) Publish(ctx context.Context, c Change) error {
	s.Apply(c)
	if s.notifier == nil {
		return nil
	}
	now := s.now()
	if err := s.notifier.Revoke(ctx, guard.RevokeEvent, Notice(c), now, now.Add(noticeTTL)); err != nil {
		return fmt.Errorf("publish %s change: %w", c.Kind, err)
	}
	return nil
}

// Notice is the feed value of c: "KIND:ID", or "keys" for SigningKeys.
func Notice(c Change) string {
	if c.Kind == SigningKeys {
		return string(SigningKeys)
	}
	return string(c.Kind) + ":" + c.ID
}

// FromEntry returns the change a revocation-feed entry announces, if any:
// a notice written by [Stream.Publish], or a revocation that means its
// record changed (an API key or a client revoked, a user's tokens revoked
// when they were disabled or logged out, a signing key revoked).
func FromEntry(r store.Revocation) (Change, bool) {
	switch r.Kind {
	case guard.RevokeAPIKey:
		return Change{APIKey, r.Value}, true
	case guard.RevokeUser:
		return Change{User, r.Value}, true
	case guard.RevokeClient:
		return Change{Client, r.Value}, true
	case guard.RevokeKey:
		return Change{SigningKeys, ""}, true
	case guard.RevokeEvent:
		if r.Value == string(SigningKeys) {
			return Change{SigningKeys, ""}, true
		}
		kind, id, ok := strings.Cut(r.Value, ":")
		if !ok || id == "" {
			return Change{}, false
		}
		switch k := Kind(kind); k {
		case User, Client, APIKey, Unlock:
			return Change{k, id}, true
		}
	}
	return Change{}, false
}

// ApplyEntries applies the changes that feed entries announce (the feed's
// OnEntries).
func (s *Stream) ApplyEntries(rs []store.Revocation) {
	for _, r := range rs {
		if c, ok := FromEntry(r); ok {
			s.Apply(c)
		}
	}
}
