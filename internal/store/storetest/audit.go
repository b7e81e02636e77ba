package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// checkChain fails the test unless events form one unbroken chain: Seq
// strictly increasing, each PrevHash equal to the previous Hash and each
// Hash equal to auditHash of the event without it.
func checkChain(t testing.TB, events []store.AuditEvent) {
	t.Helper()
	for i, e := range events {
		if i > 0 {
			prev := events[i-1]
			if e.Seq <= prev.Seq {
				t.Errorf("event %d: Seq %d after %d, want strictly increasing", i, e.Seq, prev.Seq)
			}
			if !bytes.Equal(e.PrevHash, prev.Hash) {
				t.Errorf("event %d (seq %d): PrevHash %x, want previous Hash %x", i, e.Seq, e.PrevHash, prev.Hash)
			}
		}
		unhashed := e
		unhashed.Hash = nil
		if want := auditHash(unhashed); !bytes.Equal(e.Hash, want) {
			t.Errorf("event %d (seq %d): Hash %x, want %x", i, e.Seq, e.Hash, want)
		}
	}
}

func mustAppend(t testing.TB, s store.Store, e store.AuditEvent) store.AuditEvent {
	t.Helper()
	got, err := s.AppendAudit(context.Background(), e, auditHash)
	mustOK(t, "AppendAudit", err)
	return got
}

