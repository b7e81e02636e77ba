// Package revocation keeps a replica's deny list in step with the
// cluster-wide revocation feed, and serves that feed to remote guards.
//
// The deny list itself is the guard's [guard.DenyList], the one
// implementation of the revocation rules (jti, refresh family, API key,
// signing key, and "revoked before" times for users and clients), shared
// by the embedded and the remote guard. A [Revoker] writes a revocation to
// the store and applies it to the local list at once; a [Feed] polls the
// store so that revocations made by other replicas (or the CLI) reach this
// one within a poll interval, and hands every new entry, change notices
// ([guard.RevokeEvent]) included, to its subscribers; a [Stream] serves
// them to remote guards as server-sent events.
//
// The package depends on internal/store's interfaces and the guard's
// types, never on a database driver.
package revocation
