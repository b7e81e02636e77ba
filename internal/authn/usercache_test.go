package authn

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// userStore answers GetUser with err, wrapped as the SQL store wraps it.
type userStore struct {
	store.Users
	err error
}

func (s userStore) GetUser(_ context.Context, id string) (store.User, error) {
	if s.err != nil {
		return store.User{}, fmt.Errorf("get user: %w", s.err)
	}
	return store.User{ID: id, Username: "alice"}, nil
}

// TestUserCacheGet: an unknown user is "not found" (false, no error) even
// when the store wraps ErrNotFound; any other failure is an error.
func TestUserCacheGet(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantOK  bool
		wantErr bool
	}{
		{name: "found", wantOK: true},
		{name: "unknown", err: store.ErrNotFound},
		{name: "store down", err: errors.New("database is locked"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewUserCache(UserCacheConfig{Store: userStore{err: tc.err}})
			u, ok, err := c.Get(t.Context(), "u1")
			if ok != tc.wantOK || (err != nil) != tc.wantErr || (ok && u.ID != "u1") {
				t.Errorf("Get(%q) = %+v, %v, %v; want ok %v, error %v", "u1", u, ok, err, tc.wantOK, tc.wantErr)
			}
		})
	}
}
