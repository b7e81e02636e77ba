package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/gatehouse/gatehouse/internal/store"
)

// DB is a [store.Store] on SQLite or PostgreSQL. It is safe for concurrent
// use.
//
// On PostgreSQL it holds one connection pool. On SQLite it holds two: a
// write pool of exactly one connection, through which every transaction
// goes, and a read pool for plain reads. SQLite allows one writer at a
// time anyway; queueing the writers of this process in Go rather than in
// SQLite's busy handler (which polls with sleeps) keeps write latency flat
// under load. Writers in other processes still wait through busy_timeout.
type DB struct {
	write *sql.DB // transactions, migrations
	read  *sql.DB // plain reads; the same pool as write on PostgreSQL
	d     *dialect
}

var _ store.Store = (*DB)(nil)

// sqlitePragmas are appended to every SQLite DSN. busy_timeout makes
// writers wait for the lock instead of failing; _txlock=immediate takes the
// write lock at BEGIN, which serialises read-modify-write transactions.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// Open connects to the database named by url and checks that it answers;
// it is [OpenWith] with the zero Options.
func Open(ctx context.Context, url string) (*DB, error) {
	return OpenWith(ctx, url, Options{})
}

// Options are the settings of [OpenWith] beyond the URL.
type Options struct {
	// Logger receives the warning when an SQLite file was readable by
	// others and has been made private; nil means slog.Default().
	Logger *slog.Logger
	// MustExist makes OpenWith fail with [ErrNoDatabase] instead of
	// creating an SQLite file that does not exist, and, on either store,
	// when the database has no gatehouse schema (no migration ever ran).
	// For tools that read or change what is there: run in the wrong
	// directory, they must not leave a new database behind.
	MustExist bool
}

// ErrNoDatabase is returned (wrapped, with where it looked) by [OpenWith]
// with [Options.MustExist] when there is no gatehouse database.
var ErrNoDatabase = errors.New("no database")

// OpenWith connects to the database named by url and checks that it
// answers.
//
// A url starting with postgres:// or postgresql:// is a PostgreSQL
// connection string for pgx (unknown query parameters such as search_path
// are sent as run-time parameters). Anything else names an SQLite file:
// "sqlite:PATH", "sqlite://PATH", a bare PATH or a "file:" URI. The file is
// created if missing, with mode 0600 whatever the umask (its -wal and -shm
// files get the same), and an existing one that group or others may read
// is made private with a warning ([MakePrivate]). It is opened in WAL mode
// with foreign keys on, a 5 s busy timeout and immediate transactions.
// ":memory:" is refused, since every pooled connection would see its own
// empty database.
//
// OpenWith does not migrate; call [DB.Migrate].
func OpenWith(ctx context.Context, url string, opts Options) (*DB, error) {
	var (
		d     *dialect
		dsn   string
		where string // the SQLite file, named in errors
	)
	lower := strings.ToLower(url)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		d, dsn = newPostgresDialect(), url
	default:
		path, err := sqlitePath(url)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		file, ok := SQLiteFile(url)
		if ok {
			if err := prepareSQLiteFile(file, opts.MustExist, opts.Logger); errors.Is(err, ErrNoDatabase) {
				return nil, err
			} else if err != nil {
				return nil, fmt.Errorf("open sqlite database: %w", err)
			}
		}
		d, dsn, where = newSQLiteDialect(), sqliteDSN(path), file
	}
	db, err := openDB(ctx, d, dsn, where)
	if err != nil {
		return nil, err
	}
	if opts.MustExist {
		if err := db.mustHaveSchema(ctx, url); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return db, nil
}

func openDB(ctx context.Context, d *dialect, dsn, where string) (*DB, error) {
	write, err := openPool(ctx, d, dsn, where)
	if err != nil {
		return nil, err
	}
	if d.name == DialectPostgres {
		return &DB{write: write, read: write, d: d}, nil
	}
	write.SetMaxOpenConns(1)
	read, err := openPool(ctx, d, dsn, where)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	return &DB{write: write, read: read, d: d}, nil
}

// mustHaveSchema returns ErrNoDatabase when no migration ever ran on db.
func (db *DB) mustHaveSchema(ctx context.Context, url string) error {
	ok, err := db.hasSchema(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w at %s: it has no gatehouse tables", ErrNoDatabase, Where(url))
	}
	return nil
}

