package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Reasons a [Throttle] refuses an attempt, in [Decision.Reason].
var (
	// ErrTooMany: too many failures came from the client's address (an
	// IPv6 address by its /64), whatever they guessed at.
	ErrTooMany = errors.New("too many failed attempts from this address")
	// ErrLocked: this address failed ThrottleConfig.MaxFailures times in a
	// row at this subject and is locked out of it for
	// ThrottleConfig.LockFor after the last failure. Other addresses are
	// not.
	ErrLocked = errors.New("too many failed attempts at this account from this address")
	// ErrSlowDown: the subject had failures in a row, from any addresses,
	// and must wait a growing delay between attempts.
	ErrSlowDown = errors.New("too many failed attempts at this account, slow down")
)

// ThrottleConfig tunes a [Throttle]. Zero fields take the defaults given.
type ThrottleConfig struct {
	// MaxFailures is the number of failures in a row from one address at
	// one subject after which that address is locked out of that subject
	// for LockFor. Default 10.
	MaxFailures int
	// LockFor is how long such a lock lasts after its last failure, and
	// how long a subject's run of failures is remembered. Default 15
	// minutes.
	LockFor time.Duration
	// DelayAfter is the number of failures in a row at a subject, from
	// any addresses, that cost nothing; after each further failure the
	// next attempt must wait. Default 3.
	DelayAfter int
	// BaseDelay is the first wait; it doubles with every further failure.
	// Default 1 second.
	BaseDelay time.Duration
	// MaxDelay caps the growing wait. Default 1 minute.
	MaxDelay time.Duration
	// PerIP limits failures per client address: Burst failures in a
	// window of Burst/Rate. The default, 100/m, is loose enough for an
	// office of users behind one address.
	PerIP Limit
	// KnownFor is how long after its last success at a subject an address
	// skips that subject's slow-down. Default 30 days.
	KnownFor time.Duration
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = 10
	}
	if c.LockFor <= 0 {
		c.LockFor = 15 * time.Minute
	}
	if c.DelayAfter <= 0 {
		c.DelayAfter = 3
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = time.Minute
	}
	if c.PerIP.Unlimited() {
		c.PerIP = Limit{Rate: 100.0 / 60, Burst: 100}
	}
	if c.KnownFor <= 0 {
		c.KnownFor = 30 * 24 * time.Hour
	}
	return c
}

// Throttle limits the guessing of a secret that a person holds: a password
// (its first user), and later one-time codes, recovery codes and device
// user codes. What the secret opens is the subject (an account, a pending
// device authorization); who guesses is a client address. It locks the
// attacker, not the subject's owner:
//
//  1. Per address (an IPv6 address by its /64, see [AppendAddrKey]):
//     PerIP.Burst failures in a window of Burst/PerIP.Rate, whatever they
//     guessed at; then the address is refused until the window ends
//     ([ErrTooMany]).
//  2. Per address and subject: after MaxFailures failures in a row that
//     address is locked out of that subject for LockFor after the last
//     ([ErrLocked]). Other addresses are not.
//  3. Per subject, from all addresses together: the first DelayAfter
//     failures in a row cost nothing; after the n-th, n > DelayAfter, the
//     next attempt must wait min(BaseDelay·2^(n−DelayAfter−1), MaxDelay)
//     (with the defaults 1 s after the 4th, 2 s after the 5th, … at most a
//     minute) ([ErrSlowDown]). The subject is slowed, never locked: no
//     one can keep its owner out for longer than MaxDelay at a time. An
//     address that succeeded at the subject within KnownFor skips this
//     slow-down (it keeps its own limits 1 and 2). Only there does the
//     throttle treat a real subject differently from a made-up one, and
//     only for an address the owner used (several people behind one
//     NAT could tell that the subject exists).
//
// A success ends the subject's run and its address's lock; failures are
// never taken back from the address's count by a success (one good
// password must not license more guessing from the same place).
// [Throttle.Forget] ends a subject's run and every address's lock on it at
// once (an admin's unlock). A subject's run is remembered for LockFor
// after its last failure.
//
// The throttle never sleeps: [Throttle.Begin] says how long the caller
// must refuse attempts, and the caller answers at once (429 with
// Retry-After) without checking the secret. Sleeping instead would tie up
// a goroutine and a connection per guess and hand an attacker a cheap way
// to exhaust the server.
//
// Attempts are counted before the secret is checked, not after: Begin
// reserves the attempt in every count it is subject to, each an atomic
// bounded increment, and [Attempt.Fail] keeps the reservation while
// [Attempt.Succeed] and [Attempt.Cancel] give it back. However many
// attempts run at once — on one node, or on every replica sharing Redis —
// no more than the limits allow are ever checked.
//
// Subjects are named by the caller (normalised usernames for logins),
// whether or not they exist: the caller must count failures for unknown
// names too, so that throttling never reveals which accounts exist.
// Subject names are stored hashed ([SubjectDigest]).
type Throttle struct {
	counters Counters
	cfg      ThrottleConfig
}

