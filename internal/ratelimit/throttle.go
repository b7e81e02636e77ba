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
// from the same address. The throttle never sleeps: [Throttle.Check] says
// how long the caller must refuse attempts, and the caller answers at once
// (429 with Retry-After) without checking the password. Sleeping instead
// would tie up a goroutine and a connection per guess and hand an attacker
// a cheap way to exhaust the server.
//
// Check and Failure are separate steps: attempts that run concurrently may
// all pass Check before the first Failure is counted, so a run can overshoot
// MaxFailures by the number of attempts in flight. The per-address limit and
// the password hasher's bounded concurrency keep that number small.
//
// Accounts are the normalised usernames, whether or not such a user exists:
// the caller must record failures for unknown names too, so that throttling
// never reveals which accounts exist. Account names are stored hashed.
type Throttle struct {
	counters Counters
	cfg      ThrottleConfig
}

// Decision is the outcome of [Throttle.Decide].
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

// Check reports how long login attempts for account from ip must be refused,
// or 0 if one may be tried now. It returns an error only when the counter
// store fails. Check has the shape of manage.LoginThrottle; [Throttle.Decide]
// also tells why.
func (t *Throttle) Check(ctx context.Context, account, ip string) (time.Duration, error) {
	d, err := t.Decide(ctx, account, ip)
	return d.Wait, err
}

// Decide is [Throttle.Check] with the reason. When several reasons apply,
// the one with the longest wait wins. An empty ip skips the per-address
// limit.
func (t *Throttle) Decide(ctx context.Context, account, ip string) (Decision, error) {
	var d Decision
	acct, err := t.counters.Get(ctx, accountKey(account))
	if err != nil {
		return Decision{}, fmt.Errorf("login throttle: %w", err)
	}
	switch n := int(acct.N); {
	case n >= t.cfg.MaxFailures:
		d = longer(d, acct.TTL, ErrLocked)
	case n > t.cfg.DelayAfter:
		// Each failure set the counter to expire LockFor later, so its
		// age tells the time since the last failure.
		since := t.cfg.LockFor - acct.TTL
		d = longer(d, t.delay(n)-since, ErrSlowDown)
	}
	if ip != "" {
		c, err := t.counters.Get(ctx, ipKey(ip))
		if err != nil {
			return Decision{}, fmt.Errorf("login throttle: %w", err)
		}
		if c.N >= int64(t.cfg.PerIP.burst()) {
			d = longer(d, c.TTL, ErrTooMany)
		}
	}
	return d, nil
}

// Failure records a failed login for account from ip (an empty ip is not
// counted per address).
func (t *Throttle) Failure(ctx context.Context, account, ip string) error {
	if _, err := t.counters.Incr(ctx, accountKey(account), t.cfg.LockFor, true); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if ip != "" {
		if _, err := t.counters.Incr(ctx, ipKey(ip), t.ipWindow(), false); err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
	}
	return nil
}

// Success ends the account's run of failures. The address's count stays:
// one good password must not license more guessing from the same place.
func (t *Throttle) Success(ctx context.Context, account, _ string) error {
	if err := t.counters.Delete(ctx, accountKey(account)); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
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

func longer(d Decision, wait time.Duration, reason error) Decision {
	if wait > d.Wait {
		return Decision{Wait: wait, Reason: reason}
	}
	return d
}

// accountKey hashes the account name: usernames are personal data, may be
// long, and are chosen by whoever types into the login form.
func accountKey(account string) string {
	sum := sha256.Sum256([]byte(account))
	return "acct:" + hex.EncodeToString(sum[:16])
}

// ipKey groups addresses as every per-address limit does (AddrKey).
func ipKey(ip string) string { return "ip:" + AddrKey(ip) }
