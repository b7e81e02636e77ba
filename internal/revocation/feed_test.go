package revocation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2030, 5, 6, 12, 0, 0, 700_000_000, time.UTC) // .7 s into a second

// accessToken is the principal of an access token of subject with the
// given jti, issued at iat.
func accessToken(jti, subject string, iat time.Time) *guard.Principal {
	return &guard.Principal{Method: guard.MethodBearer, TokenID: jti, Subject: subject, IssuedAt: iat.Truncate(time.Second)}
}

// node is one replica: its own deny list, Revoker and Feed over the shared
// store.
type node struct {
	set     *guard.DenyList
	revoker *Revoker
	feed    *Feed
}

func newNode(st store.Revocations, c *clock, onEntries func([]store.Revocation)) *node {
	d := guard.NewDenyList(c.Now)
	return &node{
		set:     d,
		revoker: &Revoker{Store: st, DenyList: d, Now: c.Now},
		feed:    &Feed{Store: st, DenyList: d, Now: c.Now, OnEntries: onEntries},
	}
}

func mustRevoke(t testing.TB, r *Revoker, kind, value string, at, expires time.Time) {
	t.Helper()
	if err := r.Revoke(t.Context(), kind, value, at, expires); err != nil {
		t.Fatalf("Revoke(%s, %s) error = %v", kind, value, err)
	}
}

func mustSync(t testing.TB, f *Feed) {
	t.Helper()
	if err := f.Sync(t.Context()); err != nil {
		t.Fatalf("Sync() error = %v", err)
	}
}

func TestFeedPicksUpOtherProcess(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock(t0)
		a, b := newNode(db, c, nil), newNode(db, c, nil)
		mustSync(t, b.feed)

		tok := accessToken("fam1.tok1", "user1", t0.Add(-time.Minute))
		mustRevoke(t, a.revoker, guard.RevokeToken, tok.TokenID, time.Time{}, t0.Add(time.Hour))
		if !a.set.Revoked(tok) {
			t.Fatal("revoking node: Revoked = false right after Revoke")
		}
		if b.set.Revoked(tok) {
			t.Fatal("other node: Revoked = true before its feed ran")
		}
		mustSync(t, b.feed)
		if !b.set.Revoked(tok) {
			t.Fatal("other node: Revoked = false after Sync")
		}

		// A logout on a (written through the store) reaches b too, with
		// the second-granularity rule intact after the round trip.
		logout := t0.Add(1500 * time.Millisecond)
		mustRevoke(t, a.revoker, guard.RevokeUser, "user9", logout, t0.Add(time.Hour))
		mustSync(t, b.feed)
		same := accessToken("fam2.t", "user9", logout)
		next := accessToken("fam2.t", "user9", logout.Add(time.Second))
		if !b.set.Revoked(same) || b.set.Revoked(next) {
			t.Errorf("after sync: same second revoked = %v (want true), next second revoked = %v (want false)",
				b.set.Revoked(same), b.set.Revoked(next))
		}
		if got, want := b.set.Cursor(), a.set.Cursor(); got != want {
			t.Errorf("b.Cursor() = %d, a.Cursor() = %d, want equal", got, want)
		}

		// Expired entries are neither listed nor applied.
		c.Advance(2 * time.Hour)
		fresh := newNode(db, c, nil)
		mustSync(t, fresh.feed)
		if fresh.set.Len() != 0 || fresh.set.Revoked(tok) {
			t.Errorf("fresh node after expiry: Len = %d, Revoked = %v", fresh.set.Len(), fresh.set.Revoked(tok))
		}
	})
}