// Decision is a refusal by [Throttle.Begin].
type Decision struct {
	// Wait is how long attempts must be refused; 0 allows an attempt now.
	Wait time.Duration
	// Reason is ErrTooMany, ErrLocked or ErrSlowDown when Wait > 0.
	Reason error
}

// NewThrottle returns a throttle keeping its counts in counters (a
// [MemoryCounters] on one node, [RedisCounters] across replicas).
func NewThrottle(counters Counters, cfg ThrottleConfig) *Throttle {
	return &Throttle{counters: counters, cfg: cfg.withDefaults()}
}

// Config returns the configuration in effect, defaults filled in.
func (t *Throttle) Config() ThrottleConfig { return t.cfg }

// Attempt is one attempt reserved by [Throttle.Begin]. Exactly one of Fail,
// Succeed and Cancel must be called once the secret has been checked (or
// could not be). A nil *Attempt does nothing.
type Attempt struct {
	t        *Throttle
	keys     subjectKeys
	reserved []string // counters this attempt holds one of, to give back
	gate     bool     // it holds the subject's slow-down gate
	run      int64    // its place in the subject's run of failures
	pair     int64    // its place in the address's run at the subject
}

// subjectKeys are the counter keys of one subject and address.
type subjectKeys struct {
	ip    string // the address's failures; "" without an address
	pair  string // the address's run at the subject
	run   string // the subject's run, all addresses
	gate  string // the subject's slow-down gate
	known string // the address succeeded at the subject
}

func (t *Throttle) keysFor(ctx context.Context, subject, ip string) (subjectKeys, error) {
	d := SubjectDigest(subject)
	// The epoch changes when the subject is forgotten: every key of the
	// old one is abandoned at once and expires with its counter.
	epoch, err := t.counters.Get(ctx, epochKey(d))
	if err != nil {
		return subjectKeys{}, err
	}
	at := d + "." + strconv.FormatInt(epoch.N, 10)
	addr := "-"
	k := subjectKeys{run: "acct:" + at, gate: "gate:" + at}
	if ip != "" {
		addr = AddrKey(ip)
		k.ip = ipKey(ip)
		k.known = "known:" + d + ":" + addr
	}
	k.pair = "pair:" + at + ":" + addr
	return k, nil
}

// Begin reserves an attempt at subject from ip, or refuses it: when the
// Decision's Wait is positive the attempt must be refused for that long
// (and the *Attempt is nil). It returns an error only when the counter
// store fails, having given back what it reserved. An empty ip skips the
// per-address limit and counts as one address for the others.
func (t *Throttle) Begin(ctx context.Context, subject, ip string) (*Attempt, Decision, error) {
	keys, err := t.keysFor(ctx, subject, ip)
	if err != nil {
		return nil, Decision{}, fmt.Errorf("login throttle: %w", err)
	}
	a := &Attempt{t: t, keys: keys}
	refuse := func(wait time.Duration, reason error) (*Attempt, Decision, error) {
		a.Cancel(ctx)
		return nil, Decision{Wait: max(wait, time.Millisecond), Reason: reason}, nil
	}
	fail := func(err error) (*Attempt, Decision, error) {
		a.Cancel(ctx)
		return nil, Decision{}, fmt.Errorf("login throttle: %w", err)
	}
	if keys.ip != "" {
		c, ok, err := t.counters.Incr(ctx, keys.ip, int64(t.cfg.PerIP.burst()), t.ipWindow(), false)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return refuse(c.TTL, ErrTooMany)
		}
		a.reserved = append(a.reserved, keys.ip)
	}
	c, ok, err := t.counters.Incr(ctx, keys.pair, int64(t.cfg.MaxFailures), t.cfg.LockFor, true)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return refuse(c.TTL, ErrLocked)
	}
	a.reserved, a.pair = append(a.reserved, keys.pair), c.N
	c, _, err = t.counters.Incr(ctx, keys.run, 0, t.cfg.LockFor, true)
	if err != nil {
		return fail(err)
	}
	a.reserved, a.run = append(a.reserved, keys.run), c.N
	if n := int(c.N); n > t.cfg.DelayAfter {
		if keys.known != "" {
			known, err := t.counters.Get(ctx, keys.known)
			if err != nil {
				return fail(err)
			}
			if known.N > 0 {
				return a, Decision{}, nil
			}
		}
		// The n-th attempt of a run, if it fails, makes the next wait
		// delay(n): it holds the subject's gate that long, and no other
		// attempt may start meanwhile.
		g, ok, err := t.counters.Incr(ctx, keys.gate, 1, t.delay(n), false)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return refuse(g.TTL, ErrSlowDown)
		}
		a.gate = true
	}
	return a, Decision{}, nil
}

