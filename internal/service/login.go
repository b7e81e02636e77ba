package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrBadCredentials is returned for an unknown user, a wrong password and a
// disabled account alike, so that the answer never reveals which it was.
var ErrBadCredentials = errors.New("invalid username or password")

// ErrBusy is returned (wrapped) when the password hasher would make the
// login wait longer than its wait budget, or its worker is restarting;
// [BusyRetryAfter] says when to try again.
var ErrBusy = errors.New("too many logins in progress, try again shortly")

// BusyRetryAfter returns when a login refused with ErrBusy may be tried
// again: the wait the hasher expects for the logins already queued, at
// least a second.
func BusyRetryAfter(err error) time.Duration {
	var be *password.BusyError
	if errors.As(err, &be) {
		return max(be.RetryAfter, time.Second)
	}
	return time.Second
}

// ThrottledError is returned when login attempts for an account or from an
// address are refused for a while.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins, try again in %s", e.RetryAfter.Round(time.Second))
}

// LoginThrottle counts login attempts per account and per address before
// the password is checked (ratelimit.Throttle), so that attempts running
// at once cannot get more passwords checked than the limits allow.
type LoginThrottle interface {
	// Begin reserves an attempt for account from ip, or returns how long
	// attempts must be refused (a positive wait and no attempt).
	Begin(ctx context.Context, account, ip string) (LoginAttempt, time.Duration, error)
}

// LoginAttempt is an attempt reserved by LoginThrottle.Begin; exactly one
// of its methods is called once the password has been checked, or could
// not be.
type LoginAttempt interface {
	// Fail returns how long the account stays throttled after this
	// failure if it now is (slowed down, or this address locked out), or
	// 0.
	Fail(ctx context.Context) (time.Duration, error)
	Succeed(ctx context.Context) error
	Cancel(ctx context.Context)
}

// LockSampler is implemented by a LoginThrottle that samples login.locked
// events: during a guessing flood every refused attempt would otherwise
// cost an audit row. RecordLock reports whether this refusal should be
// recorded.
type LockSampler interface {
	RecordLock(account, ip string) bool
}

// lockTarget is the target of a login.locked event: the username when it
// names an account, else "unknown", as for login.failed. What was typed as
// a username is often a password typed one field too early.
func (m *Manager) lockTarget(ctx context.Context, name string) string {
	if _, err := m.Store.GetUserByUsername(ctx, name); err != nil {
		return "unknown"
	}
	return name
}

// Login checks a username and password. It costs one password hash whatever
// happens (an unknown user is checked against a dummy hash), upgrades old or
// weaker hashes on success and records login.succeeded or login.failed.
func (m *Manager) Login(ctx context.Context, a audit.Actor, throttle LoginThrottle, username, pw string) (store.User, error) {
	name, nerr := NormalizeUsername(username)
	if nerr != nil {
		name = username // still throttled and hashed like any other name
	}
	var attempt LoginAttempt = noAttempt{}
	if throttle != nil {
		at, wait, err := throttle.Begin(ctx, name, a.IP)
		if err != nil {
			return store.User{}, fmt.Errorf("check login throttle: %w", err)
		}
		if wait > 0 {
			if ls, ok := throttle.(LockSampler); !ok || ls.RecordLock(name, a.IP) {
				m.record(ctx, a, audit.LoginLocked, m.lockTarget(ctx, name), resultFailure, "throttled")
			}
			return store.User{}, &ThrottledError{RetryAfter: wait}
		}
		attempt = at
	}
	// The attempt is settled even if the client goes away meanwhile: a
	// reservation left behind would count against the limits until it
	// expires.
	settle := context.WithoutCancel(ctx)
	// The user is read only once a hashing slot is held, so that an attempt
	// refused because the hasher is full costs no query.
	var u store.User
	var lookupErr error
	ok, rehash, err := m.Hasher.VerifyLookup(ctx, func() (string, error) {
		if nerr != nil {
			return "", nil // no such user can exist; hash the dummy
		}
		var gerr error
		u, gerr = m.Store.GetUserByUsername(ctx, name)
		if gerr != nil && !errors.Is(gerr, store.ErrNotFound) {
			lookupErr = fmt.Errorf("get user: %w", gerr)
			return "", lookupErr
		}
		return u.PasswordHash, nil
	}, pw)
	if lookupErr != nil {
		attempt.Cancel(settle)
		return store.User{}, lookupErr
	}
	if errors.Is(err, password.ErrBusy) {
		attempt.Cancel(settle)
		return store.User{}, fmt.Errorf("%w (%w)", ErrBusy, err)
	}
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		attempt.Cancel(settle)
		return store.User{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.ID == "" || u.Disabled {
		reason := "bad_credentials"
		if u.ID != "" && u.Disabled && ok {
			reason = "disabled"
		}
		lockedFor, terr := attempt.Fail(settle)
		if terr != nil && m.Logger != nil {
			m.Logger.WarnContext(ctx, "login throttle failure count", "err", terr)
		}
		if lockedFor > 0 && u.ID != "" {
			m.recordLock(settle, u, lockedFor)
		}
		target := u.ID
		if target == "" {
			target = "unknown"
		}
		m.record(ctx, a, audit.LoginFailed, target, resultFailure, reason)
		return store.User{}, ErrBadCredentials
	}
	if terr := attempt.Succeed(settle); terr != nil && m.Logger != nil {
		m.Logger.WarnContext(ctx, "login throttle success", "err", terr)
	}
	m.endLock(settle, u)
	if rehash {
		if h, herr := m.Hasher.Hash(ctx, pw); herr == nil {
			if _, uerr := m.Store.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) {
				if x.PasswordHash == u.PasswordHash { // not changed meanwhile
					x.PasswordHash = h
				}
				return x, nil
			}); uerr != nil && m.Logger != nil {
				m.Logger.WarnContext(ctx, "password rehash failed", "user", u.ID, "err", uerr)
			}
		}
	}
	a.ID = u.ID
	m.record(ctx, a, audit.LoginSucceeded, u.ID, resultSuccess, "")
	return u, nil
}

// noAttempt is the attempt of a login without a throttle.
type noAttempt struct{}

func (noAttempt) Fail(context.Context) (time.Duration, error) { return 0, nil }
func (noAttempt) Succeed(context.Context) error               { return nil }
func (noAttempt) Cancel(context.Context)                      {}
