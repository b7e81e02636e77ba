// Package sqlstore is gatehouse's one implementation of [store.Store], on
// SQLite (modernc.org/sqlite, no cgo) or PostgreSQL (pgx through
// database/sql).
//
// Everything that differs between the two databases lives in a small
// dialect value: the driver, the placeholder style (queries are written
// with ? and rewritten to $n once per query string for PostgreSQL), the
// error codes (unique violation → [store.ErrConflict], foreign-key violation
// → [store.ErrNotFound], serialization failure, deadlock or busy database →
// the transaction is retried a bounded number of times) and the row-lock
// syntax. The SQL itself is hand-written in the subset both databases
// understand; there is no ORM.
//
// Storage conventions:
//   - Times are UTC microseconds: INTEGER unix microseconds on SQLite,
//     timestamptz on PostgreSQL. Nullable times map to NULL. Every time
//     comes back through [store.Normalize].
//   - Hashes and keys are BLOB / bytea; a nil slice is NULL.
//   - Scope and grant-type lists are space-separated TEXT
//     ([store.JoinScopes]); redirect URIs are a JSON array, since nothing
//     else stops an admin from typing a space into one. Nil and empty lists
//     both come back as nil.
//   - Text that lists are ordered by (usernames, client and key ids) uses
//     byte order on both backends (COLLATE "C" on PostgreSQL), so cursor
//     pagination behaves the same everywhere.
//
// Concurrency:
//   - Plain reads run outside transactions. Every write runs in a
//     transaction, retried on serialization failures, deadlocks and
//     SQLITE_BUSY. On SQLite it begins IMMEDIATE (the write lock is taken
//     at BEGIN) on the one connection of the write pool, so the writers of
//     a process queue in Go and those of other processes behind
//     busy_timeout; on PostgreSQL it runs at READ COMMITTED.
//   - An updater's fn runs inside the transaction: it must not call the
//     store's write methods (on SQLite they would wait for the connection
//     fn's own transaction holds), and should be quick.
//   - Updaters (UpdateUser, UpdateClient, …) read the row with SELECT … FOR
//     UPDATE (PostgreSQL) inside the write transaction, call fn, and write
//     the result, so concurrent updaters never lose each other's changes.
//   - ConsumeAuthCode and RotateRefreshToken are conditional updates
//     (… WHERE used_at IS NULL): of any number of concurrent callers exactly
//     one changes the row; the others get the stored record and
//     [store.ErrUsed].
//   - AppendAudit locks the one-row audit_head table, so appends from every
//     process form one chain. AddRevocation locks the revocations table
//     against other writers on PostgreSQL, so Seq values become visible in
//     order and a follower reading "Seq > cursor" never skips one; it also
//     sends pg_notify('gatehouse_revocations', seq) on commit.
//
// Foreign keys: api_keys, auth_codes, refresh_tokens, sessions and consents
// belong to a user (ON DELETE CASCADE); consents also belong to a client.
// auth_codes and refresh_tokens do not reference clients: deleting a client
// leaves them in place, useless (every grant looks its client up) until the
// expiry cleanup removes them. Creating a row whose user does not exist
// gives [store.ErrNotFound].
//
// Schema changes are embedded migrations, migrations/sqlite/NNNN_name.sql
// and migrations/postgres/NNNN_name.sql with the same numbers, applied by
// [DB.Migrate]. [Open] never migrates.
//
// Tests of other packages get a ready database from
// [github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest].
package sqlstore
