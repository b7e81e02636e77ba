// Package rest serves gatehouse's JSON resource API: the caller's own
// account (/users/me, /users/me/logout, /api-keys) and the operator API
// under /admin/, and it defines the JSON views of users, API keys,
// clients, signing keys and audit entries that the API answers and the
// CLI's --json prints, so that the two cannot drift apart.
//
// Every route runs behind the guard. /users/me and the self-service routes
// take any credential of a user (by bearer access token or by API key,
// X-API-Key or Authorization: Bearer gk_...); /admin/* needs the "admin"
// scope. A missing credential gets 401 with WWW-Authenticate: Bearer
// realm="gatehouse"; a bad one 401 invalid_token; a credential without the
// scope 403 insufficient_scope. The self-service routes refuse a client's
// credential (client credentials) with 403 not_a_user, and managing keys
// and sessions follows the service layer's account rule (a password login,
// or the "account" scope).
//
// Handlers parse the request once, call the service layer (the one the CLI
// uses; never the store) and return a reply or an error; one writer
// answers. Every change is audited there, with the caller as actor (their
// user id, or "apikey:<key id>" for an API key).
//
// Errors are JSON {"error","error_description"} with a stable code,
// written by jsonerror.Write: 400 invalid_json (bad JSON, unknown
// field, trailing data), invalid_request, invalid_limit, invalid_cursor,
// invalid_order, invalid_time, invalid_expiry, and the service codes
// (invalid_username, invalid_password, invalid_scope, invalid_grant_type,
// invalid_redirect_uri, …); 403 not_a_user, insufficient_scope (with the
// Bearer challenge naming the scope); 404 not_found; 409 username_taken,
// cannot_disable_self; 413 request_too_large; 500 server_error (logged
// once, with the route, never the path).
//
// Lists are paged by cursor: ?limit=N (1–500, default 50) and
// ?after=<next_cursor of the previous page>; the body is
// {"items":[...],"next_cursor":"..."} and next_cursor is absent on the last
// page. {user} is a user id or a username.
//
// Routes (method, path, request body → response):
//
//	GET    /users/me                      → 200 Me
//	POST   /users/me/logout               no body → 200 Logout (revokes every token issued to the caller so far)
//	POST   /api-keys                      {"name","scopes":[...],"expires_in":"90d","rate_limit":"10/s"} (each optional) → 201 APIKey with key
//	GET    /api-keys                      ?after&limit → 200 {"items":[APIKey],"next_cursor"}
//	DELETE /api-keys/{id}                 → 200 APIKey (revoked_at set)
//
//	GET    /admin/users                   ?after&limit → 200 {"items":[User],"next_cursor"}
//	POST   /admin/users                   {"username","password","scopes":[...],"admin"} → 201 User
//	GET    /admin/users/{user}            → 200 User
//	PUT    /admin/users/{user}/scopes     {"scopes":[...]} → 200 User
//	POST   /admin/users/{user}/disable    no body → 200 User (refuses logins, revokes tokens)
//	POST   /admin/users/{user}/enable     no body → 200 User
//	POST   /admin/users/{user}/password   {"password"} → 200 User (reset password)
//	POST   /admin/users/{user}/logout     no body → 200 User (revokes every token issued so far)
//	POST   /admin/users/{user}/unlock     no body → 200 User (ends the throttling of failed logins)
//	GET    /admin/users/{user}/api-keys   ?after&limit → 200 {"items":[APIKey],"next_cursor"}
//	GET    /admin/api-keys                ?user&after&limit → 200 {"items":[APIKey],"next_cursor"}
//	GET    /admin/api-keys/{id}           → 200 APIKey
//	DELETE /admin/api-keys/{id}           → 200 APIKey (revoked_at set)
//	GET    /admin/clients                 ?after&limit → 200 {"items":[Client],"next_cursor"}
//	POST   /admin/clients                 {"name","grant_types":[...],"redirect_uris":[...],"public","scopes":[...],"rate_limit"} → 201 Client with client_secret
//	GET    /admin/clients/{id}            → 200 Client
//	PATCH  /admin/clients/{id}            {"name","grant_types","redirect_uris","scopes","rate_limit"} (each optional) → 200 Client
//	DELETE /admin/clients/{id}            → 204 (revokes its tokens)
//	POST   /admin/clients/{id}/secret     no body → 200 Client with the new client_secret (rotate)
//	GET    /admin/signing-keys            ?after&limit → 200 {"items":[SigningKey],"next_cursor"}
//	POST   /admin/signing-keys/rotate     no body → 201 SigningKey (the new key)
//	DELETE /admin/signing-keys/{kid}      → 200 RevokedSigningKey {"kid","revoked":true} (every token it signed is refused)
//	GET    /admin/audit                   ?since&until&actor&action&result&order&after&limit → 200 {"items":[AuditEntry],"next_cursor"}
//
// The shapes are the exported view types of this package ([User],
// [APIKey], [Client], [SigningKey], [AuditEntry], [Me], [Logout]); times
// are RFC 3339, UTC. Audit filters: since and until take an RFC 3339 time
// or a duration back from now ("1h", "7d"); actor, action and result match
// exactly (actor also takes a username). Events come oldest first, or
// newest first with order=desc; the cursor is the sequence number.
//
// Responses carry Cache-Control: no-store. The package imports the service
// layer, the guard, httpmw (the audit actor of a request) and jsonerror;
// no other endpoint package.
package rest
