package guard

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Revocation kinds: the Kind of a [FeedEntry]. gatehouse stores its
// revocations with these kinds and serves them on its feed unchanged.
const (
	RevokeToken  = "jti"    // one access token, Value = jti
	RevokeFamily = "family" // a refresh family (grant): tokens whose jti is FAMILY.ID, Value = FAMILY
	RevokeAPIKey = "apikey" // one API key, Value = key id
	RevokeClient = "client" // tokens of a client issued at or before At, Value = client id
	RevokeUser   = "user"   // tokens of a user issued at or before At ("log out everywhere"), Value = subject
	RevokeKey    = "key"    // every token signed by a key, Value = kid
	RevokeEvent  = "event"  // a notice, not a revocation: something others cache changed (Value names what)
)

// FeedEntry is one entry of gatehouse's revocation feed (the data of a
// "revocation" event on GET /oauth2/revocations).
type FeedEntry struct {
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// DenyList is an in-memory copy of the revocation feed. It implements
// [RevocationChecker] without I/O or allocation: gatehouse keeps one per
// replica, fed from its store, and a [Remote] guard one fed from the
// server's feed.
//
// Entries arrive through [DenyList.Apply] and each is in force while the
// clock is before its ExpiresAt (when the tokens it covers have expired);
// a zero ExpiresAt never expires (gatehouse never sends one). Expired
// entries are dropped when an Apply or [DenyList.SweepIfDue] finds one due,
// at most once a second, and by [DenyList.Sweep], so memory is bounded by
// the entries in force.
//
// A DenyList is safe for concurrent use; [DenyList.Revoked] takes only a
// read lock. The zero value is not usable: use [NewDenyList].
type DenyList struct {
	now func() time.Time

	mu    sync.RWMutex
	ids   [denyIDKinds]map[string]time.Time // value → expiry
	since [denySinceKinds]map[string][]denySpan
	spans int // number of spans in since
	// nextExpiry is the earliest expiry of any entry (zero: none
	// expires), lastSweep when expired entries were last dropped.
	nextExpiry time.Time
	lastSweep  time.Time

	cursor atomic.Int64
}

// Kinds revoked by identifier.
const (
	denyToken = iota
	denyFamily
	denyAPIKey
	denyKey
	denyIDKinds
)

// Kinds revoked by "issued at or before".
const (
	denyUser = iota
	denyClient
	denySinceKinds
)

// denySpan refuses the tokens of one user or client issued in or before
// the second at (Unix seconds) until exp.
type denySpan struct {
	at  int64
	exp time.Time
}

// minSweepGap bounds how often Apply and SweepIfDue sweep.
const minSweepGap = time.Second

// NewDenyList returns an empty deny list on the clock now (nil: time.Now).
func NewDenyList(now func() time.Time) *DenyList {
	if now == nil {
		now = time.Now
	}
	d := &DenyList{now: now}
	for i := range d.ids {
		d.ids[i] = make(map[string]time.Time)
	}
	for i := range d.since {
		d.since[i] = make(map[string][]denySpan)
	}
	return d
}

var _ RevocationChecker = (*DenyList)(nil)

// live reports whether an entry expiring at exp is in force at now.
func live(exp, now time.Time) bool { return exp.IsZero() || now.Before(exp) }

// Revoked implements [RevocationChecker]: it reports whether p's
// credential is revoked at the list's clock.
//
//   - API keys (Method api_key): the key id p.KeyID is listed.
//   - Access tokens (any other method): the jti p.TokenID is listed; or
//     the jti has the form FAMILY.ID and FAMILY is a revoked refresh
//     family; or the signing key p.SigningKeyID is revoked; or the user
//     p.Subject or the client p.ClientID was revoked at a time T with
//     p.IssuedAt <= T.
//
// The last comparison is made in whole seconds (iat and T truncated to
// Unix seconds), because a JWT's iat has second precision while T has
// microseconds: a token minted in the same second as a "log out
// everywhere" is refused, whichever came first within that second, and a
// token issued in the next second is accepted. A zero IssuedAt counts as
// issued before any revocation. A nil p is revoked (fail closed).
func (d *DenyList) Revoked(p *Principal) bool {
	if p == nil {
		return true
	}
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p.Method == MethodAPIKey {
		return d.has(denyAPIKey, p.KeyID, now)
	}
	if d.has(denyToken, p.TokenID, now) || d.has(denyKey, p.SigningKeyID, now) {
		return true
	}
	if family, _, ok := strings.Cut(p.TokenID, "."); ok && d.has(denyFamily, family, now) {
		return true
	}
	iat := p.IssuedAt.Unix()
	return d.revokedSince(denyUser, p.Subject, iat, now) || d.revokedSince(denyClient, p.ClientID, iat, now)
}

func (d *DenyList) has(kind int, v string, now time.Time) bool {
	if v == "" {
		return false
	}
	exp, ok := d.ids[kind][v]
	return ok && live(exp, now)
}

func (d *DenyList) revokedSince(kind int, id string, iat int64, now time.Time) bool {
	if id == "" {
		return false
	}
	for _, sp := range d.since[kind][id] {
		if iat <= sp.at && live(sp.exp, now) {
			return true
		}
	}
	return false
}

// LastCutoff returns the latest second (Unix) in which the tokens of user
// subject or of client clientID were revoked "issued at or before", among
// the revocations in force, and whether there is one. An issuer uses it to
// avoid minting a token that [DenyList.Revoked] would refuse at once, as
// it refuses any token issued in that second.
func (d *DenyList) LastCutoff(subject, clientID string) (int64, bool) {
	now := d.now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	var last int64
	found := false
	for kind, id := range [denySinceKinds]string{denyUser: subject, denyClient: clientID} {
		if id == "" {
			continue
		}
		for _, sp := range d.since[kind][id] {
			if live(sp.exp, now) && (!found || sp.at > last) {
				last, found = sp.at, true
			}
		}
	}
	return last, found
}

// Apply adds one feed entry. It is idempotent, so entries may be applied
// more than once and in any order. The cursor ([DenyList.Cursor]) moves
// to e.Seq if that is higher; beyond that, an entry with an empty Value,
// of an unknown kind (a newer server's) or already expired changes
// nothing, and so does a [RevokeEvent]: it is a notice for caches, not a
// revocation.
func (d *DenyList) Apply(e FeedEntry) {
	d.advance(e.Seq)
	now := d.now()
	if e.Value == "" || !live(e.ExpiresAt, now) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Kind {
	case RevokeToken:
		d.addID(denyToken, e.Value, e.ExpiresAt)
	case RevokeFamily:
		d.addID(denyFamily, e.Value, e.ExpiresAt)
	case RevokeAPIKey:
		d.addID(denyAPIKey, e.Value, e.ExpiresAt)
	case RevokeKey:
		d.addID(denyKey, e.Value, e.ExpiresAt)
	case RevokeUser:
		d.addSince(denyUser, e.Value, denySpan{at: e.At.Unix(), exp: e.ExpiresAt}, now)
	case RevokeClient:
		d.addSince(denyClient, e.Value, denySpan{at: e.At.Unix(), exp: e.ExpiresAt}, now)
	default:
		return
	}
	if !e.ExpiresAt.IsZero() && (d.nextExpiry.IsZero() || e.ExpiresAt.Before(d.nextExpiry)) {
		d.nextExpiry = e.ExpiresAt
	}
	d.sweepIfDue(now)
}

func (d *DenyList) advance(seq int64) {
	for {
		cur := d.cursor.Load()
		if seq <= cur || d.cursor.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// addID lists v until exp, keeping the later expiry of duplicates.
func (d *DenyList) addID(kind int, v string, exp time.Time) {
	if old, ok := d.ids[kind][v]; ok && (old.IsZero() || (!exp.IsZero() && !exp.After(old))) {
		return
	}
	d.ids[kind][v] = exp
}

// addSince adds sp to id's spans. The list keeps only spans that no other
// live span covers, so it is almost always one long.
func (d *DenyList) addSince(kind int, id string, sp denySpan, now time.Time) {
	list := d.since[kind][id]
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
	d.spans += len(kept) - len(list)
	d.since[kind][id] = kept
}

// covers reports whether a revokes everything b does: a later-or-equal
// second for at least as long.
func covers(a, b denySpan) bool {
	return a.at >= b.at && (a.exp.IsZero() || (!b.exp.IsZero() && !a.exp.Before(b.exp)))
}

// Cursor returns the highest feed Seq applied so far (0 if none).
func (d *DenyList) Cursor() int64 { return d.cursor.Load() }

// Len returns the number of entries held, expired ones not yet swept
// included (a user or client revoked at several times may count more than
// once). It is meant for a gauge.
func (d *DenyList) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := d.spans
	for _, m := range d.ids {
		n += len(m)
	}
	return n
}

// Sweep drops every expired entry now and returns how many it dropped.
func (d *DenyList) Sweep() int {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sweep(now)
}

// SweepIfDue drops the expired entries when one is due and the last sweep
// was at least a second ago; otherwise it costs a read lock. A feed calls
// it after each poll, so that memory stays bounded while no entry
// arrives.
func (d *DenyList) SweepIfDue() {
	now := d.now()
	d.mu.RLock()
	due := d.due(now)
	d.mu.RUnlock()
	if due {
		d.mu.Lock()
		d.sweepIfDue(now)
		d.mu.Unlock()
	}
}

// due reports whether an entry has expired and the last sweep was at
// least minSweepGap ago. d.mu must be held.
func (d *DenyList) due(now time.Time) bool {
	return !d.nextExpiry.IsZero() && !now.Before(d.nextExpiry) && now.Sub(d.lastSweep) >= minSweepGap
}

// sweepIfDue sweeps when due. d.mu must be held for writing.
func (d *DenyList) sweepIfDue(now time.Time) {
	if d.due(now) {
		d.sweep(now)
	}
}

func (d *DenyList) sweep(now time.Time) int {
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
	for _, m := range d.ids {
		for v, exp := range m {
			if !keep(exp) {
				delete(m, v)
				removed++
			}
		}
	}
	for _, m := range d.since {
		for id, list := range m {
			kept := list[:0]
			for _, sp := range list {
				if keep(sp.exp) {
					kept = append(kept, sp)
				}
			}
			removed += len(list) - len(kept)
			d.spans -= len(list) - len(kept)
			if len(kept) == 0 {
				delete(m, id)
			} else {
				m[id] = kept
			}
		}
	}
	d.nextExpiry, d.lastSweep = next, now
	return removed
}
