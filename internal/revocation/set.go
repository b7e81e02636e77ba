package revocation

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Set is the in-memory deny list. It implements [guard.RevocationChecker].
//
// Entries arrive through [Set.Apply] (from a [Feed] or a [Revoker]) and
// live until their ExpiresAt: an entry is in force while now is before
// ExpiresAt, matching store.Revocations.ListRevocations, and is dropped
// after that. A zero ExpiresAt never expires (the store never produces
// one). Expired entries are swept when an Apply or a Feed poll finds one
// due, at most once a second, and by [Set.Sweep]; memory is therefore
// bounded by the entries that are still in force.
//
// Now (default [time.Now]) and OnEvent must be set before the Set is used.
// After that every method is safe for concurrent use; [Set.Revoked] takes
// only a read lock and does not allocate. The zero value is an empty set.
type Set struct {
	// Now is the clock deciding expiry.
	Now func() time.Time
	// OnEvent, when set, receives store.RevokeEvent entries: notices
	// that something others cache (keys, clients, API keys) changed and
	// must be reloaded. It is called once per Seq (entries with Seq 0
	// every time), outside the Set's lock.
	OnEvent func(store.Revocation)

	mu     sync.RWMutex
	ids    [numIDKinds]map[string]time.Time // value → expiry
	since  [numSinceKinds]map[string][]span // id → revoked-before spans
	spans  int                              // number of spans in since
	events map[int64]time.Time              // delivered event Seq → expiry
	// nextExpiry is the earliest expiry of any entry (zero: none expires),
	// lastSweep when expired entries were last removed.
	nextExpiry time.Time
	lastSweep  time.Time

	cursor atomic.Int64
}

// Kinds revoked by identifier.
const (
	idToken = iota
	idFamily
	idAPIKey
	idKey
	numIDKinds
)

// Kinds revoked by "issued at or before".
const (
	sinceUser = iota
	sinceClient
	numSinceKinds
)

// span revokes the tokens of one user or client issued in or before the
// second at (Unix seconds) until exp.
type span struct {
	at  int64
	exp time.Time
}

// NewSet returns an empty Set using now as its clock (nil: [time.Now]).
func NewSet(now func() time.Time) *Set { return &Set{Now: now} }

// minSweepGap bounds how often Apply and the Feed sweep.
const minSweepGap = time.Second

var _ guard.RevocationChecker = (*Set)(nil)

func (s *Set) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// live reports whether an entry expiring at exp is in force at now.
func live(exp, now time.Time) bool { return exp.IsZero() || now.Before(exp) }

// Revoked reports whether p's credential is revoked at the Set's clock:
//
//   - API keys (Method api_key): the key id p.KeyID is listed.
//   - Access tokens (any other method): the jti p.TokenID is listed; or
//     the jti has the form FAMILY.ID (see internal/token) and FAMILY is a
//     revoked refresh family; or the signing key p.SigningKeyID is
//     revoked; or the user p.Subject or the client p.ClientID was revoked
//     at a time T with p.IssuedAt <= T.
//
// The last comparison is made in whole seconds (iat and T truncated to
// Unix seconds), because a JWT's iat has second precision while T has
// microseconds: a token minted in the same second as a "log out
// everywhere" is refused, whichever came first within that second, and a
// token issued in the next second is accepted. A zero IssuedAt counts as
// issued before any revocation. A nil p is reported revoked (fail closed).
func (s *Set) Revoked(p *guard.Principal) bool {
	if p == nil {
		return true
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p.Method == guard.MethodAPIKey {
		return s.hasID(idAPIKey, p.KeyID, now)
	}
	if s.hasID(idToken, p.TokenID, now) || s.hasID(idKey, p.SigningKeyID, now) {
		return true
	}
	if family, _, ok := strings.Cut(p.TokenID, "."); ok && s.hasID(idFamily, family, now) {
		return true
	}
	iat := p.IssuedAt.Unix()
	return s.revokedSince(sinceUser, p.Subject, iat, now) || s.revokedSince(sinceClient, p.ClientID, iat, now)
}

func (s *Set) hasID(kind int, v string, now time.Time) bool {
	if v == "" {
		return false
	}
	exp, ok := s.ids[kind][v]
	return ok && live(exp, now)
}

func (s *Set) revokedSince(kind int, id string, iat int64, now time.Time) bool {
	if id == "" {
		return false
	}
	for _, sp := range s.since[kind][id] {
		if iat <= sp.at && live(sp.exp, now) {
			return true
		}
	}
	return false
}

// LastCutoff returns the latest second (Unix) in which the tokens of user
// subject or of client clientID were revoked "issued at or before", among
// the revocations still in force, and whether there is one. An issuer uses
// it to avoid minting a token that the check above refuses at once: a
// token issued in that second would be (see [Set.Revoked]).
func (s *Set) LastCutoff(subject, clientID string) (int64, bool) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var last int64
	found := false
	for kind, id := range [numSinceKinds]string{sinceUser: subject, sinceClient: clientID} {
		if id == "" {
			continue
		}
		for _, sp := range s.since[kind][id] {
			if live(sp.exp, now) && (!found || sp.at > last) {
				last, found = sp.at, true
			}
		}
	}
	return last, found
}

