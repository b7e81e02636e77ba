// Package store defines gatehouse's persistent records and the Store
// interface that every backend implements.
//
// It stands alone so that the domain packages (service, token, signing, …)
// depend on interfaces, not on a database driver: store imports the standard
// library only, and the one implementation lives in store/sqlstore. The
// conformance suite in store/storetest runs against every backend.
//
// Conventions for every method:
//   - Times are UTC and truncated to microseconds by the backend.
//   - A missing record gives ErrNotFound; a unique-key clash gives ErrConflict.
//   - Secrets are never stored: records carry SHA-256 hashes (credentials
//     minted by the server) or argon2id PHC strings (passwords).
//   - All methods are safe for concurrent use.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"
)

// ErrNotFound is returned when a record does not exist (or, for single-use
// operations, when another caller already consumed it).
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would violate a unique constraint.
var ErrConflict = errors.New("store: conflict")

// ErrInvalidText is returned when a record to be written holds text that
// is not valid UTF-8 or holds a NUL byte. Every backend refuses it alike
// (PostgreSQL cannot store it, and SQLite must not store what PostgreSQL
// would refuse); callers make text storable first.
var ErrInvalidText = errors.New("store: text is not valid UTF-8 or holds a NUL byte")

// ErrUsed is returned by single-use operations (ConsumeAuthCode,
// RotateRefreshToken) when the record exists but was already used. The
// record is returned alongside it so the caller can react to the replay.
var ErrUsed = errors.New("store: already used")

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random 128-bit identifier as 26 lower-case base32
// characters. IDs are minted in Go so both backends agree on their shape.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return idEncoding.EncodeToString(b[:])
}

// Normalize truncates t to microseconds and converts it to UTC, the form
// in which both backends store times.
func Normalize(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Store is the whole persistence layer, composed of per-entity interfaces so
// that consumers can ask for only what they use.
type Store interface {
	Users
	Clients
	APIKeys
	AuthCodes
	RefreshTokens
	SigningKeys
	AuditLog
	Revocations
	Sessions
	Consents
	GarbageCollector

	// Ping reports whether the database is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the connection pool.
	Close() error
}

// GarbageCollector deletes the rows that can no longer matter.
type GarbageCollector interface {
	// GarbageCollect deletes what expired before: authorization codes and
	// login sessions whose ExpiresAt is before it, refresh tokens whose
	// family ended before it, and revocation entries whose ExpiresAt is
	// before it (every token they cover has expired). It goes on past a
	// failed delete and returns the counts of those that worked with the
	// errors joined. Safe to run on several replicas at once.
	GarbageCollect(ctx context.Context, before time.Time) (Garbage, error)
}

// Garbage counts the rows [GarbageCollector.GarbageCollect] deleted.
type Garbage struct {
	AuthCodes, Sessions, RefreshTokens, Revocations int64
}

// ---------------------------------------------------------------- users

// User is a person (or service account) who logs in with a password.
type User struct {
	ID           string
	Username     string // normalised (NFKC, lower-case), unique
	PasswordHash string // argon2id PHC string or a legacy bcrypt hash; "" = no password login
	Scopes       []string
	Admin        bool
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// LockedUntil is set while failed logins on the account are being
	// throttled (slowed for everyone, locked for the addresses that
	// failed too often), until that time; nil when they are not. The
	// server records it, an admin's unlock clears it.
	LockedUntil *time.Time
}

// Users stores user accounts.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByUsername(ctx context.Context, username string) (User, error)
	// ListUsers returns users ordered by username, at most limit (0 = all)
	// whose username is greater than after (cursor pagination).
	ListUsers(ctx context.Context, after string, limit int) ([]User, error)
	// UpdateUser reads the user, applies fn and writes the result in one
	// transaction, retrying on serialization conflicts. fn may be called more
	// than once. ID and CreatedAt cannot be changed.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
}

// ---------------------------------------------------------------- clients

