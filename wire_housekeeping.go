package gatehouse

import (
	"context"
	"time"
)

// This file wires the janitor: rows that can no longer matter are deleted
// once an hour, so the database stays bounded by what is live (as the
// in-memory revocation state already is). On several replicas each one
// runs it; the deletes are idempotent.

const (
	housekeepingInterval = time.Hour
	// housekeepingMargin keeps rows this long past their expiry, so a
	// clock that is a little behind on another replica never finds a row
	// it still needs gone.
	housekeepingMargin = time.Hour
)

// startHousekeeping runs housekeep once an hour, the first time a minute
// after start (not during start-up, when replicas begin together).
func (s *Server) startHousekeeping(ctx context.Context, run func(func(context.Context))) {
	run(func(ctx context.Context) {
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.housekeep(ctx)
			t.Reset(housekeepingInterval)
		}
	})
}

// housekeep deletes expired authorization codes, login sessions, refresh
// tokens whose family has ended, and revocation entries whose tokens have
// all expired, each a margin after its expiry. It returns how many rows of
// each kind went; errors are logged and do not stop the other deletes.
func (s *Server) housekeep(ctx context.Context) map[string]int64 {
	before := s.cfg.Now().Add(-housekeepingMargin)
	out := map[string]int64{}
	for _, d := range []struct {
		what string
		del  func(context.Context, time.Time) (int64, error)
	}{
		{"auth_codes", s.db.DeleteExpiredAuthCodes},
		{"sessions", s.db.DeleteExpiredSessions},
		{"refresh_tokens", s.db.DeleteExpiredRefreshTokens},
		{"revocations", s.db.DeleteExpiredRevocations},
	} {
		n, err := d.del(ctx, before)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.ErrorContext(ctx, "housekeeping: delete expired rows", "table", d.what, "err", err)
		case n > 0:
			s.log.InfoContext(ctx, "housekeeping: deleted expired rows", "table", d.what, "rows", n)
		}
		out[d.what] = n
	}
	return out
}
