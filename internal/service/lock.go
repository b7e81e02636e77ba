package service

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// LockedUntil returns until when failed logins on u are being throttled,
// or nil when they are not (never set, cleared or run out at now).
func LockedUntil(u store.User, now time.Time) *time.Time {
	if u.LockedUntil == nil || !u.LockedUntil.After(now) {
		return nil
	}
	t := *u.LockedUntil
	return &t
}

// Unlock ends the throttling of a user's failed logins: the lock of every
// address that failed too often and the account's slow-down, on every
// replica (through the revocation feed, within its propagation delay), and
// clears LockedUntil. It is audited as user.unlocked.
func (m *Manager) Unlock(ctx context.Context, a audit.Actor, nameOrID string) (store.User, error) {
	u, err := m.FindUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, err
	}
	now := m.now()
	u, err = m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		if u.LockedUntil != nil {
			u.LockedUntil, u.UpdatedAt = nil, now
		}
		return u, nil
	})
	if err != nil {
		return store.User{}, notFound(err, "user", nameOrID)
	}
	m.forgetLogins(ctx, u)
	m.record(ctx, a, audit.UserUnlocked, u.ID, resultSuccess, "")
	return u, nil
}

// forgetLogins tells every replica to forget u's failed logins.
func (m *Manager) forgetLogins(ctx context.Context, u store.User) {
	m.publish(ctx, changes.Change{Kind: changes.Unlock, ID: ratelimit.SubjectDigest(u.Username)})
}

// clearLock is an update step that ends u's recorded lock, reporting in
// *was whether there was one in force at now.
func clearLock(u *store.User, now time.Time, was *bool) {
	*was = LockedUntil(*u, now) != nil
	u.LockedUntil = nil
}

// recordLock notes on the user's row that failed logins on it are
// throttled for lockedFor from now, so that the CLI and the admin API
// (other processes, which cannot see this server's counters) show it. The
// row is written when the lock starts and then at most every half
// lockedFor while failures go on: a rare write, and for existing users
// only (what the client sees does not change).
func (m *Manager) recordLock(ctx context.Context, u store.User, lockedFor time.Duration) {
	now := m.now()
	until := store.Normalize(now.Add(lockedFor))
	if u.LockedUntil != nil && u.LockedUntil.After(now.Add(lockedFor/2)) {
		return
	}
	_, err := m.Store.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		x.LockedUntil = &until
		return x, nil
	})
	if err != nil && m.Logger != nil {
		m.Logger.WarnContext(ctx, "record login lock", "user", u.ID, "err", err)
	}
}

// endLock clears the recorded lock of a user who just logged in: the
// login ended the account's run of failures.
func (m *Manager) endLock(ctx context.Context, u store.User) {
	if u.LockedUntil == nil {
		return
	}
	_, err := m.Store.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) {
		x.LockedUntil = nil
		return x, nil
	})
	if err != nil && m.Logger != nil {
		m.Logger.WarnContext(ctx, "clear login lock", "user", u.ID, "err", fmt.Errorf("update user: %w", err))
	}
}
