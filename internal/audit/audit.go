package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/text"
)

// Action names what happened, as a dotted "noun.verb" string.
type Action string

// Actions recorded by gatehouse.
const (
	LoginSucceeded Action = "login.succeeded"
	LoginFailed    Action = "login.failed"
	LoginLocked    Action = "login.locked"

	TokenIssued        Action = "token.issued"
	TokenRefreshed     Action = "token.refreshed"
	TokenRevoked       Action = "token.revoked"
	TokenReuseDetected Action = "token.reuse_detected"

	CodeIssued   Action = "code.issued"
	CodeReplayed Action = "code.replayed"

	ConsentGranted Action = "consent.granted"
	ConsentDenied  Action = "consent.denied"

	APIKeyCreated Action = "apikey.created"
	// APIKeyUsed is aggregated: one event per key per minute, written by
	// [UsageAggregator] with Reason "count=N …".
	APIKeyUsed    Action = "apikey.used"
	APIKeyRevoked Action = "apikey.revoked"
	APIKeyRotated Action = "apikey.rotated"
	APIKeyUpdated Action = "apikey.updated"

	ClientCreated       Action = "client.created"
	ClientUpdated       Action = "client.updated"
	ClientDeleted       Action = "client.deleted"
	ClientSecretRotated Action = "client.secret_rotated"

	UserCreated         Action = "user.created"
	UserDisabled        Action = "user.disabled"
	UserEnabled         Action = "user.enabled"
	UserPasswordChanged Action = "user.password_changed"
	UserLoggedOut       Action = "user.logged_out"
	UserUpdated         Action = "user.updated"
	// UserUnlocked: an admin ended the throttling of the user's failed
	// logins (Reason "enabled" or "password_changed" when enabling the user
	// or resetting the password ended a lock in force).
	UserUnlocked Action = "user.unlocked"

	KeyCreated Action = "key.created"
	KeyRotated Action = "key.rotated"
	KeyRevoked Action = "key.revoked"

	RateLimitExceeded Action = "ratelimit.exceeded"

	// AuditPruned is written by [Prune]; its Reason carries the chain
	// anchor that lets [Verify] check the log after old events are gone.
	AuditPruned Action = "audit.pruned"
)

// Actions returns every action gatehouse records, in declaration order,
// so that a filter can refuse a name no event can carry. A new Action
// constant belongs here too (a test parses this file to check).
func Actions() []Action {
	return []Action{
		LoginSucceeded, LoginFailed, LoginLocked,
		TokenIssued, TokenRefreshed, TokenRevoked, TokenReuseDetected,
		CodeIssued, CodeReplayed,
		ConsentGranted, ConsentDenied,
		APIKeyCreated, APIKeyUsed, APIKeyRevoked, APIKeyRotated, APIKeyUpdated,
		ClientCreated, ClientUpdated, ClientDeleted, ClientSecretRotated,
		UserCreated, UserDisabled, UserEnabled, UserUnlocked, UserPasswordChanged, UserLoggedOut, UserUpdated,
		KeyCreated, KeyRotated, KeyRevoked,
		RateLimitExceeded,
		AuditPruned,
	}
}

// KnownAction reports whether s names one of [Actions].
func KnownAction(s string) bool {
	return slices.Contains(Actions(), Action(s))
}

// Results of an event.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// KnownResult reports whether s is [ResultSuccess] or [ResultFailure].
func KnownResult(s string) bool { return s == ResultSuccess || s == ResultFailure }

// MaxFieldLen bounds every string field of a recorded event, in bytes.
// Longer values (an attacker's 1 MiB User-Agent) are cut at a character
// boundary so that one request cannot bloat the log.
const MaxFieldLen = 512

// Actor says who asked for what an event records: the user, client or API
// key ("apikey:<id>"), "cli" for the command line, and the request it came
// in (client address, User-Agent, request id) when there was one.
type Actor struct {
	ID        string
	IP        string
	UserAgent string
	RequestID string
}

// CLI is the actor of commands run on the server's machine.
func CLI() Actor { return Actor{ID: "cli"} }

