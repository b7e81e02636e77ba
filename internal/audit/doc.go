// Package audit records gatehouse's security events in a tamper-evident,
// append-only log.
//
// Every event is a typed dotted [Action] (login.failed, apikey.revoked, …)
// with who did it, to what, from where and with what result. A [Recorder]
// writes each event through [store.AuditLog] and also emits it as one
// structured slog line, so the log and the database tell the same story.
//
// The events form a hash chain (see [ChainHash]): each stored event carries
// the hash of its predecessor, and the store keeps the chain's head (the
// newest Seq and Hash) apart from the events, so [Verify] can tell an
// edited, deleted (the newest included) or reordered row from an intact
// log, while [Prune] removes old events without breaking that check. High-volume API-key use is coalesced by a
// [UsageAggregator] into one event per key per minute.
//
// Events must never carry secrets: callers pass identifiers (user, client
// and API key ids, key prefixes, family ids, jtis), never passwords, tokens,
// API keys or client secrets.
//
// The package stands alone so that the token endpoint, the management layer
// and the server can all record events without importing each other. It
// imports only the standard library and internal/store, never a database
// driver.
package audit
