package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// GarbageCollect implements [store.GarbageCollector]: four deletes, each
// its own statement, so a failure of one (or a lock held elsewhere) does
// not keep the others from running.
func (db *DB) GarbageCollect(ctx context.Context, before time.Time) (store.Garbage, error) {
	var g store.Garbage
	var errs []error
	for _, d := range []struct {
		n   *int64
		del func(context.Context, time.Time) (int64, error)
	}{
		{&g.AuthCodes, db.deleteExpiredAuthCodes},
		{&g.Sessions, db.deleteExpiredSessions},
		{&g.RefreshTokens, db.deleteExpiredRefreshTokens},
		{&g.Revocations, db.deleteExpiredRevocations},
	} {
		n, err := d.del(ctx, before)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*d.n = n
	}
	return g, errors.Join(errs...)
}