// Event returns the event of a's action on target.
func (a Actor) Event(action Action, target, result, reason string) Event {
	return Event{Action: action, Actor: a.ID, Target: target, IP: a.IP, UserAgent: a.UserAgent,
		RequestID: a.RequestID, Result: result, Reason: reason}
}

// Event is one security event as callers describe it. The [Recorder] adds
// the time; the store adds the sequence number and the chain hashes.
//
// Never put secrets in an event: pass ids (user, client, API key id, key
// prefix, refresh family, jti), never a password, token, API key, client
// secret or authorization code.
type Event struct {
	Action    Action
	Actor     string // who acted: user, client or API key id; "" = anonymous
	Target    string // what was acted on, usually an id
	IP        string
	UserAgent string
	RequestID string
	Result    string // ResultSuccess or ResultFailure
	Reason    string // short machine-friendly detail, e.g. "bad_password"
}

// Recorder writes events to the audit log and to the structured log.
//
// Store is where events are appended; when it is nil the recorder only
// logs (useful for a guard-only process). Logger receives one Info line per
// event, message "audit"; nil means no log line. Now defaults to
// [time.Now]. A Recorder is safe for concurrent use once its fields are set.
//
// When Store can append a batch in one transaction ([BatchAppender], as
// sqlstore does), concurrent Record calls are group-committed: the first
// caller writes its event together with every event that arrived while the
// previous batch was being written, so a burst of security events costs a
// few transactions instead of one each. Record still returns only once its
// own event is stored. When a batch fails, its events are written again one
// by one, so that an event the store refuses loses no other: it alone gets
// the error (and its ERROR log line, with every field). A store that keeps
// failing is taken for down after two failures in a row; the rest of the
// batch then gets the error without another try.
type Recorder struct {
	Store  store.AuditLog
	Logger *slog.Logger
	Now    func() time.Time

	mu      sync.Mutex
	queue   []*pendingEvent
	writing bool
}

// BatchAppender appends several events to the chain in one transaction, in
// order, as that many AppendAudit calls would.
type BatchAppender interface {
	AppendAuditBatch(ctx context.Context, es []store.AuditEvent, hash func(store.AuditEvent) []byte) ([]store.AuditEvent, error)
}

// maxBatch bounds one group commit.
const maxBatch = 256

type pendingEvent struct {
	e    store.AuditEvent
	out  store.AuditEvent
	err  error
	done chan struct{}
}