// openPool opens a pool and checks that the database answers; where, the
// SQLite file, is named in its errors ("" for PostgreSQL, whose driver
// names the server itself).
func openPool(ctx context.Context, d *dialect, dsn, where string) (*sql.DB, error) {
	what := d.name + " database"
	if where != "" {
		what += " " + where
	}
	pool, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return pool, nil
}

// sqlitePath extracts the file path from a sqlite URL or bare path.
func sqlitePath(url string) (string, error) {
	path := url
	if rest, ok := strings.CutPrefix(url, "sqlite:"); ok {
		path = rest
		if p, ok := strings.CutPrefix(rest, "//"); ok {
			path = p
		}
	} else if i := strings.Index(url, "://"); i > 0 && url[:i] != "file" && !strings.ContainsAny(url[:i], `/\.`) {
		return "", fmt.Errorf("unsupported database URL scheme %q (want postgres:// or sqlite:)", url[:i])
	}
	switch path {
	case "":
		return "", errors.New("empty SQLite path")
	case ":memory:":
		return "", errors.New("SQLite :memory: is not supported: each pooled connection would get its own empty database")
	}
	return path, nil
}

// sqliteDSN adds the pragmas to a path. modernc.org/sqlite strips the
// query string off a plain path; a file: URI keeps it as a URI.
func sqliteDSN(path string) string {
	if strings.Contains(path, "?") {
		return path + "&" + sqlitePragmas
	}
	return path + "?" + sqlitePragmas
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// SQL returns the pool that transactions use, for tests that inspect or
// tamper with rows directly and for tuning the PostgreSQL pool. Writes
// through it bypass the store's invariants. On SQLite it must keep its
// single connection, and a transaction held open on it blocks every
// store write.
func (db *DB) SQL() *sql.DB { return db.write }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.d.name, err)
	}
	return nil
}

// Close closes the connection pools.
func (db *DB) Close() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// maxAttempts bounds how often a transaction is retried after a
// serialization failure, deadlock or busy database.
const maxAttempts = 10

// callerError carries an error returned by a caller's function (an
// updater's fn) out of a transaction, so that it is never retried; the
// method unwraps it (wrapUpdate) and returns it unchanged.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// tx runs fn in a write transaction and commits it, running it again (up
// to maxAttempts times) when the database reports a retryable conflict.
// fn may therefore run more than once. fn must use only tx: on SQLite
// another write would wait for the connection fn holds.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for range maxAttempts {
		err = db.tx1(ctx, db.write, fn)
		var ce *callerError
		if errors.As(err, &ce) {
			return err
		}
		if db.d.classify(err) != errRetryable || ctx.Err() != nil {
			return err
		}
	}
	return err
}

type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (db *DB) tx1(ctx context.Context, b beginner, fn func(tx *sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// limit turns the interface's "0 = all" into a LIMIT argument.
func limit(n int) int64 {
	if n <= 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, q querier, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, db.d.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// update runs a read-modify-write updater: it reads the row keyed by key
// with the row locked, applies fn, lets write store the result, and reads
// the row back so the caller sees exactly what a Get would return.
func update[T any](ctx context.Context, db *DB, selectQuery string, key any, scan func(scanner) (T, error),
	fn func(T) (T, error), write func(tx *sql.Tx, old, next T) error) (T, error) {
	var out T
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := scan(tx.QueryRowContext(ctx, db.d.q(selectQuery+db.d.forUpdate), key))
		if err != nil {
			return notFound(err)
		}
		next, err := fn(old)
		if err != nil {
			return &callerError{err}
		}
		if err := write(tx, old, next); err != nil {
			return db.d.mapErr(err)
		}
		out, err = scan(tx.QueryRowContext(ctx, db.d.q(selectQuery), key))
		return err
	})
	return out, err
}

// rowsAffected returns n from res, or the error.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// lock takes PostgreSQL transaction-level advisory locks on names, in the
// order given, in one round trip; shared locks are compatible with each
// other, exclusive ones with nothing. On SQLite, where the write
// transaction already excludes every other writer, it does nothing.
func (db *DB) lock(ctx context.Context, tx *sql.Tx, shared bool, names ...string) error {
	if db.d.name != DialectPostgres || len(names) == 0 {
		return nil
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	var b strings.Builder
	args := make([]any, len(names))
	b.WriteString("SELECT ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s(hashtextextended($%d, 0))", fn, i+1)
		args[i] = n
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("take advisory locks: %w", err)
	}
	return nil
}
