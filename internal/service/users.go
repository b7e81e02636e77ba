package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ScopeAdmin is the scope that the admin API requires. Users created with
// Admin get it.
const ScopeAdmin = "admin"

// NormalizeUsername returns the canonical form of a username (Unicode NFKC,
// lower case) or an error that says what is wrong with it. Canonical forms
// make "Alice", "ALICE" and "Ａｌｉｃｅ" one account. It is what finds a user
// (logins, lookups); a name to be created must also pass NewUsername.
func NormalizeUsername(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", errorf(Invalid, "invalid_username", "username is not valid UTF-8")
	}
	n := strings.ToLower(norm.NFKC.String(strings.TrimSpace(name)))
	if l := utf8.RuneCountInString(n); l < 2 || l > 64 {
		return "", errorf(Invalid, "invalid_username", "username must be 2 to 64 characters long")
	}
	for _, r := range n {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '.', r == '_', r == '-', r == '@', r == '+':
		default:
			return "", errorf(Invalid, "invalid_username",
				"username may contain only letters, digits and . _ - @ + (found %q)", r)
		}
	}
	if strings.HasPrefix(n, "-") || strings.HasPrefix(n, ".") {
		return "", errorf(Invalid, "invalid_username", "username must start with a letter or digit")
	}
	return n, nil
}

// ParseScopes validates a scope list given as separate words or one
// space-separated string per element. A scope name is an RFC 6749 §3.3
// scope token without a comma: §3.3 allows commas, but "read,write" is
// nearly always two scopes written as a list, and a scope named so would
// make every list ambiguous.
func ParseScopes(in []string) ([]string, error) {
	s, oerr := oauth.ParseScope(strings.Join(in, " "))
	if oerr != nil {
		return nil, errorf(Invalid, "invalid_scope", "%s", oerr.Description)
	}
	for _, sc := range s {
		if err := notSecret("invalid_scope", "a scope", sc); err != nil {
			return nil, err
		}
		if strings.Contains(sc, ",") {
			return nil, errorf(Invalid, "invalid_scope",
				"scope %q contains a comma: give each scope separately (a list, or separated by spaces)", sc)
		}
	}
	return s, nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Username string
	Password string // "" creates a user who cannot log in with a password yet
	Scopes   []string
	Admin    bool
}

// CreateUser validates and creates a user (the name by the rules of
// NewUsername). An admin user's scopes always include ScopeAdmin.
func (m *Manager) CreateUser(ctx context.Context, a audit.Actor, in NewUser) (store.User, error) {
	name, err := NewUsername(in.Username)
	if err != nil {
		return store.User{}, err
	}
	scopes, err := ParseScopes(in.Scopes)
	if err != nil {
		return store.User{}, err
	}
	if in.Admin && !contains(scopes, ScopeAdmin) {
		scopes = append(scopes, ScopeAdmin)
	}
	var hash string
	if in.Password != "" {
		if err := password.Validate(in.Password); err != nil {
			return store.User{}, errorf(Invalid, "invalid_password", "%s", err.Error())
		}
		if hash, err = m.Hasher.Hash(ctx, in.Password); err != nil {
			return store.User{}, fmt.Errorf("hash password: %w", err)
		}
	}
	now := m.now()
	u := store.User{
		ID: store.NewID(), Username: name, PasswordHash: hash, Scopes: scopes,
		Admin: in.Admin, CreatedAt: now, UpdatedAt: now,
	}
	if err := m.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.User{}, errorf(Conflict, "username_taken", "username %q is already taken", name)
		}
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	m.record(ctx, a, audit.UserCreated, u.ID, resultSuccess, "")
	return u, nil
}

// FindUser returns a user by username or id.
func (m *Manager) FindUser(ctx context.Context, nameOrID string) (store.User, error) {
	if name, err := NormalizeUsername(nameOrID); err == nil {
		u, err := m.Store.GetUserByUsername(ctx, name)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.User{}, fmt.Errorf("get user: %w", err)
		}
	}
	u, err := m.Store.GetUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, notFound(err, "user", nameOrID)
	}
	return u, nil
}

// ListUsers lists users after a cursor (a username).
func (m *Manager) ListUsers(ctx context.Context, after string, limit int) ([]store.User, error) {
	us, err := m.Store.ListUsers(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// SetDisabled disables or enables a user. Disabling refuses the user's
// logins at once and revokes every token issued to them so far, on every
// replica; their API keys stop working too. Enabling also ends the
// throttling of the user's failed logins, as Unlock does.
func (m *Manager) SetDisabled(ctx context.Context, a audit.Actor, nameOrID string, disabled bool) (store.User, error) {
	u, err := m.FindUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, err
	}
	now := m.now()
	var wasLocked bool
	u, err = m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		u.Disabled = disabled
		u.UpdatedAt = now
		if !disabled {
			clearLock(&u, now, &wasLocked)
		}
		return u, nil
	})
	if err != nil {
		return store.User{}, notFound(err, "user", nameOrID)
	}
	m.publish(ctx, changes.Change{Kind: changes.User, ID: u.ID})
	if disabled {
		if err := m.revokeUserTokens(ctx, u.ID, now); err != nil {
			return u, err
		}
		m.record(ctx, a, audit.UserDisabled, u.ID, resultSuccess, "")
	} else {
		m.record(ctx, a, audit.UserEnabled, u.ID, resultSuccess, "")
		m.unlockedBy(ctx, a, u, wasLocked, "enabled")
	}
	return u, nil
}

