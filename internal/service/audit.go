package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// AuditEntry is an audit event as the CLI (`audit --json`) and the admin
// API show it: the stored event with the names of its actor and target
// beside their ids. Names are resolved when the log is read, so they are
// current, and an id whose user or client no longer exists has none.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	Actor     string    `json:"actor"`
	ActorName string    `json:"actor_name"` // username (of a user id, or of an "apikey:<id>" key's owner) or client name; "" if none
	Target    string    `json:"target"`
	// TargetName is the username or client name of Target; "" if none.
	TargetName string `json:"target_name"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
	RequestID  string `json:"request_id"`
	Result     string `json:"result"`
	Reason     string `json:"reason"`
}

// actorAPIKeyPrefix starts the actor of an event done with an API key:
// "apikey:<key id>".
const actorAPIKeyPrefix = "apikey:"

// ListAudit returns the audit events matching f in Seq order (newest first
// with f.Desc), with the names of their actors and targets.
//
// A filter that could only match nothing by mistake is refused (Invalid,
// naming the known values): an f.Action that is not one of
// [audit.Actions], an f.Result other than success or failure. f.Actor may
// be a username: it then matches that user's id as well as the value
// itself, which may also be a client id, an id, "cli" or "apikey:<key
// id>" (f.Actors must then be empty).
func (m *Manager) ListAudit(ctx context.Context, f store.AuditFilter) ([]AuditEntry, error) {
	if f.Action != "" && !audit.KnownAction(f.Action) {
		known := make([]string, 0, len(audit.Actions()))
		for _, a := range audit.Actions() {
			known = append(known, string(a))
		}
		return nil, errorf(Invalid, "invalid_action", "unknown action; the known actions are %s", strings.Join(known, ", "))
	}
	if f.Result != "" && !audit.KnownResult(f.Result) {
		return nil, errorf(Invalid, "invalid_result", "unknown result; the known results are %s and %s", audit.ResultSuccess, audit.ResultFailure)
	}
	if f.Actor != "" && len(f.Actors) == 0 {
		if name, err := NormalizeUsername(f.Actor); err == nil {
			u, err := m.Store.GetUserByUsername(ctx, name)
			switch {
			case err == nil && u.ID != f.Actor:
				f.Actors, f.Actor = []string{f.Actor, u.ID}, ""
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("get user: %w", err)
			}
		}
	}
	evs, err := m.Store.ListAudit(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	names := auditNames{m: m, known: make(map[string]string)}
	out := make([]AuditEntry, len(evs))
	for i, e := range evs {
		out[i] = AuditEntry{
			Seq: e.Seq, Time: e.Time, Action: e.Action, Actor: e.Actor, Target: e.Target, IP: e.IP,
			UserAgent: e.UserAgent, RequestID: e.RequestID, Result: e.Result, Reason: e.Reason,
		}
		if out[i].ActorName, err = names.of(ctx, e.Actor); err != nil {
			return nil, err
		}
		if out[i].TargetName, err = names.of(ctx, e.Target); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// auditNames resolves the ids in audit events to names, each once.
type auditNames struct {
	m     *Manager
	known map[string]string
}

// of returns the username of a user id, the owner's username of
// "apikey:<key id>", the name of a client id, or "" for anything else
// (cli, a key id, a family, a user or client that no longer exists).
func (n auditNames) of(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if name, ok := n.known[id]; ok {
		return name, nil
	}
	var name string
	if keyID, ok := strings.CutPrefix(id, actorAPIKeyPrefix); ok {
		k, err := n.m.Store.GetAPIKey(ctx, keyID)
		if err == nil {
			name, err = n.of(ctx, k.UserID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("get api key: %w", err)
		}
	} else {
		var err error
		if looksLikeID(id) { // users only ever have minted ids
			var u store.User
			if u, err = n.m.Store.GetUser(ctx, id); err == nil {
				name = u.Username
			}
		}
		if name == "" && (err == nil || errors.Is(err, store.ErrNotFound)) {
			var c store.Client
			if c, err = n.m.Store.GetClient(ctx, id); err == nil {
				name = c.Name
			}
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("resolve audit id: %w", err)
		}
	}
	n.known[id] = name
	return name, nil
}

// Time bounds accepted by [ParseTimeBound]: an audit log has nothing
// before the Unix epoch, and RFC 3339 ends with year 9999.
var (
	minTimeBound = time.Unix(0, 0).UTC()
	maxTimeBound = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseTimeBound reads a time filter (the audit log's since and until):
// an RFC 3339 time, or a duration back from now ("90m", "7d"). name
// names the parameter in the error. A time before 1970 or after 9999 is
// refused (Invalid, invalid_time) rather than taken: the zero time would
// otherwise mean "no bound" and an absurd one is a mistake.
func ParseTimeBound(name, s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d, derr := ParseDuration(s)
		if derr != nil || d <= 0 {
			return time.Time{}, errorf(Invalid, "invalid_time", "%s must be an RFC 3339 time or a duration such as 1h or 7d", name)
		}
		t = now.Add(-d)
	}
	if t = t.UTC(); t.Before(minTimeBound) || t.After(maxTimeBound) {
		return time.Time{}, errorf(Invalid, "invalid_time", "%s must fall between 1970 and 9999", name)
	}
	return t, nil
}
