// Package signing owns gatehouse's JWT signing keys: it creates them, keeps
// their private halves encrypted at rest, rotates and revokes them through
// the store, publishes the public halves as a JWKS (RFC 7517), and mints
// access tokens (RFC 9068) and OpenID Connect ID tokens with them.
//
// # Keys and their lifecycle
//
// Every key is one [store.SigningKey] record with a random kid and one
// pinned algorithm: ES256 keys are P-256 ECDSA, EdDSA keys Ed25519 and RS256
// keys RSA 2048. The private key is serialised as a JWK and sealed with
// AES-256-GCM under the master secret (GATEHOUSE_SECRET), with a random
// 96-bit nonce and the additional data "signing_keys|private_key|<kid>", so a
// ciphertext cannot be moved to another record.
//
// A key is created, published (it appears in the JWKS at once), activates
// (it signs from [store.SigningKey.ActivatesAt]: [Config.PublishDelay] after
// its creation when it replaces another key, so that every verifier has seen
// it first), retires (a newer key took over; the key stays published for
// [Config.MaxTokenTTL] plus a minute so the tokens it signed still verify),
// and expires (it leaves the JWKS). A revoked key leaves the JWKS at once and
// every token it signed is refused.
//
// For each algorithm in use, at most one key is "current" (not retired, not
// revoked) in the store; [Keys.Rotate] replaces it and, when two processes
// rotate at the same moment, exactly one of them wins. The key that signs
// for an algorithm is the key of that algorithm with the latest ActivatesAt
// at or before now that is neither retired nor revoked.
//
// # Algorithms
//
// Access tokens are signed with [Config.Algorithm] (ES256 by default). ID
// tokens are signed with [Config.IDTokenAlgorithm], RS256 by default because
// OpenID Connect Core §15.1 requires every OpenID Provider to support RS256
// ID tokens, so it is the one algorithm every relying party can expect. When the two differ, the package keeps a key of each
// algorithm, created and rotated together, and publishes both in the JWKS.
// In HS256 mode access tokens are signed with the shared secret
// ([Config.HMACSecret], never stored or published) while ID tokens still use
// a published asymmetric key.
//
// # Hot path
//
// The keys are held in an immutable in-memory snapshot behind an atomic
// pointer: [Keys.Sign], [Keys.VerificationKey] and [Keys.JWKS] take no lock
// and never touch the store. [Keys.Reload] re-reads the store (keys rotated or
// revoked by another replica or by the CLI); [Keys.Watch] does so
// periodically, and an unknown kid triggers at most one reload per second.
// Time-driven changes (a key activating, retiring or expiring) are applied
// without a reload.
//
// The package imports the store interfaces, go-jose, the standard library
// and the public guard package (only to assert that [Keys] is a
// [guard.KeySet]); it must not import the endpoint packages or a database
// driver.
package signing