// TestFeedEventsOncePerSeq: the window re-reads entries, but OnEntries
// hears each one once, change notices included; a notice revokes nothing.
func TestFeedEventsOncePerSeq(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := newClock(t0)
	a := newNode(db, c, nil)
	var events []string
	b := newNode(db, c, func(rs []store.Revocation) {
		for _, r := range rs {
			if r.Kind == guard.RevokeEvent {
				events = append(events, r.Value)
			}
		}
	})
	mustRevoke(t, a.revoker, guard.RevokeEvent, "keys", time.Time{}, t0.Add(time.Hour))
	for range 3 { // the window re-reads the entry every time
		mustSync(t, b.feed)
		c.Advance(time.Second)
	}
	if !slices.Equal(events, []string{"keys"}) {
		t.Errorf("OnEntries event values = %q, want [keys] once", events)
	}
	if n := b.set.Len(); n != 0 {
		t.Errorf("deny list Len() = %d after a notice, want 0", n)
	}
	if got, want := b.set.Cursor(), a.set.Cursor(); got != want || got == 0 {
		t.Errorf("b.Cursor() = %d, a.Cursor() = %d, want equal and above 0", got, want)
	}
}

// hidingStore simulates out-of-order commits: entries whose Seq is in
// hidden are invisible until released. It records each afterSeq asked for.
type hidingStore struct {
	store.Revocations
	mu     sync.Mutex
	hidden map[int64]bool
	after  []int64
}

func (h *hidingStore) ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]store.Revocation, error) {
	rs, err := h.Revocations.ListRevocations(ctx, afterSeq, now, limit)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.after = append(h.after, afterSeq)
	return slices.DeleteFunc(rs, func(r store.Revocation) bool { return h.hidden[r.Seq] }), err
}

func (h *hidingStore) setHidden(seq int64, v bool) {
	h.mu.Lock()
	h.hidden[seq] = v
	h.mu.Unlock()
}

func (h *hidingStore) lastAfter() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.after[len(h.after)-1]
}

func TestFeedRereadsWindow(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	c := newClock(t0)
	hs := &hidingStore{Revocations: db, hidden: map[int64]bool{}}
	writer := newNode(db, c, nil)
	reader := newNode(hs, c, nil)
	reader.feed.Window = 5 * time.Second
	exp := t0.Add(time.Hour)

	mustRevoke(t, writer.revoker, guard.RevokeToken, "j1", time.Time{}, exp)
	mustRevoke(t, writer.revoker, guard.RevokeToken, "j2", time.Time{}, exp)
	mustSync(t, reader.feed) // sample: cursor 2 at t0

	c.Advance(6 * time.Second)
	mustRevoke(t, writer.revoker, guard.RevokeToken, "j3", time.Time{}, exp) // Seq 3 commits late
	mustRevoke(t, writer.revoker, guard.RevokeToken, "j4", time.Time{}, exp)
	hs.setHidden(3, true)
	mustSync(t, reader.feed)
	if got := hs.lastAfter(); got != 2 {
		t.Errorf("poll 6s later read after Seq %d, want 2 (the cursor one window ago)", got)
	}
	j3 := accessToken("j3", "user1", t0)
	if reader.set.Revoked(j3) || reader.set.Cursor() != 4 {
		t.Fatalf("hidden entry applied early: Revoked(j3) = %v, cursor %d", reader.set.Revoked(j3), reader.set.Cursor())
	}

	// Seq 3 becomes visible after Seq 4 was read; a cursor-only poll
	// (after 4) would never see it.
	hs.setHidden(3, false)
	c.Advance(time.Second)
	mustSync(t, reader.feed)
	if !reader.set.Revoked(j3) {
		t.Error("late-committed entry missed by the next poll")
	}

	// Once the window has passed, the read point catches up.
	c.Advance(10 * time.Second)
	mustSync(t, reader.feed)
	if got := hs.lastAfter(); got != 4 {
		t.Errorf("poll after the window read after Seq %d, want 4", got)
	}
	if n := len(reader.feed.samples); n > 2 {
		t.Errorf("feed keeps %d samples, want at most 2", n)
	}
}

func TestFeedRunNotify(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	a, b := newNode(db, newClock(t0), nil), newNode(db, newClock(t0), nil)
	b.feed.Interval = time.Hour // only Notify can make it poll again
	polled := make(chan time.Duration, 16)
	b.feed.OnLag = func(d time.Duration) { polled <- d }

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.feed.Run(ctx) }()
	<-polled // the first poll runs at once

	tok := accessToken("fam1.tok1", "user1", t0.Add(-time.Minute))
	mustRevoke(t, a.revoker, guard.RevokeToken, tok.TokenID, time.Time{}, t0.Add(time.Hour))
	b.feed.Notify()
	<-polled
	if !b.set.Revoked(tok) {
		t.Error("Revoked = false after Notify and a poll")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
}