// unlockedBy ends the throttling of u's failed logins after another change
// (enable, password reset) and audits it when a lock was in force.
func (m *Manager) unlockedBy(ctx context.Context, a audit.Actor, u store.User, wasLocked bool, why string) {
	m.forgetLogins(ctx, u)
	if wasLocked {
		m.record(ctx, a, audit.UserUnlocked, u.ID, resultSuccess, why)
	}
}

// Logout revokes every access and refresh token issued to a user until now
// ("log out everywhere"). API keys are not affected.
func (m *Manager) Logout(ctx context.Context, a audit.Actor, nameOrID string) (store.User, error) {
	u, err := m.FindUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, err
	}
	if err := m.revokeUserTokens(ctx, u.ID, m.now()); err != nil {
		return u, err
	}
	m.record(ctx, a, audit.UserLoggedOut, u.ID, resultSuccess, "")
	return u, nil
}

func (m *Manager) revokeUserTokens(ctx context.Context, userID string, now time.Time) error {
	if _, err := m.Store.RevokeRefreshTokens(ctx, userID, "", now); err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	if err := m.Store.DeleteUserSessions(ctx, userID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	if m.Revoker != nil {
		if err := m.Revoker.Revoke(ctx, guard.RevokeUser, userID, now, now.Add(m.maxTokenTTL())); err != nil {
			return fmt.Errorf("revoke user tokens: %w", err)
		}
	}
	return nil
}

func (m *Manager) maxTokenTTL() time.Duration {
	if m.MaxTokenTTL <= 0 {
		return 24 * time.Hour
	}
	return m.MaxTokenTTL + time.Minute
}

// SetPassword replaces a user's password and logs the user out everywhere
// (refresh tokens, access tokens issued so far, login sessions), since
// whoever knew the old password may hold them. API keys keep working. It
// also ends the throttling of the user's failed logins, as Unlock does.
func (m *Manager) SetPassword(ctx context.Context, a audit.Actor, nameOrID, pw string) (store.User, error) {
	if err := password.Validate(pw); err != nil {
		return store.User{}, errorf(Invalid, "invalid_password", "%s", err.Error())
	}
	u, err := m.FindUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, err
	}
	hash, err := m.Hasher.Hash(ctx, pw)
	if err != nil {
		return store.User{}, fmt.Errorf("hash password: %w", err)
	}
	now := m.now()
	var wasLocked bool
	u, err = m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		u.PasswordHash = hash
		u.UpdatedAt = now
		clearLock(&u, now, &wasLocked)
		return u, nil
	})
	if err != nil {
		return store.User{}, notFound(err, "user", nameOrID)
	}
	m.record(ctx, a, audit.UserPasswordChanged, u.ID, resultSuccess, "")
	m.unlockedBy(ctx, a, u, wasLocked, "password_changed")
	// Whoever knew the old password may hold its sessions: end them, as
	// Logout does (API keys are separate credentials and keep working).
	if err := m.revokeUserTokens(ctx, u.ID, now); err != nil {
		return u, err
	}
	m.record(ctx, a, audit.UserLoggedOut, u.ID, resultSuccess, "password_changed")
	return u, nil
}

// SetScopes replaces a user's scopes. Credentials are never widened; a
// scope taken away leaves the user's API keys at once (on other replicas
// within the key cache TTL) and the next refresh; access tokens already
// issued keep theirs until they expire.
func (m *Manager) SetScopes(ctx context.Context, a audit.Actor, nameOrID string, scopes []string) (store.User, error) {
	sc, err := ParseScopes(scopes)
	if err != nil {
		return store.User{}, err
	}
	u, err := m.FindUser(ctx, nameOrID)
	if err != nil {
		return store.User{}, err
	}
	now := m.now()
	u, err = m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
		if u.Admin && !contains(sc, ScopeAdmin) {
			sc = append(sc, ScopeAdmin)
		}
		u.Scopes = sc
		u.UpdatedAt = now
		return u, nil
	})
	if err != nil {
		return store.User{}, notFound(err, "user", nameOrID)
	}
	m.publish(ctx, changes.Change{Kind: changes.User, ID: u.ID}) // the user's keys are narrowed to the new scopes at once
	m.record(ctx, a, audit.UserUpdated, u.ID, resultSuccess, "scopes="+store.JoinScopes(sc))
	return u, nil
}

const (
	resultSuccess = "success"
	resultFailure = "failure"
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// looksLikeID reports whether s has the shape of a store.NewID value.
func looksLikeID(s string) bool {
	if len(s) != 26 { // 128 bits in unpadded base32
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}

// RevokeAccessToken refuses the access token with the id jti at once, on
// every replica and every remote guard that follows the revocation feed,
// until it would have expired. The token itself is not needed (an
// embedding application that logged its jti can revoke it).
func (m *Manager) RevokeAccessToken(ctx context.Context, a audit.Actor, jti string) error {
	if jti == "" {
		return errorf(Invalid, "invalid_token_id", "a token id (jti) is required")
	}
	if err := notSecret("invalid_token_id", "a token id", jti); err != nil {
		return err
	}
	now := m.now()
	if err := m.Revoker.Revoke(ctx, guard.RevokeToken, jti, now, now.Add(m.maxTokenTTL()+time.Minute)); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	m.record(ctx, a, audit.TokenRevoked, jti, resultSuccess, "kind=access_token")
	return nil
}
