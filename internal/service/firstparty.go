package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// FirstPartyClientID is the id of the built-in client that the password
// grant uses when a request names none: gatehouse's own login, as a
// FastAPI form sends it.
const FirstPartyClientID = "gatehouse"

// EnsureFirstPartyClient creates the built-in first-party client (id
// [FirstPartyClientID], public, the password and refresh_token grants)
// unless it exists. The server does so on start; the CLI before it lists
// clients or changes one's grants, so that the client is there to see and
// change on a database no server has started on yet. Concurrent callers
// are safe: one creates it, the others find it.
func (m *Manager) EnsureFirstPartyClient(ctx context.Context) error {
	_, err := m.Store.GetClient(ctx, FirstPartyClientID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("get first-party client: %w", err)
	}
	now := m.now()
	err = m.Store.CreateClient(ctx, store.Client{
		ID: FirstPartyClientID, Name: "gatehouse first-party login", Public: true, FirstParty: true,
		GrantTypes: []string{string(oauth.GrantPassword), string(oauth.GrantRefreshToken)},
		CreatedAt:  now, UpdatedAt: now,
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("create first-party client: %w", err)
	}
	return nil
}