// Apply adds one feed entry. It is idempotent, so entries may be applied
// more than once and in any order. An entry with an empty Value, an
// unknown Kind or that has already expired changes nothing (beyond the
// cursor). store.RevokeEvent entries are passed to OnEvent instead.
func (s *Set) Apply(r store.Revocation) {
	s.advance(r.Seq)
	now := s.now()
	if r.Kind == store.RevokeEvent {
		s.applyEvent(r, now)
		return
	}
	if r.Value == "" || !live(r.ExpiresAt, now) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Kind {
	case store.RevokeToken:
		s.addID(idToken, r.Value, r.ExpiresAt)
	case store.RevokeFamily:
		s.addID(idFamily, r.Value, r.ExpiresAt)
	case store.RevokeAPIKey:
		s.addID(idAPIKey, r.Value, r.ExpiresAt)
	case store.RevokeKey:
		s.addID(idKey, r.Value, r.ExpiresAt)
	case store.RevokeUser:
		s.addSince(sinceUser, r.Value, span{at: r.At.Unix(), exp: r.ExpiresAt}, now)
	case store.RevokeClient:
		s.addSince(sinceClient, r.Value, span{at: r.At.Unix(), exp: r.ExpiresAt}, now)
	default:
		return // a kind from a newer version: nothing this node can check
	}
	s.noteExpiry(r.ExpiresAt)
	s.sweepIfDue(now)
}

func (s *Set) advance(seq int64) {
	for {
		cur := s.cursor.Load()
		if seq <= cur || s.cursor.CompareAndSwap(cur, seq) {
			return
		}
	}
}

func (s *Set) applyEvent(r store.Revocation, now time.Time) {
	if r.Seq != 0 {
		s.mu.Lock()
		_, seen := s.events[r.Seq]
		if !seen {
			if s.events == nil {
				s.events = make(map[int64]time.Time)
			}
			s.events[r.Seq] = r.ExpiresAt
			s.noteExpiry(r.ExpiresAt)
		}
		s.sweepIfDue(now)
		s.mu.Unlock()
		if seen {
			return
		}
	}
	if s.OnEvent != nil {
		s.OnEvent(r)
	}
}

// addID lists v until exp, keeping the later expiry of duplicates.
func (s *Set) addID(kind int, v string, exp time.Time) {
	m := s.ids[kind]
	if m == nil {
		m = make(map[string]time.Time)
		s.ids[kind] = m
	}
	if old, ok := m[v]; ok && (old.IsZero() || (!exp.IsZero() && !exp.After(old))) {
		return
	}
	m[v] = exp
}

// addSince adds sp to id's spans. The list keeps only spans that no other
// span covers (a span covers another when it revokes a later-or-equal
// second for at least as long), so it is almost always one long.
func (s *Set) addSince(kind int, id string, sp span, now time.Time) {
	m := s.since[kind]
	if m == nil {
		m = make(map[string][]span)
		s.since[kind] = m
	}
	list := m[id]
	for _, old := range list {
		if covers(old, sp) && live(old.exp, now) {
			return
		}
	}
	kept := list[:0]
	for _, old := range list {
		if !covers(sp, old) && live(old.exp, now) {
			kept = append(kept, old)
		}
	}
	kept = append(kept, sp)
	s.spans += len(kept) - len(list)
	m[id] = kept
}

// covers reports whether a revokes everything b does.
func covers(a, b span) bool {
	return a.at >= b.at && (a.exp.IsZero() || (!b.exp.IsZero() && !a.exp.Before(b.exp)))
}

func (s *Set) noteExpiry(exp time.Time) {
	if !exp.IsZero() && (s.nextExpiry.IsZero() || exp.Before(s.nextExpiry)) {
		s.nextExpiry = exp
	}
}

// sweepIfDue sweeps when some entry has expired and the last sweep was at
// least minSweepGap ago. s.mu must be held for writing.
func (s *Set) sweepIfDue(now time.Time) {
	if s.nextExpiry.IsZero() || now.Before(s.nextExpiry) || now.Sub(s.lastSweep) < minSweepGap {
		return
	}
	s.sweep(now)
}

func (s *Set) maybeSweep() {
	now := s.now()
	s.mu.RLock()
	due := !s.nextExpiry.IsZero() && !now.Before(s.nextExpiry) && now.Sub(s.lastSweep) >= minSweepGap
	s.mu.RUnlock()
	if due {
		s.mu.Lock()
		s.sweepIfDue(now)
		s.mu.Unlock()
	}
}

// Len returns the number of revocation entries held, expired ones not yet
// swept included (a user or client revoked at several times may count more
// than once). It is meant for a gauge.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.spans
	for _, m := range s.ids {
		n += len(m)
	}
	return n
}

// Cursor returns the highest feed Seq applied so far (0 if none).
func (s *Set) Cursor() int64 { return s.cursor.Load() }

// Sweep removes every expired entry now and returns how many revocation
// entries it removed.
func (s *Set) Sweep() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweep(now)
}

func (s *Set) sweep(now time.Time) int {
	var (
		removed int
		next    time.Time
	)
	keep := func(exp time.Time) bool {
		if !live(exp, now) {
			return false
		}
		if !exp.IsZero() && (next.IsZero() || exp.Before(next)) {
			next = exp
		}
		return true
	}
	for _, m := range s.ids {
		for v, exp := range m {
			if !keep(exp) {
				delete(m, v)
				removed++
			}
		}
	}
	for _, m := range s.since {
		for id, list := range m {
			kept := list[:0]
			for _, sp := range list {
				if keep(sp.exp) {
					kept = append(kept, sp)
				}
			}
			removed += len(list) - len(kept)
			s.spans -= len(list) - len(kept)
			if len(kept) == 0 {
				delete(m, id)
			} else {
				m[id] = kept
			}
		}
	}
	for seq, exp := range s.events {
		if !keep(exp) {
			delete(s.events, seq)
		}
	}
	s.nextExpiry, s.lastSweep = next, now
	return removed
}
