-- gatehouse schema, SQLite flavour.
-- Times are INTEGER unix microseconds (UTC); hashes are BLOBs; scope and
-- grant-type lists are space-separated TEXT; redirect URIs are a JSON array.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL DEFAULT '',
	scopes        TEXT NOT NULL DEFAULT '',
	admin         INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

-- No foreign keys point at clients from auth_codes or refresh_tokens:
-- deleting a client leaves them to expire (a grant looks the client up and
-- fails). Consents go with their client.
CREATE TABLE clients (
	id            TEXT PRIMARY KEY,
	secret_hash   BLOB,
	name          TEXT NOT NULL DEFAULT '',
	public        INTEGER NOT NULL DEFAULT 0,
	first_party   INTEGER NOT NULL DEFAULT 0,
	grant_types   TEXT NOT NULL DEFAULT '',
	redirect_uris TEXT NOT NULL DEFAULT '[]',
	scopes        TEXT NOT NULL DEFAULT '',
	rate_limit    TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
	id              TEXT PRIMARY KEY,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name            TEXT NOT NULL DEFAULT '',
	prefix          TEXT NOT NULL DEFAULT '',
	hash            BLOB NOT NULL,
	scopes          TEXT NOT NULL DEFAULT '',
	rate_limit      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER,
	last_used_at    INTEGER,
	revoked_at      INTEGER,
	prev_hash       BLOB,
	prev_expires_at INTEGER
);
CREATE INDEX api_keys_user_id ON api_keys (user_id, id);

CREATE TABLE auth_codes (
	hash                  BLOB PRIMARY KEY,
	client_id             TEXT NOT NULL,
	user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	redirect_uri          TEXT NOT NULL DEFAULT '',
	scopes                TEXT NOT NULL DEFAULT '',
	code_challenge        TEXT NOT NULL DEFAULT '',
	code_challenge_method TEXT NOT NULL DEFAULT '',
	nonce                 TEXT NOT NULL DEFAULT '',
	auth_time             INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	used_at               INTEGER,
	grant_id              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

CREATE TABLE refresh_tokens (
	hash           BLOB PRIMARY KEY,
	family_id      TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	scopes         TEXT NOT NULL DEFAULT '',
	auth_time      INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	idle_expires   INTEGER NOT NULL,
	used_at        INTEGER,
	revoked_at     INTEGER,
	successor_hash BLOB
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_client_id ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE signing_keys (
	id           TEXT PRIMARY KEY,
	algorithm    TEXT NOT NULL,
	private_key  BLOB NOT NULL,
	public_key   BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	activates_at INTEGER NOT NULL,
	retired_at   INTEGER,
	expires_at   INTEGER,
	revoked_at   INTEGER
);

-- audit_head is the one-row head of the hash chain. Appends lock it (the
-- immediate transaction does on SQLite), so the chain never forks, and it
-- survives pruning so Seq never restarts.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

CREATE TABLE audit_events (
	seq        INTEGER PRIMARY KEY,
	time       INTEGER NOT NULL,
	action     TEXT NOT NULL,
	actor      TEXT NOT NULL DEFAULT '',
	target     TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT '',
	result     TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	prev_hash  BLOB,
	hash       BLOB NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

-- AUTOINCREMENT: a Seq is never reused, even after the newest rows expire,
-- because it is the feed cursor of every follower.
CREATE TABLE revocations (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT NOT NULL,
	value      TEXT NOT NULL,
	at         INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	auth_time  INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE consents (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	scopes     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id ON consents (client_id);
