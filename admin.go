package gatehouse

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/manage"
)

// User is a gatehouse user as the embedding API sees it.
type User struct {
	ID       string
	Username string
	Scopes   []string
	Admin    bool
	Disabled bool
}

// CreateUser creates a user with a password (argon2id-hashed) and scopes.
// It is the Go counterpart of `gatehouse user create`.
func (s *Server) CreateUser(ctx context.Context, username, password string, scopes []string, admin bool) (User, error) {
	u, err := s.manager.CreateUser(ctx, manage.Actor{ID: "embedded"}, manage.NewUser{
		Username: username, Password: password, Scopes: scopes, Admin: admin,
	})
	if err != nil {
		return User{}, err
	}
	return User{ID: u.ID, Username: u.Username, Scopes: u.Scopes, Admin: u.Admin}, nil
}

// LookupUser finds a user by username or id.
func (s *Server) LookupUser(ctx context.Context, nameOrID string) (User, error) {
	u, err := s.manager.FindUser(ctx, nameOrID)
	if err != nil {
		return User{}, err
	}
	return User{ID: u.ID, Username: u.Username, Scopes: u.Scopes, Admin: u.Admin, Disabled: u.Disabled}, nil
}

// CreateAPIKey mints an API key for a user and returns its id and the key
// itself, which is not stored and cannot be shown again. nil scopes mean
// all of the user's; an empty, non-nil list ([]string{}) means a key with
// no scopes. expiresIn 0 means never.
func (s *Server) CreateAPIKey(ctx context.Context, owner, name string, scopes []string, expiresIn time.Duration) (id, key string, err error) {
	k, err := s.manager.CreateAPIKey(ctx, manage.Actor{ID: "embedded"}, manage.NewAPIKey{
		Owner: owner, Name: name, Scopes: scopes, ExpiresIn: expiresIn,
	})
	if err != nil {
		return "", "", err
	}
	return k.ID, k.Secret, nil
}
