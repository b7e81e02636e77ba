package clientauth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// countingStore is a client store in memory that counts reads.
type countingStore struct {
	store.Clients
	clients map[string]store.Client
	reads   atomic.Int64
}

func (s *countingStore) GetClient(_ context.Context, id string) (store.Client, error) {
	s.reads.Add(1)
	c, ok := s.clients[id]
	if !ok {
		return store.Client{}, store.ErrNotFound
	}
	return c, nil
}

func TestCache(t *testing.T) {
	st := &countingStore{clients: map[string]store.Client{"c": {ID: "c", Name: "one"}}}
	now := time.Unix(1_000_000, 0)
	a := New(Config{Store: st, Now: func() time.Time { return now }})
	ctx := context.Background()
	get := func() string {
		c, err := a.Client(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		return c.Name
	}
	get()
	get()
	if n := st.reads.Load(); n != 1 {
		t.Fatalf("reads = %d after two lookups within the TTL, want 1", n)
	}
	st.clients["c"] = store.Client{ID: "c", Name: "two"}
	if got := get(); got != "one" {
		t.Fatalf("cached name = %q", got)
	}
	a.Forget("c")
	if got := get(); got != "two" {
		t.Errorf("after Forget: name = %q, want two", got)
	}
	st.clients["c"] = store.Client{ID: "c", Name: "three"}
	now = now.Add(DefaultTTL)
	if got := get(); got != "three" {
		t.Errorf("after the TTL: name = %q, want three", got)
	}
	// Unknown clients are cached briefly: a junk client_id sent again and
	// again costs one read per DefaultNegativeTTL.
	before := st.reads.Load()
	for range 3 {
		if _, err := a.Client(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Client(%q) error = %v, want %v", "missing", err, store.ErrNotFound)
		}
	}
	if n := st.reads.Load() - before; n != 1 {
		t.Errorf("%d reads for an unknown client asked 3 times, want 1", n)
	}
	st.clients["missing"] = store.Client{ID: "missing", Name: "created elsewhere"}
	now = now.Add(DefaultNegativeTTL)
	if c, err := a.Client(ctx, "missing"); err != nil || c.Name != "created elsewhere" {
		t.Errorf("Client(%q) after DefaultNegativeTTL = %+v, %v, want the new client", "missing", c, err)
	}
	// A negative TTL turns the cache off.
	off := New(Config{Store: st, TTL: -1})
	before = st.reads.Load()
	off.Client(ctx, "c")
	off.Client(ctx, "c")
	if st.reads.Load()-before != 2 {
		t.Errorf("TTL -1 cached")
	}
}

// gatedStore reads at once but holds every answer until gate is closed,
// like a slow database.
type gatedStore struct {
	countingStore
	gate chan struct{}
}

func (s *gatedStore) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := s.countingStore.GetClient(ctx, id)
	<-s.gate
	return c, err
}

// TestExpiryUnderLoadReadsOnce: requests that miss the cache together (the
// entry has just expired on a busy server) share one store read, and a
// Forget while that read runs makes the next request read again.
func TestExpiryUnderLoadReadsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &gatedStore{countingStore: countingStore{clients: map[string]store.Client{"c": {ID: "c", Name: "one"}}}, gate: make(chan struct{})}
		a := New(Config{Store: st})
		const n = 32
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if c, err := a.Client(t.Context(), "c"); err != nil || c.Name != "one" {
					t.Errorf("Client = %+v, %v", c, err)
				}
			})
		}
		synctest.Wait()
		a.Forget("c") // the client changes while the read runs
		st.clients["c"] = store.Client{ID: "c", Name: "two"}
		after := make(chan string, 1)
		go func() {
			c, _ := a.Client(t.Context(), "c")
			after <- c.Name
		}()
		synctest.Wait()
		close(st.gate)
		wg.Wait()
		if got := <-after; got != "two" {
			t.Errorf("a request after Forget got %q from the read started before it, want two", got)
		}
		if r := st.reads.Load(); r != 2 {
			t.Errorf("%d store reads, want 2 (one shared by %d requests, one after Forget)", r, n)
		}
	})
}

// TestRateLimit: a client's own limit comes with the record that
// authenticated it, parsed once, without another store read.
func TestRateLimit(t *testing.T) {
	st := &countingStore{clients: map[string]store.Client{
		"own":   {ID: "own", Public: true, RateLimit: "100/m"},
		"plain": {ID: "plain", Public: true},
		"junk":  {ID: "junk", Public: true, RateLimit: "lots"},
	}}
	a := New(Config{Store: st})
	ctx := context.Background()
	for _, tc := range []struct {
		id     string
		want   ratelimit.Limit
		wantOK bool
	}{
		{"own", ratelimit.Limit{Rate: 100.0 / 60, Burst: 100}, true},
		{"plain", ratelimit.Limit{}, false},
		{"junk", ratelimit.Limit{}, false},
		{"unknown", ratelimit.Limit{}, false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			_, _ = a.Client(ctx, tc.id) // what Authenticate reads
			before := st.reads.Load()
			got, ok := a.RateLimit(ctx, tc.id)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RateLimit(%q) = %v, %v, want %v, %v", tc.id, got, ok, tc.want, tc.wantOK)
			}
			if n := st.reads.Load() - before; n != 0 {
				t.Errorf("RateLimit(%q) after Client read the store %d times, want 0", tc.id, n)
			}
		})
	}
	st.clients["own"] = store.Client{ID: "own", Public: true, RateLimit: "5/s"}
	a.Forget("own")
	if got, ok := a.RateLimit(ctx, "own"); got != (ratelimit.Limit{Rate: 5, Burst: 5}) || !ok {
		t.Errorf("RateLimit(%q) after Forget = %v, %v, want 5/s", "own", got, ok)
	}
}
