package rest

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The views below are the JSON shapes of gatehouse's records: the REST API
// answers them and the CLI's --json prints them, so a script sees one
// shape whichever way it asks. Lists never hold nil: an empty list is [].
// Each view has a constructor from the store or service value.

// Me is the body of GET /users/me: the caller as the guard authenticated
// them. Scopes are the credential's own; AuthMethod is "bearer" or
// "api_key"; ClientID is the OAuth2 client of a bearer token.
type Me struct {
	ID         string   `json:"id"`
	Username   string   `json:"username"`
	Scopes     []string `json:"scopes"`
	AuthMethod string   `json:"auth_method"`
	ClientID   string   `json:"client_id,omitempty"`
}

// Logout is the body of a successful POST /users/me/logout.
type Logout struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	LoggedOut  bool   `json:"logged_out"`
	AuthMethod string `json:"auth_method"`
}

// User is the view of a user (`gatehouse user … --json`, /admin/users).
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Scopes    []string  `json:"scopes"`
	Admin     bool      `json:"admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LockedUntil is null unless failed logins on the account are being
	// throttled (`gatehouse user unlock` or POST
	// /admin/users/{user}/unlock ends it).
	LockedUntil *time.Time `json:"locked_until"`
}

// NewUser returns the view of u at time now (which decides whether a
// login lock is still running).
func NewUser(u store.User, now time.Time) User {
	return User{
		ID: u.ID, Username: u.Username, Scopes: nonNil(u.Scopes), Admin: u.Admin, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LockedUntil: service.LockedUntil(u, now),
	}
}

// APIKey is the view of an API key (`gatehouse apikey … --json`,
// /api-keys, /admin/api-keys). Key, the secret, is set only in the answer
// that creates or rotates the key: it is shown once.
type APIKey struct {
	ID         string     `json:"id"`
	Key        string     `json:"key,omitempty"`
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	User       string     `json:"user"` // the owner's username ("" when unknown)
	UserID     string     `json:"user_id"`
	Scopes     []string   `json:"scopes"`
	RateLimit  string     `json:"rate_limit,omitempty"` // "" = the server default
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// OldKeyValidUntil is when the secret the key had before its last
	// rotation stopped (or stops) working; absent when it was never
	// rotated with a grace period.
	OldKeyValidUntil *time.Time `json:"old_key_valid_until,omitempty"`
}

// NewAPIKey returns the view of k, owned by the user named username ("" when
// not known).
func NewAPIKey(k store.APIKey, username string) APIKey {
	return APIKey{
		ID: k.ID, Prefix: k.Prefix, Name: k.Name, User: username, UserID: k.UserID, Scopes: nonNil(k.Scopes),
		RateLimit: k.RateLimit, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt,
		RevokedAt: k.RevokedAt, OldKeyValidUntil: k.PrevExpiresAt,
	}
}

// NewCreatedAPIKey returns the view of a new key, with its secret.
func NewCreatedAPIKey(k service.CreatedAPIKey) APIKey {
	v := NewAPIKey(k.APIKey, k.Username)
	v.Key = k.Secret
	return v
}

// NewRotatedAPIKey returns the view of a rotated key, with its new secret.
func NewRotatedAPIKey(k service.RotatedAPIKey, username string) APIKey {
	v := NewAPIKey(k.APIKey, username)
	v.Key = k.Secret
	return v
}

// Client is the view of an OAuth2 client (`gatehouse client … --json`,
// /admin/clients). Secret is set only in the answer that creates a
// confidential client or rotates its secret: it is shown once.
type Client struct {
	ClientID     string    `json:"client_id"`
	Secret       string    `json:"client_secret,omitempty"`
	Name         string    `json:"name"`
	GrantTypes   []string  `json:"grant_types"`
	RedirectURIs []string  `json:"redirect_uris"`
	Public       bool      `json:"public"`
	FirstParty   bool      `json:"first_party"`
	Scopes       []string  `json:"scopes"`
	RateLimit    string    `json:"rate_limit,omitempty"` // "" = the server default
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NewClient returns the view of c, without a secret.
func NewClient(c store.Client) Client {
	return Client{
		ClientID: c.ID, Name: c.Name, GrantTypes: nonNil(c.GrantTypes), RedirectURIs: nonNil(c.RedirectURIs),
		Public: c.Public, FirstParty: c.FirstParty, Scopes: nonNil(c.Scopes), RateLimit: c.RateLimit,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// NewCreatedClient returns the view of a client with its new secret ("" for
// a public client).
func NewCreatedClient(c service.CreatedClient) Client {
	v := NewClient(c.Client)
	v.Secret = c.Secret
	return v
}

// SigningKey is the view of a signing key, never its private half
// (`gatehouse key … --json`, /admin/signing-keys): {"kid","alg","status",
// "use":[...],"created_at","activates_at","retired_at","expires_at",
// "revoked_at"}. Status is one of signing's Status* values; Use lists what
// it signs (access_token, id_token), empty for an algorithm no longer in
// use. The signing package describes its keys in this shape already.
type SigningKey = signing.KeyInfo

// NewSigningKey returns the view of k.
func NewSigningKey(k signing.KeyInfo) SigningKey {
	k.Use = nonNil(k.Use)
	return k
}

// RevokedSigningKey is the answer to revoking a signing key.
type RevokedSigningKey struct {
	ID      string `json:"kid"`
	Revoked bool   `json:"revoked"`
}

// AuditEntry is the view of an audit event (`gatehouse audit --json`,
// /admin/audit): {"seq","time","action","actor","actor_name","target",
// "target_name","ip","user_agent","request_id","result","reason"}, the
// stored event with the names of its actor and target beside their ids,
// resolved when read ("" when there is none, e.g. a deleted user). The
// service layer assembles entries in this shape already.
type AuditEntry = service.AuditEntry

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
