package housekeeping_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/housekeeping"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestMain drops the per-run PostgreSQL scratch database after the tests.
func TestMain(m *testing.M) { sqlstoretest.Main(m) }

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// seed stores one row of each kind the janitor deletes — an authorization
// code, a login session, a refresh-token family and a revocation entry —
// each ending at end.
func seed(t *testing.T, db *sqlstore.DB, end time.Time) {
	t.Helper()
	ctx := t.Context()
	u := store.User{ID: store.NewID(), Username: "alice", CreatedAt: end.Add(-time.Hour), UpdatedAt: end.Add(-time.Hour)}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	start := end.Add(-time.Minute)
	for _, err := range []error{
		db.CreateAuthCode(ctx, store.AuthCode{Hash: sum("code"), ClientID: "app", UserID: u.ID, RedirectURI: "https://app.example/cb",
			Scopes: []string{"read"}, AuthTime: start, CreatedAt: start, ExpiresAt: end, GrantID: "grant"}),
		db.CreateSession(ctx, store.Session{Hash: sum("session"), UserID: u.ID, AuthTime: start, CreatedAt: start, ExpiresAt: end}),
		db.CreateRefreshToken(ctx, store.RefreshToken{Hash: sum("refresh"), FamilyID: "family", ClientID: "app", UserID: u.ID,
			Scopes: []string{"read"}, AuthTime: start, CreatedAt: start, ExpiresAt: end, IdleExpires: end}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.AddRevocation(ctx, store.Revocation{Kind: "user", Value: u.ID, At: start, ExpiresAt: end, CreatedAt: start}); err != nil {
		t.Fatal(err)
	}
}

// TestJanitorOnce: a run deletes nothing that is live or ended less than
// the margin ago, deletes each kind of row once it ended longer ago than
// that, and deletes nothing the second time.
func TestJanitorOnce(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		seed(t, db, end)
		all := store.Garbage{AuthCodes: 1, Sessions: 1, RefreshTokens: 1, Revocations: 1}
		for _, tc := range []struct {
			name string
			now  time.Time
			want store.Garbage
		}{
			{"everything live", end.Add(-time.Minute), store.Garbage{}},
			{"ended, within the margin", end.Add(housekeeping.Margin - time.Second), store.Garbage{}},
			{"ended longer than the margin ago", end.Add(housekeeping.Margin + time.Second), all},
			{"again", end.Add(housekeeping.Margin + time.Minute), store.Garbage{}},
		} {
			j := &housekeeping.Janitor{Store: db, Now: func() time.Time { return tc.now }}
			if got := j.Once(t.Context()); got != (housekeeping.Result{Garbage: tc.want}) {
				t.Errorf("%s: Once() = %+v, want %+v", tc.name, got, tc.want)
			}
		}
		ctx := t.Context()
		if _, err := db.ConsumeAuthCode(ctx, sum("code"), end.Add(-time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeAuthCode(deleted code) error = %v, want ErrNotFound", err)
		}
		if _, err := db.GetSession(ctx, sum("session")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetSession(deleted session) error = %v, want ErrNotFound", err)
		}
		if _, err := db.GetRefreshToken(ctx, sum("refresh")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(deleted token) error = %v, want ErrNotFound", err)
		}
		if rs, err := db.ListRevocations(ctx, 0, end.Add(-time.Hour), 0); err != nil || len(rs) != 0 {
			t.Errorf("ListRevocations after the run = %v, %v; want none", rs, err)
		}
	})
}

// TestJanitorAuditRetention: with a retention, a run prunes the audit
// events older than it and the chain still verifies; without one it
// prunes nothing.
func TestJanitorAuditRetention(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		now := t0
		clock := func() time.Time { return now }
		rec := &audit.Recorder{Store: db, Now: clock}
		for _, name := range []string{"u1", "u2", "u3"} {
			if err := rec.Append(ctx, audit.Event{Action: audit.UserCreated, Target: name, Result: audit.ResultSuccess}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name      string
			retention time.Duration
			at        time.Duration
			want      int64
		}{
			{"no retention", 0, 72 * time.Hour, 0},
			{"events younger than the retention", 48 * time.Hour, time.Hour, 0},
			{"events older than the retention", 48 * time.Hour, 49 * time.Hour, 3},
		} {
			now = t0.Add(tc.at)
			j := &housekeeping.Janitor{Store: db, Audit: rec, Retention: tc.retention, Now: clock}
			if got := j.Once(ctx).AuditEvents; got != tc.want {
				t.Errorf("%s: Once().AuditEvents = %d, want %d", tc.name, got, tc.want)
			}
		}
		if rep, err := audit.Verify(ctx, db); err != nil || !rep.OK || !rep.Anchored {
			t.Errorf("Verify after the prune = %+v, %v; want OK and anchored", rep, err)
		}
	})
}

// collector records when GarbageCollect is called and with what.
type collector struct {
	mu     sync.Mutex
	calls  []time.Time
	before []time.Time
}

func (c *collector) GarbageCollect(_ context.Context, before time.Time) (store.Garbage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, time.Now())
	c.before = append(c.before, before)
	return store.Garbage{}, nil
}

// TestJanitorRun: Run collects FirstAfter after it starts (not during
// start-up), then every Interval, each time what ended more than Margin
// ago, and returns when its context ends. Time is the synctest bubble's.
func TestJanitorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := &collector{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			(&housekeeping.Janitor{Store: c}).Run(ctx)
			close(done)
		}()
		time.Sleep(housekeeping.FirstAfter + 2*housekeeping.Interval + time.Second)
		synctest.Wait()
		cancel()
		<-done
		var got, before []time.Duration
		for i := range c.calls {
			got = append(got, c.calls[i].Sub(start))
			before = append(before, c.calls[i].Sub(c.before[i]))
		}
		want := []time.Duration{housekeeping.FirstAfter, housekeeping.FirstAfter + housekeeping.Interval,
			housekeeping.FirstAfter + 2*housekeeping.Interval}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GarbageCollect calls after start (-want +got):\n%s", diff)
		}
		if slices.ContainsFunc(before, func(d time.Duration) bool { return d != housekeeping.Margin }) {
			t.Errorf("GarbageCollect(before) = call time minus %v, want minus the margin %v", before, housekeeping.Margin)
		}
	})
}

// TestJanitorRunPrunesAtStart: a server started after a long pause prunes
// old audit events at once, not an hour later.
func TestJanitorRunPrunesAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := sqlstoretest.NewSQLite(t)
		rec := &audit.Recorder{Store: db}
		for _, name := range []string{"u1", "u2"} {
			if err := rec.Append(t.Context(), audit.Event{Action: audit.UserCreated, Target: name, Result: audit.ResultSuccess}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Hour) // the pause
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			(&housekeeping.Janitor{Store: db, Audit: rec, Retention: time.Hour}).Run(ctx)
			close(done)
		}()
		synctest.Wait()
		evs, err := db.ListAudit(t.Context(), store.AuditFilter{Action: string(audit.UserCreated)})
		cancel()
		<-done
		if err != nil || len(evs) != 0 {
			t.Errorf("user.created events right after start = %d, %v; want none (pruned at start)", len(evs), err)
		}
	})
}