// flakyStore fails ListRevocations while down is set.
type flakyStore struct {
	mu   sync.Mutex
	down bool
	rs   []store.Revocation
}

func (f *flakyStore) AddRevocation(_ context.Context, r store.Revocation) (store.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return store.Revocation{}, errors.New("connection refused")
	}
	r.Seq = int64(len(f.rs) + 1)
	f.rs = append(f.rs, r)
	return r, nil
}

func (f *flakyStore) ListRevocations(_ context.Context, after int64, now time.Time, limit int) ([]store.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errors.New("connection refused")
	}
	var out []store.Revocation
	for _, r := range f.rs {
		if r.Seq > after && now.Before(r.ExpiresAt) && (limit == 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *flakyStore) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

// TestFeedLag runs the poll loop on a fake clock: while the store is down
// the reported lag keeps growing; the first good poll brings it back down.
func TestFeedLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &flakyStore{}
		var (
			mu   sync.Mutex
			lags []time.Duration
		)
		f := &Feed{Store: st, DenyList: guard.NewDenyList(nil), OnLag: func(d time.Duration) {
			mu.Lock()
			lags = append(lags, d)
			mu.Unlock()
		}}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go f.Run(ctx)

		synctest.Wait()
		st.setDown(true)
		time.Sleep(4 * DefaultInterval)
		synctest.Wait()
		st.setDown(false)
		time.Sleep(DefaultInterval)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		if len(lags) < 6 {
			t.Fatalf("%d polls, want at least 6", len(lags))
		}
		down := lags[1 : len(lags)-1]
		for i := 1; i < len(down); i++ {
			if down[i] <= down[i-1] {
				t.Errorf("lag while down did not grow: %v", down)
				break
			}
		}
		if last := lags[len(lags)-1]; last >= down[len(down)-1] {
			t.Errorf("lag after recovery %v, want below %v", last, down[len(down)-1])
		}
	})
}

func TestRevoker(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name, kind, value string
		expires           time.Time
	}{
		{"unknown kind", "everything", "x", exp},
		{"empty value", guard.RevokeToken, "", exp},
		{"no expiry", guard.RevokeToken, "x", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &flakyStore{}
			r := &Revoker{Store: st, DenyList: guard.NewDenyList(newClock(t0).Now), Now: newClock(t0).Now}
			if err := r.Revoke(t.Context(), tc.kind, tc.value, time.Time{}, tc.expires); err == nil {
				t.Errorf("Revoke(%q, %q) error = nil, want an error", tc.kind, tc.value)
			}
			if len(st.rs) != 0 || r.DenyList.Len() != 0 {
				t.Errorf("invalid revocation written: store %d, deny list %d", len(st.rs), r.DenyList.Len())
			}
		})
	}

	t.Run("store down still refuses locally", func(t *testing.T) {
		st := &flakyStore{down: true}
		c := newClock(t0)
		r := &Revoker{Store: st, DenyList: guard.NewDenyList(c.Now), Now: c.Now}
		if err := r.Revoke(t.Context(), guard.RevokeToken, "j", time.Time{}, exp); err == nil {
			t.Error("Revoke with the store down: error = nil")
		}
		if !r.DenyList.Revoked(accessToken("j", "user1", t0)) {
			t.Error("Revoke with the store down: not applied locally")
		}
	})

	t.Run("zero at means now", func(t *testing.T) {
		st := &flakyStore{}
		c := newClock(t0)
		r := &Revoker{Store: st, Now: c.Now}
		mustRevoke(t, r, guard.RevokeUser, "u", time.Time{}, exp)
		if got := st.rs[0]; !got.At.Equal(t0) || !got.CreatedAt.Equal(t0) || got.Seq != 1 {
			t.Errorf("stored %+v, want At = CreatedAt = %s", got, t0)
		}
	})
}
