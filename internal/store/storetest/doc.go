// Package storetest is the conformance suite every [store.Store]
// implementation must pass.
//
// [Run] checks the behaviour of each entity one at a time: CRUD, the
// ErrNotFound / ErrConflict / ErrUsed contracts, list filters, order and
// cursor pagination, expiry and cleanup, time round-trips (UTC, truncated
// to microseconds), nil versus set pointers and byte slices, and updater
// semantics. [RunConcurrent] checks the races the store must win: single-use
// codes and refresh tokens, the audit hash chain, updaters that must not
// lose writes and the ordering of the revocation feed.
//
// Both take an open function that returns a fresh, empty, migrated store
// for every subtest; the suite never cleans up after itself. The package
// depends on store, testing and go-cmp only, so it knows no backend.
package storetest
