package audit

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

// countingKeys counts TouchAPIKeys calls and keeps the last batch, passing
// it on to Next when set.
type countingKeys struct {
	Next  KeyToucher
	mu    sync.Mutex
	calls int
	last  map[string]time.Time
}

func (c *countingKeys) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	c.mu.Lock()
	c.calls++
	c.last = maps.Clone(lastUsed)
	c.mu.Unlock()
	if c.Next != nil {
		return c.Next.TouchAPIKeys(ctx, lastUsed)
	}
	return nil
}

func (c *countingKeys) snapshot() (int, map[string]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.last
}

func mustCreateKey(t testing.TB, db *sqlstore.DB, id string) {
	t.Helper()
	ctx := t.Context()
	uid := "u-" + id
	if err := db.CreateUser(ctx, store.User{ID: uid, Username: uid, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatalf("CreateUser() error = %v", err)
	}
	if err := db.CreateAPIKey(ctx, store.APIKey{ID: id, UserID: uid, Hash: []byte("h-" + id), CreatedAt: t0}); err != nil {
		t.Fatalf("CreateAPIKey() error = %v", err)
	}
}

func mustFlush(t testing.TB, a *UsageAggregator) {
	t.Helper()
	if err := a.Flush(t.Context()); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
}

// reasonCount extracts N from a Reason "count=N …".
func reasonCount(t testing.TB, reason string) int {
	t.Helper()
	f, _, _ := strings.Cut(reason, " ")
	v, ok := strings.CutPrefix(f, "count=")
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		t.Fatalf("Reason %q does not start with count=N", reason)
	}
	return n
}

func TestUsageAggregator(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		mustCreateKey(t, db, "key1")
		keys := &countingKeys{Next: db}
		c := &clock{t: t0.Add(time.Hour)}
		agg := &UsageAggregator{Recorder: &Recorder{Store: db, Now: c.Now}, Keys: keys}

		minute := t0.Truncate(time.Minute)
		var last time.Time
		for i := range 1000 {
			last = minute.Add(time.Duration(i) * 50 * time.Millisecond) // within one minute
			agg.Used("key1", fmt.Sprintf("198.51.100.%d", i%250), last)
		}
		mustFlush(t, agg)

		es := mustList(t, db, store.AuditFilter{Action: string(APIKeyUsed)})
		if len(es) != 1 {
			t.Fatalf("%d apikey.used events, want 1", len(es))
		}
		e := es[0]
		if n := reasonCount(t, e.Reason); n != 1000 {
			t.Errorf("Reason %q: count %d, want 1000", e.Reason, n)
		}
		if e.IP != "198.51.100.249" || e.Actor != "key1" || e.Target != "key1" || e.Result != ResultSuccess {
			t.Errorf("event = %+v, want key1 from the last IP 198.51.100.249", e)
		}
		calls, batch := keys.snapshot()
		if calls != 1 || !batch["key1"].Equal(last) || len(batch) != 1 {
			t.Errorf("TouchAPIKeys: %d calls, last batch %v; want 1 call with key1 at %s", calls, batch, last)
		}
		k, err := db.GetAPIKey(t.Context(), "key1")
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(store.Normalize(last)) {
			t.Errorf("LastUsedAt = %v, want %s", k.LastUsedAt, last)
		}
		if rep := mustVerify(t, db); !rep.OK {
			t.Errorf("Verify() = %v", rep)
		}

		// Nothing new: nothing written.
		mustFlush(t, agg)
		if calls, _ := keys.snapshot(); calls != 1 {
			t.Errorf("empty Flush touched keys again (%d calls)", calls)
		}
		if es := mustList(t, db, store.AuditFilter{Action: string(APIKeyUsed)}); len(es) != 1 {
			t.Errorf("empty Flush wrote events: %d", len(es))
		}
	})
}

