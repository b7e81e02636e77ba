// Package housekeeping deletes what can no longer matter, in one loop:
// expired authorization codes, login sessions, ended refresh-token
// families and revocation entries whose tokens have all expired (each an
// hour after its expiry), and, with a retention set, audit events older
// than it (keeping the hash chain verifiable). The database then stays
// bounded by what is live, like the in-memory deny list. On several
// replicas each one runs it; the deletes are idempotent.
//
// It imports the store's interface and audit.
package housekeeping

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	// Interval is how often the janitor runs; the first run is FirstAfter
	// after start (not during start-up, when replicas begin together).
	Interval   = time.Hour
	FirstAfter = time.Minute
	// Margin keeps rows this long past their expiry, so a clock that is a
	// little behind on another replica never finds a row it still needs
	// gone.
	Margin = time.Hour
)

// Janitor is the housekeeping of one process. Store is required; Audit
// and Retention turn audit pruning on; Logger and Now have defaults.
type Janitor struct {
	Store store.GarbageCollector
	// Audit records the prune anchor and deletes old events; Retention is
	// their age limit (0 keeps them forever).
	Audit     *audit.Recorder
	Retention time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// Result is what one run deleted.
type Result struct {
	store.Garbage
	AuditEvents int64
}

// Run runs the janitor every Interval, the first time FirstAfter after
// start, until ctx ends. Old audit events are pruned at start too: a
// server started after a long pause should not keep them for an hour
// more.
func (j *Janitor) Run(ctx context.Context) {
	j.pruneAudit(ctx, j.now())
	t := time.NewTimer(FirstAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j.Once(ctx)
		t.Reset(Interval)
	}
}

// Once runs the janitor now and returns what it deleted; failures are
// logged and do not stop the other deletes.
func (j *Janitor) Once(ctx context.Context) Result {
	now := j.now()
	var res Result
	g, err := j.Store.GarbageCollect(ctx, now.Add(-Margin))
	res.Garbage = g
	if err != nil && ctx.Err() == nil {
		j.log().ErrorContext(ctx, "housekeeping: delete expired rows", "err", err)
	}
	if n := g.AuthCodes + g.Sessions + g.RefreshTokens + g.Revocations; n > 0 {
		j.log().InfoContext(ctx, "housekeeping: deleted expired rows", "auth_codes", g.AuthCodes, "sessions", g.Sessions,
			"refresh_tokens", g.RefreshTokens, "revocations", g.Revocations)
	}
	res.AuditEvents = j.pruneAudit(ctx, now)
	return res
}

// pruneAudit deletes audit events older than the retention (none without
// one), keeping the chain verifiable: audit.Prune records the anchor
// first.
func (j *Janitor) pruneAudit(ctx context.Context, now time.Time) int64 {
	if j.Retention <= 0 || j.Audit == nil {
		return 0
	}
	before := now.Add(-j.Retention)
	n, err := audit.Prune(ctx, j.Audit, before)
	switch {
	case err != nil && ctx.Err() == nil:
		j.log().ErrorContext(ctx, "prune audit log", "err", err)
	case n > 0:
		j.log().InfoContext(ctx, "pruned audit log", "events", n, "before", before.UTC().Format(time.RFC3339))
	}
	return n
}

func (j *Janitor) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Janitor) log() *slog.Logger {
	if j.Logger != nil {
		return j.Logger
	}
	return slog.Default()
}
