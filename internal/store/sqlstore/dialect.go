package sqlstore

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Dialect names returned by [DB.Dialect].
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// errClass is what the dialect makes of a driver error.
type errClass int

const (
	errOther     errClass = iota
	errUnique             // unique or primary-key violation: store.ErrConflict
	errForeign            // foreign-key violation: store.ErrNotFound (the parent is missing)
	errRetryable          // serialization failure, deadlock or busy database: run the transaction again
)

// dialect holds everything that differs between the two backends: the
// driver, the placeholder style, error codes and a few bits of syntax. The
// SQL itself is written once, with ? placeholders, in the SQLite/PostgreSQL
// common subset.
type dialect struct {
	name   string // DialectSQLite or DialectPostgres
	driver string // database/sql driver name

	// dollar is true when placeholders must be rewritten ? → $n.
	dollar bool
	// forUpdate is appended to the SELECT of a read-modify-write
	// transaction. SQLite needs none: _txlock=immediate already holds the
	// write lock from BEGIN.
	forUpdate string

	// rebound caches rebind results: every query string is rewritten once.
	rebound sync.Map // string → string
}

func newSQLiteDialect() *dialect {
	return &dialect{name: DialectSQLite, driver: "sqlite"}
}

func newPostgresDialect() *dialect {
	return &dialect{name: DialectPostgres, driver: "pgx", dollar: true, forUpdate: " FOR UPDATE"}
}

// q returns query with its placeholders in the dialect's style. The result
// is cached, so the rewrite happens once per distinct query string.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	if v, ok := d.rebound.Load(query); ok {
		return v.(string)
	}
	r := rebind(query)
	d.rebound.Store(query, r)
	return r
}

// rebind rewrites ? placeholders as $1, $2, …, leaving question marks inside
// single-quoted literals, double-quoted identifiers and comments alone.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			// Copy the quoted run verbatim; a doubled quote ('') simply
			// closes and reopens the run, which copies the same bytes.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sqliteCoder is implemented by modernc.org/sqlite's *Error. Matching the
// method rather than the type keeps the classification testable without a
// database.
type sqliteCoder interface{ Code() int }

// SQLite result codes (https://sqlite.org/rescode.html).
const (
	sqliteBusy              = 5
	sqliteLocked            = 6
	sqliteConstraintFK      = 787  // SQLITE_CONSTRAINT_FOREIGNKEY
	sqliteConstraintPK      = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique  = 2067 // SQLITE_CONSTRAINT_UNIQUE
	sqliteConstraintRowID   = 2579 // SQLITE_CONSTRAINT_ROWID
	sqlitePrimaryResultMask = 0xff // extended code → primary code
)

// classify maps a driver error to what the store does about it.
func (d *dialect) classify(err error) errClass {
	if err == nil {
		return errOther
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return errUnique
		case "23503": // foreign_key_violation
			return errForeign
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return errRetryable
		}
		return errOther
	}
	var sc sqliteCoder
	if errors.As(err, &sc) {
		code := sc.Code()
		switch code {
		case sqliteConstraintUnique, sqliteConstraintPK, sqliteConstraintRowID:
			return errUnique
		case sqliteConstraintFK:
			return errForeign
		}
		switch code & sqlitePrimaryResultMask {
		case sqliteBusy, sqliteLocked:
			return errRetryable
		}
	}
	return errOther
}

// mapErr turns constraint violations into the store's sentinel errors,
// keeping the driver error in the chain for logs. Other errors pass through.
func (d *dialect) mapErr(err error) error {
	switch d.classify(err) {
	case errUnique:
		return &mappedError{sentinel: store.ErrConflict, cause: err}
	case errForeign:
		return &mappedError{sentinel: store.ErrNotFound, cause: err}
	}
	return err
}

// mappedError matches both the store sentinel and the driver error.
type mappedError struct {
	sentinel error
	cause    error
}

func (e *mappedError) Error() string   { return e.sentinel.Error() + ": " + e.cause.Error() }
func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// tm converts a time to the column representation: INTEGER unix
// microseconds on SQLite, timestamptz on PostgreSQL.
func (d *dialect) tm(t time.Time) any {
	t = store.Normalize(t)
	if d.name == DialectSQLite {
		if t.IsZero() {
			return time.Time{}.UnixMicro()
		}
		return t.UnixMicro()
	}
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

// tmp converts a nullable time: nil is NULL.
func (d *dialect) tmp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.tm(*t)
}

// timeCol scans a NOT NULL time column from either backend.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*c.dst = fromMicro(v)
	case time.Time:
		*c.dst = store.Normalize(v)
	case nil:
		*c.dst = time.Time{}
	default:
		return errors.New("sqlstore: unexpected time column type")
	}
	return nil
}

// nullTimeCol scans a nullable time column; NULL gives a nil pointer.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.dst = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.dst = &t
	return nil
}

func fromMicro(v int64) time.Time {
	if v == (time.Time{}).UnixMicro() {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// blob passes nil byte slices as NULL on every driver.
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// splitScopes parses a space-separated list column. Unlike
// strings.Fields (and so store.SplitScopes today), an empty column gives
// nil, which is what every record promises.
func splitScopes(s string) []string {
	if f := store.SplitScopes(s); len(f) > 0 {
		return f
	}
	return nil
}
