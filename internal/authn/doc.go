// Package authn authenticates callers on the hot path: [Verifier] checks
// API keys for the guard, and [UserCache] names the subject of a bearer
// token. Both read the store through a short [cache.Cache], so a busy key
// or user costs one store read per TTL, not one per request, and both are
// told of changes through their Forget methods.
//
// It stands apart from the service layer (which changes users and keys)
// so that the request path depends on a few store reads and nothing else.
// It imports store, secret, oauth, ratelimit, cache and guard, never an
// endpoint package or the service layer.
package authn
