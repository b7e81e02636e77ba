package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// TestRecordMakesTextStorable: text that PostgreSQL cannot hold (invalid
// UTF-8, a NUL byte, a multi-byte character split by a byte limit) is
// made storable by the Recorder, and both backends store the same text.
func TestRecordMakesTextStorable(t *testing.T) {
	split := strings.Repeat("a", MaxFieldLen-1) + "é" // the limit falls inside "é"
	in := Event{
		Action: LoginFailed, Actor: split, Target: "bob\x00", IP: "192.0.2.1",
		UserAgent: "curl/\xff\xfe 8", RequestID: "r1", Result: ResultFailure, Reason: "caf\xc3",
	}
	want := store.AuditEvent{
		Action: string(LoginFailed), Actor: strings.Repeat("a", MaxFieldLen-1), Target: "bob\uFFFD", IP: "192.0.2.1",
		UserAgent: "curl/\uFFFD 8", RequestID: "r1", Result: ResultFailure, Reason: "caf\uFFFD",
	}
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rec := &Recorder{Store: db, Now: func() time.Time { return t0 }}
		mustRecord(t, rec, in)
		got := mustList(t, db, store.AuditFilter{})
		if len(got) != 1 {
			t.Fatalf("%d events stored, want 1", len(got))
		}
		g := got[0]
		g.Seq, g.Time, g.PrevHash, g.Hash = 0, time.Time{}, nil, nil
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("stored event mismatch (-want +got):\n%s", diff)
		}
		if rep := mustVerify(t, db); !rep.OK {
			t.Errorf("Verify() = %v", rep)
		}
	})
}

// poisonLog is the real store with one fault injected below the
// Recorder's sanitiser: the event whose Reason is "poison" reaches the
// store with text no backend may hold. The first batch waits for hold, so
// that the events recorded meanwhile form one batch.
type poisonLog struct {
	*sqlstore.DB
	hold  chan struct{}
	first sync.Once
}

func poisoned(es []store.AuditEvent) []store.AuditEvent {
	es = slices.Clone(es)
	for i := range es {
		if es[i].Reason == "poison" {
			es[i].UserAgent = "\xff\x00"
		}
	}
	return es
}

func (p *poisonLog) AppendAuditBatch(ctx context.Context, es []store.AuditEvent, hash func(store.AuditEvent) []byte) ([]store.AuditEvent, error) {
	p.first.Do(func() { <-p.hold })
	return p.DB.AppendAuditBatch(ctx, poisoned(es), hash)
}

func (p *poisonLog) AppendAudit(ctx context.Context, e store.AuditEvent, hash func(store.AuditEvent) []byte) (store.AuditEvent, error) {
	return p.DB.AppendAudit(ctx, poisoned([]store.AuditEvent{e})[0], hash)
}

// TestGroupCommitSurvivesAPoisonedEvent: one event that the store refuses
// does not lose the other events of its batch. They are stored, in one
// unbroken chain; the refused one is returned to its caller as an error
// and logged with its fields at ERROR level.
func TestGroupCommitSurvivesAPoisonedEvent(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		var buf bytes.Buffer
		log := &poisonLog{DB: db, hold: make(chan struct{})}
		rec := &Recorder{Store: log, Logger: slog.New(slog.NewTextHandler(&buf, nil)), Now: func() time.Time { return t0 }} // slog handlers serialise their writes
		ctx := t.Context()

		var wg sync.WaitGroup
		wg.Go(func() { mustRecord(t, rec, Event{Action: UserCreated, Target: "first", Result: ResultSuccess}) })
		waitQueued(t, rec, 0) // the first event is being written, held
		reasons := []string{"good-1", "good-2", "poison", "good-3", "good-4"}
		errs := make([]error, len(reasons))
		for i, reason := range reasons {
			wg.Go(func() {
				errs[i] = rec.Append(ctx, Event{Action: LoginFailed, Target: "t", Result: ResultFailure, Reason: reason})
			})
		}
		waitQueued(t, rec, len(reasons)) // all queued behind the held batch: one batch
		close(log.hold)
		wg.Wait()

		for i, reason := range reasons {
			switch {
			case reason == "poison" && !errors.Is(errs[i], store.ErrInvalidText):
				t.Errorf("Record(poison) error = %v, want ErrInvalidText", errs[i])
			case reason != "poison" && errs[i] != nil:
				t.Errorf("Record(%s) error = %v, want nil: one bad event lost another", reason, errs[i])
			}
		}
		var stored []string
		for _, e := range mustList(t, db, store.AuditFilter{}) {
			stored = append(stored, e.Target+"/"+e.Reason)
		}
		slices.Sort(stored[min(1, len(stored)):]) // a batch keeps arrival order, not reason order
		want := []string{"first/", "t/good-1", "t/good-2", "t/good-3", "t/good-4"}
		if !slices.Equal(stored, want) {
			t.Errorf("stored events = %q, want %q", stored, want)
		}
		if rep := mustVerify(t, db); !rep.OK || rep.Events != int64(len(want)) {
			t.Errorf("Verify() = %+v, want OK with %d events", rep, len(want))
		}
		if out := buf.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "reason=poison") {
			t.Errorf("log = %q, want an ERROR audit line for the refused event with its fields", out)
		}
	})
}

// waitQueued waits until n events wait behind the batch being written.
func waitQueued(t *testing.T, r *Recorder, n int) {
	t.Helper()
	for range 10000 {
		r.mu.Lock()
		writing, queued := r.writing, len(r.queue)
		r.mu.Unlock()
		if writing && queued == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d events never queued behind the batch being written", n)
}

// downLog is a store that is down: every batch and every single append
// fails, and it counts the single appends.
type downLog struct {
	store.AuditLog
	mu      sync.Mutex
	singles int
	hold    chan struct{}
	first   sync.Once
}

func (d *downLog) AppendAuditBatch(context.Context, []store.AuditEvent, func(store.AuditEvent) []byte) ([]store.AuditEvent, error) {
	d.first.Do(func() { <-d.hold })
	return nil, errors.New("database is locked")
}

func (d *downLog) AppendAudit(context.Context, store.AuditEvent, func(store.AuditEvent) []byte) (store.AuditEvent, error) {
	d.mu.Lock()
	d.singles++
	d.mu.Unlock()
	return store.AuditEvent{}, errors.New("database is locked")
}

// TestGroupCommitRetryStopsWhenTheStoreIsDown: retrying a failed batch
// event by event is for an event the store refuses, not for an outage:
// when the store keeps failing, the retries stop after a few, so that a
// batch of 256 does not cost 256 more timeouts while every caller waits.
func TestGroupCommitRetryStopsWhenTheStoreIsDown(t *testing.T) {
	log := &downLog{hold: make(chan struct{})}
	rec := &Recorder{Store: log, Now: func() time.Time { return t0 }}
	var wg sync.WaitGroup
	wg.Go(func() { _ = rec.Append(t.Context(), Event{Action: UserCreated}) })
	waitQueued(t, rec, 0)
	const n = 50
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = rec.Append(t.Context(), Event{Action: LoginFailed}) })
	}
	waitQueued(t, rec, n)
	close(log.hold)
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Fatalf("Record #%d error = %v, want the store's error", i, err)
		}
	}
	if log.singles > 2 {
		t.Errorf("%d single appends after the batch failed, want at most 2 while the store is down", log.singles)
	}
}
