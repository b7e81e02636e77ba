package gatehouse

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Admin does in process what the `gatehouse` CLI does on a server's
// database: it creates and manages users, API keys and OAuth2 clients,
// revokes tokens and rotates the signing key, with the same rules, the
// same audit events (the actor is "embedded") and the same effect on every
// replica. Get it from [Server.Admin].
//
// Errors it returns carry a stable code and a message safe to show; test
// them with errors.Is against [ErrNotFound], [ErrInvalid], [ErrConflict]
// and [ErrForbidden], or errors.As with *[Error].
type Admin struct{ m *service.Manager }

// Admin returns the server's administration API.
func (s *Server) Admin() *Admin { return &Admin{m: s.manager} }

// embedded is the audit actor of the embedding API.
var embedded = audit.Actor{ID: "embedded"}

// Errors of the administration API, for errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrInvalid   = errors.New("invalid")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
)

// Error is an error of the administration API: a stable machine-readable
// Code (such as "invalid_username", "username_taken", "not_found") and a
// Message that is safe to show. It matches one of [ErrNotFound],
// [ErrInvalid], [ErrConflict] and [ErrForbidden] with errors.Is.
type Error struct {
	Code    string
	Message string
	kind    error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the error's kind.
func (e *Error) Unwrap() error { return e.kind }

// adminErr turns a service error into an *Error; other errors (the store
// failed) pass through.
func adminErr(err error) error {
	var se *service.Error
	if !errors.As(err, &se) {
		return err
	}
	kind := ErrInvalid
	switch se.Kind {
	case service.NotFound:
		kind = ErrNotFound
	case service.Conflict:
		kind = ErrConflict
	case service.Forbidden:
		kind = ErrForbidden
	}
	return &Error{Code: se.Code, Message: se.Message, kind: kind}
}

// User is a gatehouse user.
type User struct {
	ID       string
	Username string
	// Scopes are the most any token or API key of the user may carry.
	Scopes   []string
	Admin    bool
	Disabled bool
	// LockedUntil is when the throttling of the user's failed logins ends,
	// nil when it is not throttled.
	LockedUntil *time.Time
}

func userOf(u store.User, err error) (User, error) {
	if err != nil {
		return User{}, adminErr(err)
	}
	return User{
		ID: u.ID, Username: u.Username, Scopes: slices.Clone(u.Scopes), Admin: u.Admin, Disabled: u.Disabled,
		LockedUntil: service.LockedUntil(u, time.Now()),
	}, nil
}

// NewUser is what [Admin.CreateUser] needs.
type NewUser struct {
	Username string
	// Password is hashed with argon2id; "" creates a user who cannot log
	// in with a password yet.
	Password string
	Scopes   []string
	// Admin gives the user the "admin" scope.
	Admin bool
}

// CreateUser creates a user, the Go counterpart of `gatehouse user
// create`.
func (a *Admin) CreateUser(ctx context.Context, in NewUser) (User, error) {
	return userOf(a.m.CreateUser(ctx, embedded, service.NewUser{
		Username: in.Username, Password: in.Password, Scopes: in.Scopes, Admin: in.Admin,
	}))
}

// User finds a user by username or id.
func (a *Admin) User(ctx context.Context, nameOrID string) (User, error) {
	return userOf(a.m.FindUser(ctx, nameOrID))
}

// HasUsers reports whether at least one user exists.
func (a *Admin) HasUsers(ctx context.Context) (bool, error) { return a.m.HasUsers(ctx) }

// DisableUser refuses the user's logins and API keys and revokes every
// token issued to them, on every replica.
func (a *Admin) DisableUser(ctx context.Context, nameOrID string) (User, error) {
	return userOf(a.m.SetDisabled(ctx, embedded, nameOrID, true))
}

// EnableUser lets a disabled user log in again (their API keys work
// again; revoked tokens stay revoked) and ends any login throttling.
func (a *Admin) EnableUser(ctx context.Context, nameOrID string) (User, error) {
	return userOf(a.m.SetDisabled(ctx, embedded, nameOrID, false))
}

// SetPassword resets the user's password: every token issued so far is
// revoked (API keys keep working) and login throttling ends.
func (a *Admin) SetPassword(ctx context.Context, nameOrID, password string) (User, error) {
	return userOf(a.m.SetPassword(ctx, embedded, nameOrID, password))
}

// SetScopes replaces the user's scopes; their API keys lose removed scopes
// at once, access tokens already issued keep theirs until they expire.
func (a *Admin) SetScopes(ctx context.Context, nameOrID string, scopes []string) (User, error) {
	return userOf(a.m.SetScopes(ctx, embedded, nameOrID, scopes))
}

// LogoutUser revokes every token issued to the user so far ("log out
// everywhere"); API keys keep working.
func (a *Admin) LogoutUser(ctx context.Context, nameOrID string) (User, error) {
	return userOf(a.m.Logout(ctx, embedded, nameOrID))
}

// UnlockUser ends the throttling of the user's failed logins on every
// replica.
func (a *Admin) UnlockUser(ctx context.Context, nameOrID string) (User, error) {
	return userOf(a.m.Unlock(ctx, embedded, nameOrID))
}

// APIKey is an API key, without its secret.
type APIKey struct {
	ID     string
	Name   string
	UserID string
	Scopes []string
	// RateLimit is the key's own limit ("10/s"), "" for the server's.
	RateLimit  string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func keyOf(k store.APIKey) APIKey {
	return APIKey{
		ID: k.ID, Name: k.Name, UserID: k.UserID, Scopes: slices.Clone(k.Scopes), RateLimit: k.RateLimit,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt,
	}
}

// NewAPIKey is what [Admin.CreateAPIKey] needs.
type NewAPIKey struct {
	// Owner is the username or id of the key's user.
	Owner string
	// Name labels the key; "" is "default".
	Name string
	// Scopes are the key's scopes, within the owner's. nil means all of
	// the owner's; an empty, non-nil list ([]string{}) a key with none.
	Scopes []string
	// ExpiresIn ends the key that long after it is made; 0 means never.
	ExpiresIn time.Duration
	// RateLimit is the key's own limit ("10/s", "100/m:20"); "" uses the
	// server's.
	RateLimit string
}

// CreateAPIKey mints an API key and returns it with its secret, which is
// stored only as a hash and cannot be shown again.
func (a *Admin) CreateAPIKey(ctx context.Context, in NewAPIKey) (APIKey, string, error) {
	k, err := a.m.CreateAPIKey(ctx, embedded, service.NewAPIKey{
		Owner: in.Owner, Name: in.Name, Scopes: in.Scopes, ExpiresIn: in.ExpiresIn, RateLimit: in.RateLimit,
	})
	if err != nil {
		return APIKey{}, "", adminErr(err)
	}
	return keyOf(k.APIKey), k.Secret, nil
}

// RevokeAPIKey revokes a key at once, on every replica.
func (a *Admin) RevokeAPIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := a.m.RevokeAPIKey(ctx, embedded, id, "")
	if err != nil {
		return APIKey{}, adminErr(err)
	}
	return keyOf(k), nil
}

// Client is an OAuth2 client, without its secret.
type Client struct {
	ID           string
	Name         string
	GrantTypes   []string
	RedirectURIs []string
	// Public clients (SPAs, native apps) have no secret and must use PKCE.
	Public bool
	// Scopes are the scopes the client may ask for; none means any scope
	// its user has.
	Scopes    []string
	RateLimit string
}

func clientOf(c store.Client) Client {
	return Client{
		ID: c.ID, Name: c.Name, GrantTypes: slices.Clone(c.GrantTypes), RedirectURIs: slices.Clone(c.RedirectURIs),
		Public: c.Public, Scopes: slices.Clone(c.Scopes), RateLimit: c.RateLimit,
	}
}

// NewClient is what [Admin.CreateClient] needs.
type NewClient struct {
	Name         string
	GrantTypes   []string // OAuth2 grant_type values
	RedirectURIs []string
	Public       bool
	Scopes       []string
	RateLimit    string
}

// CreateClient registers an OAuth2 client and returns it with its secret
// ("" for a public client), which is stored only as a hash and cannot be
// shown again.
func (a *Admin) CreateClient(ctx context.Context, in NewClient) (Client, string, error) {
	c, err := a.m.CreateClient(ctx, embedded, service.NewClient{
		Name: in.Name, GrantTypes: in.GrantTypes, RedirectURIs: in.RedirectURIs, Public: in.Public,
		Scopes: in.Scopes, RateLimit: in.RateLimit,
	})
	if err != nil {
		return Client{}, "", adminErr(err)
	}
	return clientOf(c.Client), c.Secret, nil
}

// Client returns one client.
func (a *Admin) Client(ctx context.Context, id string) (Client, error) {
	c, err := a.m.GetClient(ctx, id)
	if err != nil {
		return Client{}, adminErr(err)
	}
	return clientOf(c), nil
}

// DeleteClient deletes a client and revokes every token issued to it.
func (a *Admin) DeleteClient(ctx context.Context, id string) error {
	return adminErr(a.m.DeleteClient(ctx, embedded, id))
}

// RotateClientSecret gives a confidential client a new secret and returns
// it; the old one stops working at once.
func (a *Admin) RotateClientSecret(ctx context.Context, id string) (Client, string, error) {
	c, err := a.m.RotateClientSecret(ctx, embedded, id)
	if err != nil {
		return Client{}, "", adminErr(err)
	}
	return clientOf(c.Client), c.Secret, nil
}

// RevokeAccessToken refuses the access token whose id ("jti") is jti, on
// every replica and remote guard, until it would have expired.
func (a *Admin) RevokeAccessToken(ctx context.Context, jti string) error {
	return adminErr(a.m.RevokeAccessToken(ctx, embedded, jti))
}

// RotateSigningKey makes a new signing key, which signs once it has been
// published for Config.KeyPublishDelay; the old one stays in the JWKS
// until every token it signed has expired. It returns the new key's id.
func (a *Admin) RotateSigningKey(ctx context.Context) (string, error) {
	k, err := a.m.RotateSigningKey(ctx, embedded)
	if err != nil {
		return "", adminErr(err)
	}
	return k.ID, nil
}
