package replication

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// rotator counts the replicator's rotation checks.
type rotator struct{ calls atomic.Int64 }

func (r *rotator) RotateSigningKeyIfDue(_ context.Context, a audit.Actor, period time.Duration) (store.SigningKey, bool, error) {
	if a.ID != "auto-rotation" || period != time.Hour {
		panic("unexpected rotation request")
	}
	r.calls.Add(1)
	return store.SigningKey{}, false, nil
}

func newReplicator(t *testing.T, rot Rotator, follower func(http.ResponseWriter, *http.Request) bool) *Replicator {
	t.Helper()
	db := sqlstoretest.NewSQLite(t)
	keys, err := signing.New(signing.Config{Store: db, Secret: bytes.Repeat([]byte{1}, 32), Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	feed := &revocation.Feed{Store: db, DenyList: guard.NewDenyList(nil)}
	return New(Config{Store: db, Feed: feed, Keys: keys, Rotator: rot, RotateEvery: time.Hour, Follower: follower})
}

// TestRunAndStop: Run checks for a due rotation at once, serves the feed
// stream while it runs, and when its context ends closes the streams and
// returns.
func TestRunAndStop(t *testing.T) {
	rot := &rotator{}
	r := newReplicator(t, rot, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); rot.calls.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no rotation check after start")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	select {
	case <-r.streams:
	default:
		t.Error("the feed streams are still open after Run returned")
	}
	r.CloseStreams() // idempotent
}

// TestRoutesAuthenticateFollowers: the feed stream asks the follower check
// before it sends anything.
func TestRoutesAuthenticateFollowers(t *testing.T) {
	r := newReplicator(t, &rotator{}, func(w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	})
	routes := r.Routes()
	if len(routes) != 1 || routes[0].Pattern() != "GET /oauth2/revocations" {
		t.Fatalf("Routes() = %+v, want GET /oauth2/revocations", routes)
	}
	w := httptest.NewRecorder()
	routes[0].Handler.ServeHTTP(w, httptest.NewRequest("GET", "/oauth2/revocations", nil))
	if w.Code != http.StatusUnauthorized || w.Body.Len() != 0 {
		t.Errorf("stream for a refused follower = %d %q, want 401 and nothing sent", w.Code, w.Body)
	}
}