// appendEvent stores ae, group-committing with concurrent callers when the
// store supports batches.
func (r *Recorder) appendEvent(ctx context.Context, ae store.AuditEvent) (store.AuditEvent, error) {
	ba, ok := r.Store.(BatchAppender)
	if !ok {
		return r.Store.AppendAudit(ctx, ae, ChainHash)
	}
	p := &pendingEvent{e: ae, done: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	if r.writing {
		r.mu.Unlock()
		select {
		case <-p.done:
			return p.out, p.err
		case <-ctx.Done():
			// The event stays queued and is still written by the
			// current writer; this caller stops waiting.
			return store.AuditEvent{}, ctx.Err()
		}
	}
	r.writing = true
	for {
		batch := r.queue
		if len(batch) > maxBatch {
			batch = batch[:maxBatch]
		}
		r.queue = r.queue[len(batch):]
		if len(batch) == 0 {
			r.writing = false
			r.mu.Unlock()
			return p.out, p.err
		}
		r.mu.Unlock()
		es := make([]store.AuditEvent, len(batch))
		for i, q := range batch {
			es[i] = q.e
		}
		// The batch holds other callers' events: do not let this
		// caller's cancellation drop them.
		wctx := context.WithoutCancel(ctx)
		out, err := ba.AppendAuditBatch(wctx, es, ChainHash)
		switch {
		case err == nil:
			for i, q := range batch {
				q.out = out[i]
			}
		case len(batch) == 1:
			batch[0].err = err
		default:
			r.appendOneByOne(wctx, batch)
		}
		for _, q := range batch {
			close(q.done)
		}
		r.mu.Lock()
	}
}

// maxOutageRetries is how many single appends in a row may fail, other
// than by refusing their event's text, before appendOneByOne takes the
// store for down and fails the rest of the batch without trying.
const maxOutageRetries = 2

// appendOneByOne writes the events of a failed batch alone, in order: one
// event the store refuses fails a whole transaction, and must lose no
// other. A store that is down would fail every one of them, each after
// its own timeout, while every caller waits; so after maxOutageRetries
// failures in a row the remaining events get the last error untried.
func (r *Recorder) appendOneByOne(ctx context.Context, batch []*pendingEvent) {
	var (
		failures int
		lastErr  error
	)
	for _, q := range batch {
		if failures >= maxOutageRetries {
			q.err = lastErr
			continue
		}
		q.out, q.err = r.Store.AppendAudit(ctx, q.e, ChainHash)
		switch {
		case q.err == nil, errors.Is(q.err, store.ErrInvalidText):
			failures = 0
		default:
			failures++
			lastErr = q.err
		}
	}
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Record appends e to the hash-chained audit log (through
// [store.AuditLog.AppendAudit] with [ChainHash]) and logs it. The event
// time is the recorder's clock, normalised to UTC microseconds. String
// fields are made storable with [text.Clip]: invalid UTF-8 and NUL bytes
// become U+FFFD, and fields longer than [MaxFieldLen] are cut on a
// character boundary, so every backend stores the same text and a
// hostile User-Agent cannot keep an event out of the log. The log line is
// written either way, at error level with the cause when the event could
// not be stored, so a database outage still leaves a trace; an audit write
// never fails the operation it describes. A nil Recorder records nothing.
func (r *Recorder) Record(ctx context.Context, e Event) {
	if r != nil {
		_, _ = r.record(ctx, e)
	}
}

// Append is [Recorder.Record] for a caller that must not go on unless the
// event was stored (the anchor a prune writes first).
func (r *Recorder) Append(ctx context.Context, e Event) error {
	_, err := r.record(ctx, e)
	return err
}

func (r *Recorder) record(ctx context.Context, e Event) (store.AuditEvent, error) {
	if e.Action == "" {
		return store.AuditEvent{}, errors.New("record audit event: empty action")
	}
	e = redacted(e)
	ae := store.AuditEvent{
		Time:      store.Normalize(r.now()),
		Action:    clip(string(e.Action)),
		Actor:     clip(e.Actor),
		Target:    clip(e.Target),
		IP:        clip(e.IP),
		UserAgent: clip(e.UserAgent),
		RequestID: clip(e.RequestID),
		Result:    clip(e.Result),
		Reason:    clip(e.Reason),
	}
	var err error
	if r.Store != nil {
		var stored store.AuditEvent
		stored, err = r.appendEvent(ctx, ae)
		if err == nil {
			ae = stored
		} else {
			err = fmt.Errorf("record audit event %s: %w", e.Action, err)
		}
	}
	r.log(ctx, ae, err)
	return ae, err
}

func (r *Recorder) log(ctx context.Context, e store.AuditEvent, err error) {
	if r.Logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("action", e.Action),
		slog.String("actor", e.Actor),
		slog.String("target", e.Target),
		slog.String("ip", e.IP),
		slog.String("user_agent", e.UserAgent),
		slog.String("request_id", e.RequestID),
		slog.String("result", e.Result),
		slog.String("reason", e.Reason),
	}
	if e.Seq != 0 {
		attrs = append(attrs, slog.Int64("seq", e.Seq))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	r.Logger.LogAttrs(ctx, level, "audit", attrs...)
}

func clip(s string) string { return text.Clip(s, MaxFieldLen) }

// redacted returns e with anything shaped like a credential replaced by
// secret.Redacted. Callers pass identifiers, but some fields carry what a
// client sent (its User-Agent, a username it typed), and a credential
// pasted there must reach neither the database nor the log.
func redacted(e Event) Event {
	for _, f := range []*string{&e.Actor, &e.Target, &e.IP, &e.UserAgent, &e.RequestID, &e.Result, &e.Reason} {
		*f = secret.Redact(*f)
	}
	return e
}
