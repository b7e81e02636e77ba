package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backend names, as reports give them.
const (
	BackendSQLite   = "SQLite"
	BackendPostgres = "PostgreSQL"
)

// PGNamePrefix starts the name of every database the benchmarks create.
const PGNamePrefix = "gatehouse_load_"

// PGTimeout bounds creating one database, and dropping all of them at the
// end of a run.
const PGTimeout = 30 * time.Second

// Databases hands each server of a run a fresh database: a SQLite file in
// the server's directory, or, with an admin URL, a new PostgreSQL database
// on that server, which DropAll drops again. It is used from one
// goroutine.
type Databases struct {
	admin    string    // admin URL; "" for SQLite
	progress io.Writer // where Fresh reports and DropAll warns
	created  []string  // PostgreSQL databases to drop
}

// NewDatabases returns the databases of one run: on the PostgreSQL server
// of the admin URL (see [CheckPostgresURL]), or SQLite files when admin is
// empty. Progress gets a line per database created and a warning per
// database DropAll could not drop.
func NewDatabases(admin string, progress io.Writer) *Databases {
	return &Databases{admin: admin, progress: progress}
}

// Backend names the kind of database the servers run on.
func (d *Databases) Backend() string {
	if d.admin == "" {
		return BackendSQLite
	}
	return BackendPostgres
}

// Fresh returns the GATEHOUSE_DATABASE_URL of a new, empty database for a
// server whose files live in dir.
func (d *Databases) Fresh(ctx context.Context, dir string) (string, error) {
	if d.admin == "" {
		return "sqlite:" + filepath.Join(dir, "gatehouse.db"), nil
	}
	name := PGNamePrefix + RandomHex(8)
	dbURL, err := DatabaseURL(d.admin, name)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, PGTimeout)
	defer cancel()
	conn, err := connectAdmin(ctx, d.admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	// From here on the database may exist even when Exec fails (say, ctx
	// ended after the server had created it), so DropAll tries to drop it;
	// IF EXISTS keeps that quiet when it does not.
	d.created = append(d.created, name)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create PostgreSQL database %s: %w", name, err)
	}
	fmt.Fprintf(d.progress, "created PostgreSQL database %s\n", name)
	return dbURL, nil
}

// DropAll drops every PostgreSQL database Fresh created, whatever the
// state of the run's context: call it after the servers have stopped. It
// warns on progress about each database it could not drop.
func (d *Databases) DropAll() {
	if len(d.created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), PGTimeout)
	defer cancel()
	for _, name := range d.created {
		if err := dropDatabase(ctx, d.admin, name); err != nil {
			fmt.Fprintf(d.progress, "loadtest: warning: PostgreSQL database %s was not dropped: %v\n", name, err)
		}
	}
	d.created = nil
}

// dropDatabase drops the database name on the server of the admin URL,
// and any connection still open to it.
func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := connectAdmin(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database: %w", err)
	}
	return nil
}

// connectAdmin connects to the admin URL, as url.Parse reads it: pgx
// wants the scheme in lower case.
func connectAdmin(ctx context.Context, admin string) (*pgx.Conn, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return nil, errors.New("-postgres: not a URL")
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("connect to the -postgres server: %w", err)
	}
	return conn, nil
}

// CheckPostgresURL says what is wrong with s as a -postgres URL. Its
// messages never repeat a password.
func CheckPostgresURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("-postgres: not a URL: %v", err)
	}
	if (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Opaque != "" {
		return fmt.Errorf("-postgres %s: want a postgres:// or postgresql:// URL", u.Redacted())
	}
	return nil
}

// DatabaseURL returns the admin URL with its path replaced by the database
// name: user, password, host, port and query stay as they are, except that
// a dbname (or database) query parameter, which would override the path,
// is left out.
func DatabaseURL(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", errors.New("-postgres: not a URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	if u.RawQuery != "" {
		var kept []string
		for pair := range strings.SplitSeq(u.RawQuery, "&") {
			key, _, _ := strings.Cut(pair, "=")
			if k, err := url.QueryUnescape(key); err == nil && (k == "dbname" || k == "database") {
				continue
			}
			kept = append(kept, pair)
		}
		u.RawQuery = strings.Join(kept, "&")
	}
	return u.String(), nil
}