// Client is a registered OAuth2 client.
type Client struct {
	ID           string // the client_id
	SecretHash   []byte // SHA-256 of the client secret; nil for public clients
	Name         string
	Public       bool
	FirstParty   bool // the built-in first-party client used by the password grant
	GrantTypes   []string
	RedirectURIs []string
	Scopes       []string // the most this client may ask for; empty = any scope the user has
	RateLimit    string   // "" = server default, e.g. "10/s"
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Clients stores OAuth2 clients.
type Clients interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns clients ordered by ID after the cursor (0 = all).
	ListClients(ctx context.Context, after string, limit int) ([]Client, error)
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) (Client, error)
	DeleteClient(ctx context.Context, id string) error
}

// ---------------------------------------------------------------- api keys

// APIKey is a long-lived credential owned by a user. The key's public
// identifier (ID) is embedded in the key string, so verification is one
// primary-key lookup followed by a constant-time hash comparison.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // displayable start of the key, e.g. "gk_ab12cd34"; not secret
	Hash       []byte // SHA-256 of the whole key
	Scopes     []string
	RateLimit  string // "" = server default, e.g. "10/s"
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	// PrevHash is the hash of the secret replaced by the last rotation; it
	// keeps working until PrevExpiresAt (the rotation grace period).
	PrevHash      []byte
	PrevExpiresAt *time.Time
}

// APIKeys stores API keys.
type APIKeys interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns keys ordered by ID after the cursor; userID ""
	// lists every user's keys.
	ListAPIKeys(ctx context.Context, userID, after string, limit int) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, fn func(APIKey) (APIKey, error)) (APIKey, error)
	// TouchAPIKeys records last-used times in one batch (the coalesced
	// writes of many requests). Unknown IDs are ignored; a time older than
	// the stored one does not move it back.
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// ---------------------------------------------------------------- auth codes

// AuthCode is an OAuth2 authorization code, stored by hash and single-use.
type AuthCode struct {
	Hash                []byte // SHA-256 of the code: the primary key
	ClientID            string
	UserID              string
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	Nonce               string
	AuthTime            time.Time
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
	// GrantID names the tokens issued from this code (their refresh family
	// and the access token's jti prefix), so a replay can revoke them.
	GrantID string
}

// AuthCodes stores authorization codes.
type AuthCodes interface {
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// ConsumeAuthCode marks the code used at now and returns it. Exactly
	// one of any number of concurrent callers succeeds; the others get the
	// record and ErrUsed. An unknown code gives ErrNotFound.
	ConsumeAuthCode(ctx context.Context, hash []byte, now time.Time) (AuthCode, error)
}

// ---------------------------------------------------------------- refresh tokens

// RefreshToken is one link of a refresh-token family: every rotation adds a
// successor with the same FamilyID.
type RefreshToken struct {
	Hash        []byte // SHA-256 of the token: the primary key
	FamilyID    string
	ClientID    string
	UserID      string
	Scopes      []string
	AuthTime    time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time // absolute end of the family
	IdleExpires time.Time // this link's idle deadline
	UsedAt      *time.Time
	RevokedAt   *time.Time
	// SuccessorHash is the hash of the token this one was rotated into.
	SuccessorHash []byte
}

// RefreshTokens stores refresh tokens.
type RefreshTokens interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// RotateRefreshToken atomically marks old used at now and inserts next
	// (whose FamilyID must match). If old was already used it returns the
	// stored old record and ErrUsed and inserts nothing; exactly one of any
	// number of concurrent callers succeeds. Unknown old: ErrNotFound.
	RotateRefreshToken(ctx context.Context, oldHash []byte, next RefreshToken, now time.Time) (RefreshToken, error)
	// RevokeRefreshFamily marks every token of the family revoked at now.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) (int64, error)
	// RevokeRefreshTokens revokes every token matching the filter (user
	// and/or client; at least one must be set).
	RevokeRefreshTokens(ctx context.Context, userID, clientID string, now time.Time) (int64, error)
}

// ---------------------------------------------------------------- signing keys

// SigningKey is a JWT signing key. The private half is encrypted with the
// master secret (AES-256-GCM, additional data "signing_keys|private_key|ID").
type SigningKey struct {
	ID         string // the kid
	Algorithm  string // ES256, EdDSA, RS256
	PrivateKey []byte // ciphertext
	PublicKey  []byte // public JWK as JSON
	CreatedAt  time.Time
	// ActivatesAt is when the key starts signing: later than CreatedAt so
	// that every verifier has seen it in the JWKS first.
	ActivatesAt time.Time
	RetiredAt   *time.Time // stops signing; still published
	// ExpiresAt is when the key leaves the JWKS (retired + longest token
	// lifetime); nil while it signs.
	ExpiresAt *time.Time
	RevokedAt *time.Time // every token it signed is refused
}

