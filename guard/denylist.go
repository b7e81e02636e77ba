package guard

import (
	"strings"
	"sync"
	"time"
)

// Revocation kinds carried by the feed (the "kind" of a [FeedEntry]).
const (
	RevokeToken  = "jti"    // one access token, Value = jti
	RevokeFamily = "family" // tokens whose jti is FAMILY.ID, Value = FAMILY
	RevokeAPIKey = "apikey" // Value = API key id
	RevokeClient = "client" // tokens of a client issued at or before At
	RevokeUser   = "user"   // tokens of a user issued at or before At
	RevokeKey    = "key"    // every token signed by a key, Value = kid
	RevokeEvent  = "event"  // a notice, not a revocation (Value names what changed)
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

// DenyList is a remote guard's in-memory copy of the revocation feed. It
// implements [RevocationChecker] without I/O or allocation. Each entry is
// kept until its ExpiresAt (when the tokens it covers have expired) and
// then dropped, so memory is bounded by the entries in force. It is safe
// for concurrent use; the zero value is not usable, use [NewDenyList].
type DenyList struct {
	now func() time.Time

	mu         sync.RWMutex
	ids        [denyIDKinds]map[string]time.Time // value → expiry
	since      [denySinceKinds]map[string][]denySpan
	nextExpiry time.Time
	lastSweep  time.Time
}

const (
	denyToken = iota
	denyFamily
	denyAPIKey
	denyKey
	denyIDKinds
)

const (
	denyUser = iota
	denyClient
	denySinceKinds
)

// denySpan refuses tokens issued in or before the second at until exp.
type denySpan struct {
	at  int64
	exp time.Time
}

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

// Revoked implements [RevocationChecker] with the same rules as the
// server: an API key by its id; an access token by its jti, its family
// (the part of the jti before the first "."), its signing key, or its user
// or client when it was issued in or before the second of a revocation of
// them. A nil p is revoked.
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
	return ok && now.Before(exp)
}

func (d *DenyList) revokedSince(kind int, id string, iat int64, now time.Time) bool {
	if id == "" {
		return false
	}
	for _, sp := range d.since[kind][id] {
		if iat <= sp.at && now.Before(sp.exp) {
			return true
		}
	}
	return false
}

// Apply adds one feed entry; it is idempotent. Entries of unknown kinds,
// without a value, or already expired change nothing.
func (d *DenyList) Apply(e FeedEntry) {
	now := d.now()
	if e.Value == "" || !now.Before(e.ExpiresAt) {
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
	if d.nextExpiry.IsZero() || e.ExpiresAt.Before(d.nextExpiry) {
		d.nextExpiry = e.ExpiresAt
	}
	if !now.Before(d.nextExpiry) && now.Sub(d.lastSweep) >= time.Second {
		d.sweep(now)
	}
}

func (d *DenyList) addID(kind int, v string, exp time.Time) {
	if old, ok := d.ids[kind][v]; ok && !exp.After(old) {
		return
	}
	d.ids[kind][v] = exp
}

// addSince keeps only spans that no other live span covers (revokes a
// later-or-equal second for at least as long).
func (d *DenyList) addSince(kind int, id string, sp denySpan, now time.Time) {
	list := d.since[kind][id]
	for _, old := range list {
		if old.at >= sp.at && !old.exp.Before(sp.exp) && now.Before(old.exp) {
			return
		}
	}
	kept := make([]denySpan, 0, len(list)+1)
	for _, old := range list {
		if !(sp.at >= old.at && !sp.exp.Before(old.exp)) && now.Before(old.exp) {
			kept = append(kept, old)
		}
	}
	d.since[kind][id] = append(kept, sp)
}

// Sweep drops every expired entry and returns how many it dropped.
func (d *DenyList) Sweep() int {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sweep(now)
}

func (d *DenyList) sweep(now time.Time) int {
	removed := 0
	var next time.Time
	keep := func(exp time.Time) bool {
		if !now.Before(exp) {
			return false
		}
		if next.IsZero() || exp.Before(next) {
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

// Len returns the number of entries held (expired ones not yet swept
// included).
func (d *DenyList) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := 0
	for _, m := range d.ids {
		n += len(m)
	}
	for _, m := range d.since {
		for _, l := range m {
			n += len(l)
		}
	}
	return n
}
