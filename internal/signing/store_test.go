package signing

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// newStore returns an empty, migrated SQLite store for one test.
func newStore(t testing.TB) store.SigningKeys {
	t.Helper()
	return sqlstoretest.NewSQLite(t)
}

// hookStore wraps a store to count and intercept ListSigningKeys, so tests
// can force two processes to interleave.
type hookStore struct {
	store.SigningKeys
	mu     sync.Mutex
	lists  int
	onList func() // run after the list, then cleared
}

func (h *hookStore) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	recs, err := h.SigningKeys.ListSigningKeys(ctx)
	h.mu.Lock()
	h.lists++
	hook := h.onList
	h.onList = nil
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	return recs, err
}

func (h *hookStore) listCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lists
}

func (h *hookStore) setOnList(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onList = f
}
