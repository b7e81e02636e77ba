// Package revoke serves token revocation, POST /oauth2/revoke (RFC 7009):
// a client gives up an access token or a refresh token it holds.
//
// Access tokens are verified by the embedded guard and revoked by their
// jti through the revocation feed (this node refuses them at once, the
// other replicas and remote guards within the feed's delay); a refresh
// token revokes its whole family in the store and on the feed. The client
// authenticates through clientauth, as at the token endpoint. The package
// must not import another endpoint package (token, introspect, userinfo,
// discovery).
package revoke
