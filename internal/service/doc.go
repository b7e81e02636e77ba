// Package service is the service layer that the CLI and the HTTP APIs share:
// users and their passwords, API keys, OAuth2 clients, signing keys and the
// audit trail of every change.
//
// It stands alone so that `gatehouse user create` and `POST /admin/users`
// cannot drift apart: both call the same method, which validates input,
// enforces the scope invariants (a credential never carries more than its
// owner has), writes through the store, records an audit event and, where
// a change must reach every replica, a revocation entry.
//
// It imports the store and the building blocks (password, secret, signing,
// audit, revocation, oauth); it must not import an endpoint package or a
// database driver.
package service
