// Package token serves the OAuth2 token endpoint, POST /oauth2/token
// (RFC 6749 §3.2), with one Grant per file.
//
// The Handler owns everything that every grant needs — parsing the form
// once, client authentication, scope narrowing, audit events and the
// response headers — so that no grant can skip them. Grants only decide who
// the token is for. It must not import another endpoint package.
package token
