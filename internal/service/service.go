package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Manager performs every administrative and self-service operation.
// All fields except Keys are required; the zero Now means time.Now.
type Manager struct {
	Store   store.Store
	Hasher  *password.Hasher
	Keys    *signing.Keys
	Audit   *audit.Recorder
	Revoker *revocation.Revoker
	Logger  *slog.Logger

	// APIKeyPrefix is the prefix of new API keys ("gk_" when empty).
	APIKeyPrefix string
	// MaxTokenTTL bounds how long a revocation entry for a user or client
	// must be remembered: the longest lifetime of an access token.
	MaxTokenTTL time.Duration
	Now         func() time.Time
	// Changes hears of every change to a user, client, API key or signing
	// key: this process's caches drop the record at once, and the other
	// replicas through the revocation feed. Nil tells no one (a tool with
	// nothing cached).
	Changes *changes.Stream
}

// publish announces c here and to every replica. A notice that cannot be
// written is logged: the change is made, and other replicas' caches catch
// up when their entries expire.
func (m *Manager) publish(ctx context.Context, c changes.Change) {
	if m.Changes == nil {
		return
	}
	if err := m.Changes.Publish(ctx, c); err != nil && m.Logger != nil {
		m.Logger.WarnContext(ctx, "publish change notice", "kind", string(c.Kind), "err", err)
	}
}

// applyHere announces c to this process only: the revocation entry the
// caller writes carries the news to the other replicas.
func (m *Manager) applyHere(c changes.Change) {
	if m.Changes != nil {
		m.Changes.Apply(c)
	}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return store.Normalize(m.Now())
	}
	return store.Normalize(time.Now())
}

func (m *Manager) apiKeyPrefix() string {
	if m.APIKeyPrefix == "" {
		return "gk_"
	}
	return m.APIKeyPrefix
}

// Kind classifies a service error; the HTTP API maps it to a status code.
type Kind int

// Error kinds.
const (
	Invalid   Kind = iota + 1 // 400: the input is wrong
	NotFound                  // 404
	Conflict                  // 409: e.g. the username is taken
	Forbidden                 // 403: e.g. scopes beyond the caller's
)

// Error is an error that is safe to show to the person who made the request.
type Error struct {
	Kind    Kind
	Code    string // stable machine-readable code, e.g. "invalid_username"
	Message string
	// Scope, for a Forbidden insufficient_scope error, names the scopes
	// (space-separated) that the credential would have needed.
	Scope string
}

func (e *Error) Error() string { return e.Message }

// errorf builds an Error. Messages often name the value that was wrong,
// and a client may have pasted a credential there: whatever has the shape
// of one is replaced by secret.Redacted.
func errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: secret.Redact(fmt.Sprintf(format, args...))}
}

// notFound maps store.ErrNotFound to a friendly error, passes an *Error
// (an update step's own refusal) through and wraps the rest. A name that
// is a credential (someone pasted a key or secret where an id belongs) is
// not repeated back: error messages end up in terminals, logs and JSON
// bodies.
func notFound(err error, what, name string) error {
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, store.ErrNotFound) {
		if id, ok := CredentialID(name); ok {
			return errorf(NotFound, "not_found", "%s not found: that is a secret (not shown), not an id; its id is %s", what, id)
		}
		if secret.Contains(name) {
			return errorf(NotFound, "not_found", "%s not found: that is a secret or token (not shown), not an id", what)
		}
		return errorf(NotFound, "not_found", "%s %q not found", what, name)
	}
	return fmt.Errorf("get %s: %w", what, err)
}

// notSecret refuses a value that is kept as data (a name, a scope, a
// redirect URI) when it holds something shaped like a credential
// (secret.Contains): the database would hold it in plain text, and every
// listing would show it.
func notSecret(code, what, v string) error {
	if secret.Contains(v) {
		return errorf(Invalid, code, "%s must not hold a key, secret or token (not shown)", what)
	}
	return nil
}

// CredentialID reports whether s is shaped like one of gatehouse's
// credentials (an API key, client secret or refresh token: prefix, id,
// secret part and a valid checksum) and returns its embedded id, which is
// safe to show.
func CredentialID(s string) (string, bool) {
	i := strings.IndexByte(s, '_')
	if i < 0 || i > 16 {
		return "", false
	}
	id, err := secret.Parse(s[:i+1], s)
	if err != nil {
		return "", false
	}
	return id, true
}

func (m *Manager) record(ctx context.Context, a audit.Actor, action audit.Action, target, result, reason string) {
	m.Audit.Record(ctx, a.Event(action, target, result, reason))
}