func TestUsageAggregatorBuckets(t *testing.T) {
	db := sqlstoretest.NewSQLite(t)
	keys := &countingKeys{}
	agg := &UsageAggregator{Recorder: &Recorder{Store: db}, Keys: keys}
	m := t0.Truncate(time.Minute)
	// Two keys; key b spans two minutes, one use arriving out of order.
	agg.Used("b", "ip1", m.Add(59*time.Second))
	agg.Used("b", "ip2", m.Add(61*time.Second))
	agg.Used("b", "ip3", m.Add(30*time.Second)) // late: same minute as the first
	agg.Used("a", "ip4", m.Add(10*time.Second))
	mustFlush(t, agg)

	es := mustList(t, db, store.AuditFilter{Action: string(APIKeyUsed)})
	type row struct {
		key, ip string
		count   int
	}
	var got []row
	for _, e := range es {
		got = append(got, row{e.Target, e.IP, reasonCount(t, e.Reason)})
	}
	want := []row{{"a", "ip4", 1}, {"b", "ip1", 2}, {"b", "ip2", 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events (key, last ip, count) = %v, want %v", got, want)
	}
	_, batch := keys.snapshot()
	if !batch["b"].Equal(m.Add(61*time.Second)) || !batch["a"].Equal(m.Add(10*time.Second)) {
		t.Errorf("last used = %v, want the latest use of each key", batch)
	}
}

func TestUsageAggregatorConcurrent(t *testing.T) {
	keys := &countingKeys{}
	var (
		mu    sync.Mutex
		total int
	)
	agg := &UsageAggregator{Keys: keys, Recorder: &Recorder{Store: &memLog{onAppend: func(e store.AuditEvent) {
		n, _ := strconv.Atoi(strings.TrimPrefix(strings.Fields(e.Reason)[0], "count="))
		mu.Lock()
		total += n
		mu.Unlock()
	}}}}
	const goroutines, uses = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range uses {
				agg.Used(fmt.Sprintf("key%d", i%3), "ip", t0.Add(time.Duration(g*uses+i)*time.Millisecond))
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := agg.Flush(t.Context()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	mustFlush(t, agg)
	mu.Lock()
	defer mu.Unlock()
	if total != goroutines*uses {
		t.Errorf("counts in events sum to %d, want %d", total, goroutines*uses)
	}
}

// memLog is a minimal AuditLog for tests that only need appends.
type memLog struct {
	store.AuditLog
	mu       sync.Mutex
	seq      int64
	onAppend func(store.AuditEvent)
}

func (m *memLog) AppendAudit(_ context.Context, e store.AuditEvent, hash func(store.AuditEvent) []byte) (store.AuditEvent, error) {
	m.mu.Lock()
	m.seq++
	e.Seq = m.seq
	m.mu.Unlock()
	e.Hash = hash(e)
	if m.onAppend != nil {
		m.onAppend(e)
	}
	return e, nil
}

// TestUsageAggregatorRun: periodic flushes, and a last one on shutdown.
func TestUsageAggregatorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keys := &countingKeys{}
		agg := &UsageAggregator{Keys: keys}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			agg.Run(ctx, time.Minute)
			close(done)
		}()

		agg.Used("k", "ip", time.Now())
		time.Sleep(time.Minute)
		synctest.Wait()
		if calls, _ := keys.snapshot(); calls != 1 {
			t.Fatalf("after one interval: %d flushes, want 1", calls)
		}

		agg.Used("k", "ip", time.Now())
		cancel()
		<-done
		calls, batch := keys.snapshot()
		if calls != 2 || !batch["k"].Equal(time.Now()) {
			t.Errorf("after shutdown: %d flushes (want 2), last batch %v", calls, batch)
		}
	})
}

func TestUsageAggregatorZeroTimeIsNow(t *testing.T) {
	keys := &countingKeys{}
	agg := &UsageAggregator{Keys: keys, Now: func() time.Time { return t0 }}
	agg.Used("k", "ip", time.Time{})
	mustFlush(t, agg)
	if _, batch := keys.snapshot(); !batch["k"].Equal(t0) {
		t.Errorf("last used = %v, want the aggregator's Now %s", batch["k"], t0)
	}
}
