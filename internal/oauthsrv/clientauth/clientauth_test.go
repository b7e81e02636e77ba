package clientauth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
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

func TestAuthenticate(t *testing.T) {
	sec, _ := secret.Mint("gcs_")
	st := &countingStore{clients: map[string]store.Client{
		"conf": {ID: "conf", SecretHash: secret.Hash(sec)},
		"pub":  {ID: "pub", Public: true},
	}}
	now := time.Unix(1_000_000, 0)
	a := &Authenticator{Store: st, Now: func() time.Time { return now }}
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		ca        oauth.ClientAuth
		wantErr   bool
		wantBasic bool
	}{
		{"confidential, basic", oauth.ClientAuth{ID: "conf", Secret: sec, Method: oauth.AuthSecretBasic}, false, false},
		{"confidential, post", oauth.ClientAuth{ID: "conf", Secret: sec, Method: oauth.AuthSecretPost}, false, false},
		{"wrong secret, basic", oauth.ClientAuth{ID: "conf", Secret: sec + "x", Method: oauth.AuthSecretBasic}, true, true},
		{"wrong secret, post", oauth.ClientAuth{ID: "conf", Secret: "nope", Method: oauth.AuthSecretPost}, true, false},
		{"confidential without secret", oauth.ClientAuth{ID: "conf", Method: oauth.AuthNone}, true, false},
		{"public by id", oauth.ClientAuth{ID: "pub", Method: oauth.AuthNone}, false, false},
		{"public with a secret", oauth.ClientAuth{ID: "pub", Secret: "x", Method: oauth.AuthSecretPost}, true, false},
		{"unknown", oauth.ClientAuth{ID: "who", Secret: "x", Method: oauth.AuthSecretBasic}, true, true},
		{"no client", oauth.ClientAuth{}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(ctx, tc.ca)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Authenticate(%v) error = %v, want error %v", tc.ca, err, tc.wantErr)
			}
			var oe *oauth.Error
			if err != nil && (!errors.As(err, &oe) || oe.Code != oauth.InvalidClient || oe.UseBasic != tc.wantBasic) {
				t.Errorf("Authenticate(%v) error = %#v, want invalid_client with UseBasic %v", tc.ca, err, tc.wantBasic)
			}
		})
	}
}

func TestCache(t *testing.T) {
	st := &countingStore{clients: map[string]store.Client{"c": {ID: "c", Name: "one"}}}
	now := time.Unix(1_000_000, 0)
	a := &Authenticator{Store: st, Now: func() time.Time { return now }}
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
	// Unknown clients are not cached.
	before := st.reads.Load()
	for range 3 {
		if _, err := a.Client(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Client(missing) error = %v", err)
		}
	}
	if st.reads.Load()-before != 3 {
		t.Errorf("unknown clients were cached")
	}
	// A negative TTL turns the cache off.
	off := &Authenticator{Store: st, TTL: -1}
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
		a := &Authenticator{Store: st}
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
