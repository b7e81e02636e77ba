package password

import (
	"sync/atomic"
	"time"
)

// DefaultMaxWait is the wait budget of a [Hasher] whose Config.MaxWait is
// zero: a caller queues for a hashing slot while the wait it can expect is
// at most this long.
const DefaultMaxWait = 2 * time.Second

// initialHashTime is what a hash is assumed to take until one has been
// timed: on the slow side of argon2id with the default parameters, so that
// a burst right after start is not queued beyond the budget.
const initialHashTime = 100 * time.Millisecond

// maxQueuePerSlot bounds the queue whatever the estimate says (a hash
// timed at a few microseconds, say with test parameters, would otherwise
// admit any number of waiters).
const maxQueuePerSlot = 128

// BusyError is the error of a caller refused because the wait for a
// hashing slot would exceed the budget. errors.Is(err, [ErrBusy]) holds.
type BusyError struct {
	// RetryAfter is the wait the queue ahead is expected to take: when a
	// retry has a fair chance of being queued.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return ErrBusy.Error() + ": expected wait " + e.RetryAfter.Round(time.Millisecond).String()
}

// Is makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// waitEstimate is the expected cost of one hash: the time a hashing slot
// is held, as an exponentially weighted mean (weight 1/8) of the recent
// hashes, so that it follows the machine's load within a few dozen
// logins. The zero value assumes initialHashTime until the first hash.
// It is safe for concurrent use.
type waitEstimate struct {
	ns atomic.Int64 // the mean in nanoseconds; 0 before the first hash
}

// observe records one hash that held its slot for d.
func (e *waitEstimate) observe(d time.Duration) {
	d = max(d, time.Nanosecond)
	for {
		old := e.ns.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if e.ns.CompareAndSwap(old, max(next, 1)) {
			return
		}
	}
}

// mean returns the expected time one hash holds a slot.
func (e *waitEstimate) mean() time.Duration {
	if ns := e.ns.Load(); ns != 0 {
		return time.Duration(ns)
	}
	return initialHashTime
}

// wait returns how long a caller at position (1 = first in line) of the
// queue can expect to wait for one of slots slots.
func (e *waitEstimate) wait(position, slots int64) time.Duration {
	return time.Duration(position * int64(e.mean()) / max(slots, 1))
}
