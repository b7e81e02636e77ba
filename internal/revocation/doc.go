// Package revocation keeps the in-memory deny list that every guard check
// consults, and keeps it in step with the cluster-wide revocation feed.
//
// A [Set] holds revoked access tokens (jti), refresh families, API keys and
// signing keys, and "revoked before" times for users and clients, each
// until it expires. It implements guard.RevocationChecker without touching
// a database and without allocating. A [Revoker] writes a revocation to the
// store and applies it to the local Set at once; a [Feed] polls the store
// so that revocations made by other replicas (or the CLI) reach this one
// within a poll interval.
//
// The package stands alone so that the token, introspection and management
// code and the server wiring share one deny list. It depends on
// internal/store's interfaces and the guard's types, never on a database
// driver.
package revocation
