// Package admin serves gatehouse's operator REST API under /admin/.
//
// Every route needs the "admin" scope, by bearer access token or by API key
// (X-API-Key or Authorization: Bearer gk_...). A missing credential gets 401
// with WWW-Authenticate: Bearer realm="gatehouse"; a bad one 401
// invalid_token; a credential without the admin scope 403
// insufficient_scope. Handlers call the manage service layer (the same one
// the CLI uses) and never the store, and every change is audited there with
// the admin as actor (the admin's user id, or "apikey:<key id>" for an API
// key). The admin API is part of the resource API: it shares the error
// writer, the strict JSON decoder and cursor pagination of internal/api,
// which must not import it.
//
// Errors are JSON {"error","error_description"} with a stable code: 400
// invalid_json (bad JSON, unknown field, trailing data), invalid_limit,
// invalid_cursor, invalid_time, and the manage codes (invalid_username,
// invalid_password, invalid_scope, invalid_grant_type, invalid_redirect_uri,
// …); 404 not_found; 409 username_taken; 413 request_too_large.
//
// Lists are paged by cursor: ?limit=N (1–500, default 50) and
// ?after=<next_cursor of the previous page>; the body is
// {"items":[...],"next_cursor":"..."} and next_cursor is absent on the last
// page. {user} is a user id or a username.
//
// Routes (method, path, request body → response):
//
//	GET    /admin/users                   ?after&limit → 200 {"items":[User],"next_cursor"}
//	POST   /admin/users                   {"username","password","scopes":[...],"admin"} → 201 User
//	GET    /admin/users/{user}            → 200 User
//	PUT    /admin/users/{user}/scopes     {"scopes":[...]} → 200 User
//	POST   /admin/users/{user}/disable    no body → 200 User (refuses logins, revokes tokens)
//	POST   /admin/users/{user}/enable     no body → 200 User
//	POST   /admin/users/{user}/password   {"password"} → 200 User (reset password)
//	POST   /admin/users/{user}/logout     no body → 200 User (revokes every token issued so far)
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
//	DELETE /admin/signing-keys/{kid}      → 200 {"kid","revoked":true} (every token it signed is refused)
//	GET    /admin/audit                   ?since&until&actor&action&result&after&limit → 200 {"items":[AuditEvent],"next_cursor"}
//
// Shapes (times RFC 3339, UTC):
//
//	User       {"id","username","scopes":[...],"admin","disabled","created_at","updated_at"}
//	APIKey     {"id","prefix","name","user","user_id","scopes":[...],"rate_limit","created_at","expires_at","last_used_at","revoked_at"} (never the secret)
//	Client     {"client_id","client_secret" (create and rotate only),"name","grant_types":[...],"redirect_uris":[...],"public","first_party","scopes":[...],"rate_limit","created_at","updated_at"}
//	SigningKey {"kid","alg","status","use":[...],"created_at","activates_at","retired_at","expires_at","revoked_at"}
//	AuditEvent {"seq","time","action","actor","target","ip","user_agent","request_id","result","reason"}
//
// Audit filters: since and until take an RFC 3339 time or a duration back
// from now ("1h", "7d"); actor, action and result match exactly. Events come
// oldest first; the cursor is the sequence number.
//
// Responses carry Cache-Control: no-store. It imports manage, guard and
// internal/api; no other endpoint package.
package admin
