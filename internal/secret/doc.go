// Package secret mints, parses, hashes and compares gatehouse's opaque
// credentials: API keys, refresh tokens, authorization codes, client secrets
// and session cookies.
//
// Every credential has the form
//
//	<prefix><id>_<body><checksum>
//
// where prefix names the kind of credential (for example "gk_" for API keys;
// it matches ^[a-z][a-z0-9]{0,15}_$), id is [IDLen] characters of lower-case
// base32 carrying 60 random bits (a non-secret identifier that lets a server
// find the record with one primary-key lookup), body is [BodyLen] characters
// of base62 encoding 32 random bytes (256 bits), and checksum is
// [ChecksumLen] characters of base62 encoding the CRC-32 (IEEE) of everything
// before it, as GitHub's token format does. The length is fixed for a given
// prefix ([Len]). The checksum lets [Parse] reject a mistyped or truncated
// credential without touching a database; it is not a security measure.
//
// Credentials are high-entropy and made by the server, so they are stored as
// a plain SHA-256 ([Hash]) and compared in constant time ([Matches]); a slow
// password hash would add cost and no security.
//
// The package stands alone so that every issuer and verifier of opaque
// credentials shares one format. It imports the standard library only.
package secret
