package manage

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

// ErrBusy is returned when the password hasher's queue is full.
var ErrBusy = errors.New("too many logins in progress, try again shortly")

// ThrottledError is returned when login attempts for an account or from an
// address are refused for a while.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins, try again in %s", e.RetryAfter.Round(time.Second))
}

// LoginThrottle counts failed logins per account and per address.
type LoginThrottle interface {
	// Check returns a *ThrottledError-compatible wait when attempts must be
	// refused now, or 0.
	Check(ctx context.Context, account, ip string) (time.Duration, error)
	Failure(ctx context.Context, account, ip string) error
	Success(ctx context.Context, account, ip string) error
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
func (m *Manager) Login(ctx context.Context, a Actor, throttle LoginThrottle, username, pw string) (store.User, error) {
	name, nerr := NormalizeUsername(username)
	if nerr != nil {
		name = username // still throttled and hashed like any other name
	}
	if throttle != nil {
		wait, err := throttle.Check(ctx, name, a.IP)
		if err != nil {
			return store.User{}, fmt.Errorf("check login throttle: %w", err)
		}
		if wait > 0 {
			if ls, ok := throttle.(LockSampler); !ok || ls.RecordLock(name, a.IP) {
				m.record(ctx, a, audit.LoginLocked, m.lockTarget(ctx, name), resultFailure, "throttled")
			}
			return store.User{}, &ThrottledError{RetryAfter: wait}
		}
	}
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
		return store.User{}, lookupErr
	}
	if errors.Is(err, password.ErrBusy) {
		return store.User{}, ErrBusy
	}
	if err != nil && !errors.Is(err, password.ErrMalformedHash) {
		return store.User{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok || u.ID == "" || u.Disabled {
		reason := "bad_credentials"
		if u.ID != "" && u.Disabled && ok {
			reason = "disabled"
		}
		if throttle != nil {
			if terr := throttle.Failure(ctx, name, a.IP); terr != nil && m.Logger != nil {
				m.Logger.WarnContext(ctx, "login throttle failure count", "err", terr)
			}
		}
		target := u.ID
		if target == "" {
			target = "unknown"
		}
		m.record(ctx, a, audit.LoginFailed, target, resultFailure, reason)
		return store.User{}, ErrBadCredentials
	}
	if throttle != nil {
		_ = throttle.Success(ctx, name, a.IP)
	}
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