func testAudit(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("AppendChain", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		e := store.AuditEvent{
			Time: at(0), Action: "login.failed", Actor: "u1", Target: "u1", IP: "192.0.2.1",
			UserAgent: "curl/8", RequestID: "req-1", Result: "failure", Reason: "bad password",
			Seq: 99, PrevHash: []byte("ignored"), Hash: []byte("ignored"), // assigned by the store
		}
		var hashed store.AuditEvent
		first, err := s.AppendAudit(ctx, e, func(ev store.AuditEvent) []byte {
			hashed = ev
			return auditHash(ev)
		})
		mustOK(t, "AppendAudit", err)
		if hashed.Hash != nil {
			t.Errorf("hash called with Hash = %x, want nil", hashed.Hash)
		}
		if !hashed.Time.Equal(store.Normalize(at(0))) || hashed.Time.Location() != time.UTC {
			t.Errorf("hash called with Time = %v, want it normalised to %v", hashed.Time, store.Normalize(at(0)))
		}
		if first.PrevHash != nil {
			t.Errorf("first event PrevHash = %x, want nil", first.PrevHash)
		}
		if first.Seq <= 0 {
			t.Errorf("first event Seq = %d, want > 0", first.Seq)
		}
		checkUTC(t, "AppendAudit", first)
		second := mustAppend(t, s, store.AuditEvent{Time: at(time.Second), Action: "login.succeeded", Actor: "u1", Result: "success"})
		third := mustAppend(t, s, store.AuditEvent{Time: at(2 * time.Second), Action: "token.issued", Actor: "c1", Result: "success"})

		got, err := s.ListAudit(ctx, store.AuditFilter{})
		mustOK(t, "ListAudit", err)
		diff(t, "ListAudit", []store.AuditEvent{first, second, third}, got)
		checkChain(t, got)
		want := normalized(e)
		want.Seq, want.PrevHash, want.Hash = first.Seq, nil, first.Hash
		diff(t, "stored first event", want, got[0])
	})

	t.Run("Filter", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		var ev []store.AuditEvent
		for i, spec := range []struct{ actor, action, result string }{
			{"u1", "login.failed", "failure"},
			{"u1", "login.succeeded", "success"},
			{"u2", "login.failed", "failure"},
			{"c1", "token.issued", "success"},
			{"u1", "apikey.created", "success"},
		} {
			ev = append(ev, mustAppend(t, s, store.AuditEvent{
				Time: at(time.Duration(i) * time.Minute), Action: spec.action, Actor: spec.actor, Result: spec.result,
			}))
		}
		tests := []struct {
			name string
			f    store.AuditFilter
			want []store.AuditEvent
		}{
			{"all", store.AuditFilter{}, ev},
			{"actor", store.AuditFilter{Actor: "u1"}, []store.AuditEvent{ev[0], ev[1], ev[4]}},
			{"action", store.AuditFilter{Action: "login.failed"}, []store.AuditEvent{ev[0], ev[2]}},
			{"result", store.AuditFilter{Result: "success"}, []store.AuditEvent{ev[1], ev[3], ev[4]}},
			{"since is inclusive", store.AuditFilter{Since: at(3 * time.Minute)}, ev[3:]},
			{"until is exclusive", store.AuditFilter{Until: at(2 * time.Minute)}, ev[:2]},
			{"window", store.AuditFilter{Since: at(time.Minute), Until: at(4 * time.Minute)}, ev[1:4]},
			{"after seq", store.AuditFilter{AfterSeq: ev[2].Seq}, ev[3:]},
			{"limit", store.AuditFilter{Limit: 2}, ev[:2]},
			{"after seq and limit", store.AuditFilter{AfterSeq: ev[0].Seq, Limit: 2}, ev[1:3]},
			{"every field", store.AuditFilter{
				Since: at(0), Until: at(time.Hour), Actor: "u1", Action: "login.succeeded", Result: "success", AfterSeq: ev[0].Seq, Limit: 5,
			}, []store.AuditEvent{ev[1]}},
			{"nothing matches", store.AuditFilter{Actor: "u1", Result: "success", Action: "login.failed"}, nil},
			{"any of actors", store.AuditFilter{Actors: []string{"u2", "c1", "nobody"}}, []store.AuditEvent{ev[2], ev[3]}},
			{"any of actors and actor", store.AuditFilter{Actor: "u2", Actors: []string{"u2", "c1"}}, []store.AuditEvent{ev[2]}},
			{"newest first", store.AuditFilter{Desc: true}, []store.AuditEvent{ev[4], ev[3], ev[2], ev[1], ev[0]}},
			{"newest first, limit", store.AuditFilter{Desc: true, Limit: 2}, []store.AuditEvent{ev[4], ev[3]}},
			{"before seq", store.AuditFilter{BeforeSeq: ev[2].Seq}, ev[:2]},
			{"newest first before seq", store.AuditFilter{Desc: true, BeforeSeq: ev[3].Seq, Limit: 2}, []store.AuditEvent{ev[2], ev[1]}},
			{"newest first with filters", store.AuditFilter{Desc: true, Actor: "u1", AfterSeq: ev[0].Seq}, []store.AuditEvent{ev[4], ev[1]}},
		}
		for _, tc := range tests {
			got, err := s.ListAudit(ctx, tc.f)
			mustOK(t, "ListAudit "+tc.name, err)
			diff(t, "ListAudit "+tc.name, tc.want, got)
		}
	})

	t.Run("RefusesInvalidText", func(t *testing.T) { testAuditRefusesInvalidText(t, open) })

	t.Run("Head", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		head := func(when string, want store.AuditHead) {
			t.Helper()
			got, err := s.GetAuditHead(ctx)
			mustOK(t, "GetAuditHead "+when, err)
			diff(t, "GetAuditHead "+when, want, got)
		}
		head("of an empty log", store.AuditHead{})
		mustAppend(t, s, store.AuditEvent{Time: at(0), Action: "x.y", Result: "success"})
		last := mustAppend(t, s, store.AuditEvent{Time: at(time.Hour), Action: "x.y", Result: "success"})
		head("after appends", store.AuditHead{Seq: last.Seq, Hash: last.Hash})
		if b, ok := s.(auditBatcher); ok {
			out, err := b.AppendAuditBatch(ctx, []store.AuditEvent{
				{Time: at(2 * time.Hour), Action: "x.y"}, {Time: at(3 * time.Hour), Action: "x.y"},
			}, auditHash)
			mustOK(t, "AppendAuditBatch", err)
			last = out[len(out)-1]
			head("after a batch", store.AuditHead{Seq: last.Seq, Hash: last.Hash})
		}
		if _, err := s.AppendAudit(ctx, store.AuditEvent{Time: at(4 * time.Hour), Action: "x.y", Reason: "\xff"}, auditHash); err == nil {
			t.Fatal("AppendAudit(invalid text) error = nil")
		}
		head("after a refused append", store.AuditHead{Seq: last.Seq, Hash: last.Hash})
		// The head outlives the events: deleting them (a prune, or
		// someone with SQL access) leaves it where the chain ended.
		_, err := s.PruneAudit(ctx, at(24*time.Hour))
		mustOK(t, "PruneAudit(all)", err)
		head("after pruning everything", store.AuditHead{Seq: last.Seq, Hash: last.Hash})
	})

	t.Run("Prune", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		var ev []store.AuditEvent
		for i := range 4 {
			ev = append(ev, mustAppend(t, s, store.AuditEvent{Time: at(time.Duration(i) * time.Hour), Action: "x.y", Result: "success"}))
		}
		n, err := s.PruneAudit(ctx, at(2*time.Hour))
		mustOK(t, "PruneAudit", err)
		if n != 2 {
			t.Errorf("PruneAudit() = %d, want 2", n)
		}
		got, err := s.ListAudit(ctx, store.AuditFilter{})
		mustOK(t, "ListAudit", err)
		diff(t, "ListAudit after prune", ev[2:], got)

		// Pruning everything must not restart the chain.
		_, err = s.PruneAudit(ctx, at(24*time.Hour))
		mustOK(t, "PruneAudit(all)", err)
		next := mustAppend(t, s, store.AuditEvent{Time: at(25 * time.Hour), Action: "x.y", Result: "success"})
		if next.Seq <= ev[3].Seq {
			t.Errorf("Seq after pruning everything = %d, want > %d", next.Seq, ev[3].Seq)
		}
		if !bytes.Equal(next.PrevHash, ev[3].Hash) {
			t.Errorf("PrevHash after pruning everything = %x, want the last Hash %x", next.PrevHash, ev[3].Hash)
		}
	})
}

