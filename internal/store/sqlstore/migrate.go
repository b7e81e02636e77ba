package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds migrations/<dialect>/NNNN_name.sql.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	Version int
	Name    string // the file name without the number and .sql
	SQL     string
}

// loadMigrations returns the dialect's migrations in version order. File
// names must be NNNN_name.sql with unique numbers.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dialect, err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		v, name, err := parseMigrationName(e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s migration: %w", dialect, err)
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("%s migrations %q and %q share number %d", dialect, prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read %s migration %s: %w", dialect, e.Name(), err)
		}
		ms = append(ms, migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// parseMigrationName splits "0001_init.sql" into 1 and "init".
func parseMigrationName(file string) (int, string, error) {
	base, ok := strings.CutSuffix(file, ".sql")
	num, name, ok2 := strings.Cut(base, "_")
	if !ok || !ok2 || len(num) != 4 || name == "" {
		return 0, "", fmt.Errorf("file %q is not named NNNN_name.sql", file)
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 {
		return 0, "", fmt.Errorf("file %q is not named NNNN_name.sql", file)
	}
	return v, name, nil
}

// createMigrationsTable is run before every migration, inside its
// transaction, so that whoever migrates first creates it.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at %s NOT NULL
)`

func (db *DB) migrationsTableDDL() string {
	if db.d.name == DialectPostgres {
		return fmt.Sprintf(createMigrationsTable, "TIMESTAMPTZ")
	}
	return fmt.Sprintf(createMigrationsTable, "INTEGER")
}

// Migrate applies every pending migration, each in its own transaction,
// recording it in schema_migrations. Any number of processes may migrate
// the same database at once: on PostgreSQL they queue on an advisory lock
// (one per schema) held for the whole run; on SQLite each migration's
// immediate transaction checks schema_migrations under the write lock.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.d.name)
	if err != nil {
		return err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()

	if db.d.name == DialectPostgres {
		unlock, err := pgAdvisoryLock(ctx, conn, "gatehouse.migrate")
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer unlock()
	}

	for _, m := range ms {
		var err error
		for range maxAttempts {
			err = db.tx1(ctx, conn, func(tx *sql.Tx) error { return db.apply(ctx, tx, m) })
			if db.d.classify(err) != errRetryable || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("migrate %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// apply runs one migration unless schema_migrations says it already ran.
func (db *DB) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	if _, err := tx.ExecContext(ctx, db.migrationsTableDDL()); err != nil {
		return err
	}
	var n int
	err := tx.QueryRowContext(ctx, db.d.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.d.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.Version, m.Name, db.d.tm(time.Now()))
	return err
}

// Pending returns how many embedded migrations have not been applied.
func (db *DB) Pending(ctx context.Context) (int, error) {
	ms, err := loadMigrations(db.d.name)
	if err != nil {
		return 0, err
	}
	exists, err := db.hasSchema(ctx)
	if err != nil {
		return 0, err
	}
	if !exists {
		return len(ms), nil
	}
	applied := map[int]bool{}
	rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("pending migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("pending migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("pending migrations: %w", err)
	}
	n := 0
	for _, m := range ms {
		if !applied[m.Version] {
			n++
		}
	}
	return n, nil
}

// hasSchema reports whether a migration ever ran on db: whether its
// schema_migrations table exists.
func (db *DB) hasSchema(ctx context.Context) (bool, error) {
	var exists bool
	var err error
	if db.d.name == DialectPostgres {
		err = db.read.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	} else {
		err = db.read.QueryRowContext(ctx,
			`SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	}
	if err != nil {
		return false, fmt.Errorf("check for the schema: %w", err)
	}
	return exists, nil
}

// pgAdvisoryLock takes a session-level advisory lock on conn, keyed by name
// and the current schema, so that tests (and tenants) in different schemas
// do not queue behind each other. The returned function releases it; if
// that fails the connection is discarded, which releases it too.
func pgAdvisoryLock(ctx context.Context, conn *sql.Conn, name string) (func(), error) {
	const key = `hashtextextended($1 || '.' || COALESCE(current_schema(), ''), 0)`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`, name); err != nil {
		return nil, fmt.Errorf("take advisory lock: %w", err)
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		var ok bool
		err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock(`+key+`)`, name).Scan(&ok)
		if err != nil || !ok {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}