// SigningKeys stores signing keys.
type SigningKeys interface {
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) (SigningKey, error)
}

// ---------------------------------------------------------------- audit

// AuditEvent is one entry of the append-only audit log. Hash chains it to
// its predecessor: Hash = SHA-256(PrevHash || canonical encoding of fields).
type AuditEvent struct {
	Seq       int64 // assigned by the store, strictly increasing
	Time      time.Time
	Action    string // dotted, e.g. "login.failed"
	Actor     string // user, client or API key id; "" = anonymous
	Target    string
	IP        string
	UserAgent string
	RequestID string
	Result    string // "success" or "failure"
	Reason    string
	PrevHash  []byte
	Hash      []byte
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	Since  time.Time
	Until  time.Time
	Actor  string
	Actors []string // any of these (at most a few: one query per length)
	Action string
	Result string
	// AfterSeq and BeforeSeq bound Seq (exclusive): the cursor of an
	// oldest-first and of a newest-first listing.
	AfterSeq  int64
	BeforeSeq int64
	Desc      bool // newest first (Seq descending); Limit then keeps the newest
	Limit     int  // 0 = all
}

// AuditHead is where the audit chain ends: the Seq and Hash of the newest
// event ever appended (zero for a log that never had one). The store keeps
// it apart from the events, updated in the transaction of every append,
// so that deleting the newest events, or all of them, shows.
type AuditHead struct {
	Seq  int64
	Hash []byte
}

// AuditLog stores audit events.
type AuditLog interface {
	// AppendAudit assigns Seq and PrevHash and computes Hash with the
	// given function, serialising concurrent appends so the chain has no
	// forks. It returns the stored event.
	AppendAudit(ctx context.Context, e AuditEvent, hash func(AuditEvent) []byte) (AuditEvent, error)
	// ListAudit returns events in Seq order (descending with Desc).
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// PruneAudit deletes events older than before and returns how many.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
	// GetAuditHead returns the chain head. Deleting events (PruneAudit
	// included) never moves it.
	GetAuditHead(ctx context.Context) (AuditHead, error)
}

// ---------------------------------------------------------------- revocations

// Revocation is one entry of the cluster-wide revocation feed.
type Revocation struct {
	Seq int64 // assigned by the store, strictly increasing: the feed cursor
	// Kind is one of the guard's Revoke* kinds (guard.RevokeToken, …),
	// which say what Value names. The store never interprets it: it keeps
	// an opaque string, so the guard's deny list is the one place that
	// gives kinds a meaning and the store needs only the standard library.
	Kind      string
	Value     string
	At        time.Time // tokens issued at or before At are refused
	ExpiresAt time.Time // the entry can be forgotten after this
	CreatedAt time.Time
}

// Revocations stores the revocation feed.
type Revocations interface {
	// AddRevocation appends an entry and returns it with Seq set.
	AddRevocation(ctx context.Context, r Revocation) (Revocation, error)
	// ListRevocations returns entries with Seq > afterSeq that have not
	// expired at now, in Seq order, at most limit (0 = all).
	ListRevocations(ctx context.Context, afterSeq int64, now time.Time, limit int) ([]Revocation, error)
}

// ---------------------------------------------------------------- sessions and consent

// Session is a browser login session at the authorization endpoint.
type Session struct {
	Hash      []byte // SHA-256 of the cookie value
	UserID    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions stores login sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, hash []byte) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, userID string) error
}

// Consent remembers that a user granted a client a set of scopes.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// Consents stores remembered consent.
type Consents interface {
	// PutConsent creates or replaces the consent for (UserID, ClientID).
	PutConsent(ctx context.Context, c Consent) error
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	DeleteConsents(ctx context.Context, userID, clientID string) error
}

// JoinScopes renders scopes as the space-separated string stored in the
// database and used on the wire.
func JoinScopes(s []string) string { return strings.Join(s, " ") }

// SplitScopes parses a space-separated scope string; "" gives nil.
func SplitScopes(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return f
}
