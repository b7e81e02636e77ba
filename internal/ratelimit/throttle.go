package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Reasons a [Throttle] refuses a login attempt, in [Decision.Reason].
var (
	// ErrLocked: the account had ThrottleConfig.MaxFailures failures in a
	// row and is locked for ThrottleConfig.LockFor after the last one.
	ErrLocked = errors.New("account temporarily locked after too many failed logins")
	// ErrSlowDown: the account had failures in a row and must wait a
	// growing delay between attempts.
	ErrSlowDown = errors.New("too many failed logins, slow down")
	// ErrTooMany: too many failed logins came from the client's address.
	ErrTooMany = errors.New("too many failed logins from this address")
)

// ThrottleConfig tunes a [Throttle]. Zero fields take the defaults given.
type ThrottleConfig struct {
	// MaxFailures is the number of failures in a row after which an
	// account is locked. Default 10.
	MaxFailures int
	// LockFor is how long an account stays locked after its last failure,
	// and how long a run of failures is remembered. Default 15 minutes.
	LockFor time.Duration
	// DelayAfter is the number of failures in a row that cost nothing;
	// after each further failure the next attempt must wait. Default 3.
	DelayAfter int
	// BaseDelay is the first wait; it doubles with every further failure.
	// Default 1 second.
	BaseDelay time.Duration
	// MaxDelay caps the growing wait. Default 1 minute.
	MaxDelay time.Duration
	// PerIP limits failed logins per client address: Burst failures in a
	// window of Burst/Rate. The default, 100/m, is loose enough for an
	// office of users behind one address.
	PerIP Limit
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
	return c
}

// Throttle slows down and then stops password guessing. It counts failed
// logins per account and per client address:
//
//   - The first DelayAfter failures in a row cost nothing. After the n-th
//     failure, n > DelayAfter, the account must wait
//     min(BaseDelay·2^(n−DelayAfter−1), MaxDelay) before its next attempt
//     (with the defaults: 1 s after the 4th, 2 s after the 5th, … 32 s
//     after the 9th).
//   - After MaxFailures failures in a row it is locked for LockFor.
//   - An address (an IPv6 address by its /64, see [AppendAddrKey]) with
//     PerIP.Burst failures in its window is refused until the window ends.
//
// A success resets the account's run; failures are never reset by a success
// from the same address. The throttle never sleeps: [Throttle.Begin] says
// how long the caller must refuse attempts, and the caller answers at once
// (429 with Retry-After) without checking the password. Sleeping instead
// would tie up a goroutine and a connection per guess and hand an attacker
// a cheap way to exhaust the server.
//
// Attempts are counted before the password is checked, not after: Begin
// reserves the attempt in every count it is subject to, each an atomic
// bounded increment, and [Attempt.Fail] keeps the reservation while
// [Attempt.Succeed] and [Attempt.Cancel] give it back. However many
// attempts run at once — on one node, or on every replica sharing Redis —
// no more than the limits allow are ever checked.
//
// Accounts are the normalised usernames, whether or not such a user exists:
// the caller must record failures for unknown names too, so that throttling
// never reveals which accounts exist. Account names are stored hashed.
type Throttle struct {
	counters Counters
	cfg      ThrottleConfig
}

// Decision is a refusal by [Throttle.Begin].
type Decision struct {
	// Wait is how long attempts must be refused; 0 allows an attempt now.
	Wait time.Duration
	// Reason is ErrLocked, ErrSlowDown or ErrTooMany when Wait > 0.
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
	reserved []string // counters this attempt holds one of, to give back
	account  string   // accountKey
	gate     string   // the slow-down gate it took, or ""
}

// Begin reserves an attempt for account from ip, or refuses it: when the
// Decision's Wait is positive the attempt must be refused for that long
// (and the *Attempt is nil). It returns an error only when the counter
// store fails, having given back what it reserved. An empty ip skips the
// per-address limit.
func (t *Throttle) Begin(ctx context.Context, account, ip string) (*Attempt, Decision, error) {
	a := &Attempt{t: t, account: accountKey(account)}
	refuse := func(wait time.Duration, reason error) (*Attempt, Decision, error) {
		a.Cancel(ctx)
		return nil, Decision{Wait: max(wait, time.Millisecond), Reason: reason}, nil
	}
	fail := func(err error) (*Attempt, Decision, error) {
		a.Cancel(ctx)
		return nil, Decision{}, fmt.Errorf("login throttle: %w", err)
	}
	if ip != "" {
		c, ok, err := t.counters.Incr(ctx, ipKey(ip), int64(t.cfg.PerIP.burst()), t.ipWindow(), false)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return refuse(c.TTL, ErrTooMany)
		}
		a.reserved = append(a.reserved, ipKey(ip))
	}
	c, ok, err := t.counters.Incr(ctx, a.account, int64(t.cfg.MaxFailures), t.cfg.LockFor, true)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return refuse(c.TTL, ErrLocked)
	}
	a.reserved = append(a.reserved, a.account)
	if n := int(c.N); n > t.cfg.DelayAfter {
		// The n-th attempt of a run, if it fails, makes the next wait
		// delay(n): it holds the account's gate that long, and no other
		// attempt may start meanwhile.
		g, ok, err := t.counters.Incr(ctx, gateKey(a.account), 1, t.delay(n), false)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return refuse(g.TTL, ErrSlowDown)
		}
		a.gate = gateKey(a.account)
	}
	return a, Decision{}, nil
}

// Fail records that the attempt failed: its reservations stay counted.
func (a *Attempt) Fail(context.Context) error { return nil }

// Succeed records that the attempt succeeded: the account's run of
// failures ends; the address's count keeps its earlier failures (one good
// password must not license more guessing from the same place) but not
// this attempt.
func (a *Attempt) Succeed(ctx context.Context) error {
	if a == nil {
		return nil
	}
	var errs []error
	for _, k := range a.reserved {
		if k == a.account {
			continue
		}
		errs = append(errs, a.t.counters.Decr(ctx, k))
	}
	errs = append(errs, a.t.counters.Delete(ctx, a.account), a.t.counters.Delete(ctx, gateKey(a.account)))
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
	if a.gate != "" {
		_ = a.t.counters.Delete(ctx, a.gate)
	}
	a.reserved, a.gate = nil, ""
}

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

// gateKey is the slow-down gate of the account with key acct.
func gateKey(acct string) string { return "gate:" + acct }

// accountKey hashes the account name: usernames are personal data, may be
// long, and are chosen by whoever types into the login form.
func accountKey(account string) string {
	sum := sha256.Sum256([]byte(account))
	return "acct:" + hex.EncodeToString(sum[:16])
}

// ipKey groups addresses as every per-address limit does (AddrKey).
func ipKey(ip string) string { return "ip:" + AddrKey(ip) }
