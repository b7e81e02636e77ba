package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
)

// IssueAggregator coalesces the audit events of client_credentials
// issuance. A machine client may ask for thousands of tokens a second; one
// hash-chained audit write per token would make the audit log the
// bottleneck of the grant, which must issue with no database write on
// the hot path. [IssueAggregator.Issued] only counts in memory;
// [IssueAggregator.Flush] writes one token.issued event per client per
// minute with Reason "grant=client_credentials count=N minute=… last_jti=…"
// (Actor and Target are the client id, IP the last caller's).
//
// Failures are still recorded one by one by the Handler. Recorder is
// required; Now defaults to time.Now. The zero value with Recorder set is
// ready and safe for concurrent use.
type IssueAggregator struct {
	Recorder *audit.Recorder
	Logger   *slog.Logger
	Now      func() time.Time

	mu      sync.Mutex
	buckets map[issueKey]*issueBucket
}

type issueKey struct {
	client string
	minute time.Time
}

type issueBucket struct {
	count     int64
	lastIP    string
	lastUA    string
	lastReqID string
	lastJTI   string
}

// maxIssueBuckets bounds memory between flushes (every client that got a
// token in the last interval): beyond it, events are written at once.
const maxIssueBuckets = 10_000

// Issued counts one token issued to client. It does no I/O.
func (a *IssueAggregator) Issued(client, ip, userAgent, requestID, jti string) {
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	k := issueKey{client: client, minute: now.UTC().Truncate(time.Minute)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buckets == nil {
		a.buckets = make(map[issueKey]*issueBucket)
	}
	b := a.buckets[k]
	if b == nil {
		if len(a.buckets) >= maxIssueBuckets {
			full := a.buckets
			a.buckets = make(map[issueKey]*issueBucket)
			go func() {
				if err := a.write(context.Background(), full); err != nil && a.Logger != nil {
					a.Logger.Error("flush token issuance audit", "err", err)
				}
			}()
		}
		b = &issueBucket{}
		a.buckets[k] = b
	}
	b.count++
	b.lastIP, b.lastUA, b.lastReqID, b.lastJTI = ip, userAgent, requestID, jti
}

// Flush writes the counted issuances as audit events, oldest minute first.
// Counts are taken out before writing, so a failed write loses them; the
// errors are joined and returned.
func (a *IssueAggregator) Flush(ctx context.Context) error {
	a.mu.Lock()
	pending := a.buckets
	a.buckets = nil
	a.mu.Unlock()
	return a.write(ctx, pending)
}

func (a *IssueAggregator) write(ctx context.Context, pending map[issueKey]*issueBucket) error {
	if len(pending) == 0 {
		return nil
	}
	keys := make([]issueKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y issueKey) int {
		if c := x.minute.Compare(y.minute); c != 0 {
			return c
		}
		return strings.Compare(x.client, y.client)
	})
	var errs []error
	for _, k := range keys {
		b := pending[k]
		err := a.Recorder.Append(ctx, audit.Event{
			Action: audit.TokenIssued, Actor: k.client, Target: k.client, IP: b.lastIP,
			UserAgent: b.lastUA, RequestID: b.lastReqID, Result: audit.ResultSuccess,
			Reason: fmt.Sprintf("grant=client_credentials count=%d minute=%s last_jti=%s",
				b.count, k.minute.Format("2006-01-02T15:04Z"), b.lastJTI),
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("flush token issuance: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx is done, then once more (bounded
// to 10s) so that a graceful shutdown keeps the last counts.
func (a *IssueAggregator) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flushAndLog(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			a.flushAndLog(final)
			cancel()
			return
		}
	}
}

func (a *IssueAggregator) flushAndLog(ctx context.Context) {
	if err := a.Flush(ctx); err != nil && a.Logger != nil {
		a.Logger.ErrorContext(ctx, "flush token issuance audit", "err", err)
	}
}