// Fail records that the attempt failed: its reservations stay counted. It
// returns how long the subject stays throttled (slowed down, or this
// address locked out) if it now is — the subject's run is remembered that
// long — and 0 if it is not.
func (a *Attempt) Fail(context.Context) (time.Duration, error) {
	if a == nil {
		return 0, nil
	}
	if a.run > int64(a.t.cfg.DelayAfter) || a.pair >= int64(a.t.cfg.MaxFailures) {
		return a.t.cfg.LockFor, nil
	}
	return 0, nil
}

// Succeed records that the attempt succeeded: the subject's run and this
// address's lock on it end, and the address is known to the subject for
// KnownFor; the address's count of failures keeps the earlier ones but not
// this attempt.
func (a *Attempt) Succeed(ctx context.Context) error {
	if a == nil {
		return nil
	}
	k := a.keys
	var errs []error
	if k.ip != "" {
		errs = append(errs, a.t.counters.Decr(ctx, k.ip))
	}
	for _, key := range []string{k.pair, k.run, k.gate} {
		errs = append(errs, a.t.counters.Delete(ctx, key))
	}
	if k.known != "" {
		_, _, err := a.t.counters.Incr(ctx, k.known, 0, a.t.cfg.KnownFor, true)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// Cancel gives the attempt back: the secret was not checked (the hasher
// was busy, the user could not be read).
func (a *Attempt) Cancel(ctx context.Context) {
	if a == nil {
		return
	}
	for _, k := range a.reserved {
		_ = a.t.counters.Decr(ctx, k)
	}
	if a.gate {
		_ = a.t.counters.Delete(ctx, a.keys.gate)
	}
	a.reserved, a.gate = nil, false
}

// epochTTL is how long a subject's epoch outlives the last Forget. Keys of
// the epoch before expire LockFor after it (nothing touches them any
// more); an epoch that expires puts the subject back at epoch 0, whose keys
// have long gone.
const epochTTL = 7 * 24 * time.Hour

// Forget ends the run of failures of the subject whose [SubjectDigest] is
// digest, and the lock of every address on it, at once; addresses it
// knows stay known. It is how an admin's unlock reaches the counters (on
// every replica: the digest travels in the revocation feed, so that the
// subject's name does not).
func (t *Throttle) Forget(ctx context.Context, digest string) error {
	if b, err := hex.DecodeString(digest); err != nil || len(b) != digestLen {
		return fmt.Errorf("login throttle: forget: malformed subject digest %q", digest)
	}
	if _, _, err := t.counters.Incr(ctx, epochKey(digest), 0, epochTTL, true); err != nil {
		return fmt.Errorf("login throttle: forget: %w", err)
	}
	return nil
}

// digestLen is the length in bytes of a subject digest.
const digestLen = 16

// SubjectDigest is the name under which a subject's counts are kept: 128
// bits of SHA-256 of the name, in hex. Usernames are personal data, may be
// long, and are chosen by whoever types into the login form.
func SubjectDigest(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return hex.EncodeToString(sum[:digestLen])
}

func epochKey(digest string) string { return "epoch:" + digest }

// delay is the wait after the n-th failure in a row, n > DelayAfter.
func (t *Throttle) delay(n int) time.Duration {
	shift := n - t.cfg.DelayAfter - 1
	if shift >= 30 {
		return t.cfg.MaxDelay
	}
	return min(t.cfg.BaseDelay<<shift, t.cfg.MaxDelay)
}

// ipWindow is the window of the per-address failure count: the time the
// limit takes to grant a full burst.
func (t *Throttle) ipWindow() time.Duration {
	l := t.cfg.PerIP
	w := float64(l.burst()) / l.Rate * float64(time.Second)
	const maxWindow = 365 * 24 * time.Hour
	if w > float64(maxWindow) {
		return maxWindow
	}
	return max(time.Millisecond, time.Duration(w))
}

// ipKey groups addresses as every per-address limit does (AddrKey).
func ipKey(ip string) string { return "ip:" + AddrKey(ip) }