// auditBatcher is the optional batch append of a store (sqlstore has it;
// audit.Recorder group-commits through it).
type auditBatcher interface {
	AppendAuditBatch(ctx context.Context, es []store.AuditEvent, hash func(store.AuditEvent) []byte) ([]store.AuditEvent, error)
}

// testAuditRefusesInvalidText: an event with text no backend can hold
// (invalid UTF-8, a NUL byte) is refused with ErrInvalidText on every
// backend alike, nothing of it is stored and the chain head stays where
// it was, so the next event continues the chain.
func testAuditRefusesInvalidText(t *testing.T, open func(t *testing.T) store.Store) {
	bad := []struct {
		name string
		e    store.AuditEvent
	}{
		{"invalid utf-8 user agent", store.AuditEvent{Action: "login.failed", UserAgent: "curl/\xff"}},
		{"split rune in reason", store.AuditEvent{Action: "login.failed", Reason: "caf\xc3"}},
		{"NUL in actor", store.AuditEvent{Action: "login.failed", Actor: "a\x00b"}},
		{"invalid utf-8 action", store.AuditEvent{Action: "login.\xfe"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			first := mustAppend(t, s, store.AuditEvent{Time: at(0), Action: "user.created", Result: "success"})
			tc.e.Time = at(time.Second)
			if _, err := s.AppendAudit(ctx, tc.e, auditHash); !errors.Is(err, store.ErrInvalidText) {
				t.Errorf("AppendAudit(%q) error = %v, want ErrInvalidText", tc.name, err)
			}
			if b, ok := s.(auditBatcher); ok {
				good := store.AuditEvent{Time: at(time.Second), Action: "user.created", Result: "success"}
				if _, err := b.AppendAuditBatch(ctx, []store.AuditEvent{good, tc.e, good}, auditHash); !errors.Is(err, store.ErrInvalidText) {
					t.Errorf("AppendAuditBatch(good, %q, good) error = %v, want ErrInvalidText", tc.name, err)
				}
			}
			next := mustAppend(t, s, store.AuditEvent{Time: at(2 * time.Second), Action: "user.created", Result: "success"})
			got, err := s.ListAudit(ctx, store.AuditFilter{})
			mustOK(t, "ListAudit", err)
			diff(t, "ListAudit after a refused event", []store.AuditEvent{first, next}, got)
			checkChain(t, got)
			if next.Seq != first.Seq+1 {
				t.Errorf("Seq after a refused event = %d, want %d", next.Seq, first.Seq+1)
			}
		})
	}
}
