package sqlstore

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"none", "SELECT 1", "SELECT 1"},
		{"several", "SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?", "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3"},
		{"ten and more", "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
		{"string literal", "SELECT '?', ? FROM t WHERE x = 'it''s ?'", "SELECT '?', $1 FROM t WHERE x = 'it''s ?'"},
		{"quoted identifier", `SELECT "a?b" FROM t WHERE c = ?`, `SELECT "a?b" FROM t WHERE c = $1`},
		{"comment", "SELECT ? -- what?\nFROM t WHERE a = ?", "SELECT $1 -- what?\nFROM t WHERE a = $2"},
		{"unterminated literal", "SELECT ? 'abc?", "SELECT $1 'abc?"},
		{"trailing comment", "SELECT ? -- why?", "SELECT $1 -- why?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rebind(tc.in); got != tc.want {
				t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDialectQ(t *testing.T) {
	pg, lite := newPostgresDialect(), newSQLiteDialect()
	const q = "SELECT x FROM t WHERE a = ? AND b = ?"
	for range 2 { // the second call comes from the cache
		if got, want := pg.q(q), "SELECT x FROM t WHERE a = $1 AND b = $2"; got != want {
			t.Errorf("postgres q(%q) = %q, want %q", q, got, want)
		}
	}
	if _, ok := pg.rebound.Load(q); !ok {
		t.Error("postgres q did not cache its rewrite")
	}
	if got := lite.q(q); got != q {
		t.Errorf("sqlite q(%q) = %q, want it unchanged", q, got)
	}
}

func BenchmarkDialectQ(b *testing.B) {
	d := newPostgresDialect()
	const q = `SELECT id FROM users WHERE username > ? ORDER BY username LIMIT ?`
	for b.Loop() {
		_ = d.q(q)
	}
}

// fakeSQLiteError mimics modernc.org/sqlite's *Error.
type fakeSQLiteError int

func (e fakeSQLiteError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e fakeSQLiteError) Code() int     { return int(e) }

func TestClassify(t *testing.T) {
	pg, lite := newPostgresDialect(), newSQLiteDialect()
	tests := []struct {
		name string
		d    *dialect
		err  error
		want errClass
	}{
		{"nil", pg, nil, errOther},
		{"plain", pg, errors.New("boom"), errOther},
		{"pg unique", pg, &pgconn.PgError{Code: "23505"}, errUnique},
		{"pg unique wrapped", pg, fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), errUnique},
		{"pg foreign key", pg, &pgconn.PgError{Code: "23503"}, errForeign},
		{"pg serialization", pg, &pgconn.PgError{Code: "40001"}, errRetryable},
		{"pg deadlock", pg, &pgconn.PgError{Code: "40P01"}, errRetryable},
		{"pg syntax", pg, &pgconn.PgError{Code: "42601"}, errOther},
		{"pg not null", pg, &pgconn.PgError{Code: "23502"}, errOther},
		{"sqlite unique", lite, fakeSQLiteError(2067), errUnique},
		{"sqlite primary key", lite, fakeSQLiteError(1555), errUnique},
		{"sqlite foreign key", lite, fakeSQLiteError(787), errForeign},
		{"sqlite not null", lite, fakeSQLiteError(1299), errOther},
		{"sqlite busy", lite, fakeSQLiteError(5), errRetryable},
		{"sqlite busy snapshot", lite, fakeSQLiteError(517), errRetryable},
		{"sqlite locked", lite, fakeSQLiteError(6), errRetryable},
		{"sqlite wrapped", lite, fmt.Errorf("commit: %w", fakeSQLiteError(5)), errRetryable},
		{"sqlite generic error", lite, fakeSQLiteError(1), errOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.classify(tc.err); got != tc.want {
				t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestMapErr(t *testing.T) {
	d := newPostgresDialect()
	cause := &pgconn.PgError{Code: "23505", Message: "duplicate key"}
	err := d.mapErr(cause)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("mapErr(unique) = %v, want store.ErrConflict", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr != cause {
		t.Errorf("mapErr(unique) = %v, want the driver error kept in the chain", err)
	}
	if err := d.mapErr(&pgconn.PgError{Code: "23503"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mapErr(foreign key) = %v, want store.ErrNotFound", err)
	}
	plain := errors.New("boom")
	if err := d.mapErr(plain); err != plain { //nolint:errorlint // must pass through unchanged
		t.Errorf("mapErr(other) = %v, want it unchanged", err)
	}
}

func TestTimeColumns(t *testing.T) {
	local := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", -5*3600))
	want := local.UTC().Truncate(time.Microsecond)
	tests := []struct {
		name string
		src  any
		want time.Time
	}{
		{"sqlite micros", newSQLiteDialect().tm(local), want},
		{"postgres time", newPostgresDialect().tm(local), want},
		{"sqlite zero", newSQLiteDialect().tm(time.Time{}), time.Time{}},
		{"postgres zero", newPostgresDialect().tm(time.Time{}), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got time.Time
			if err := (timeCol{&got}).Scan(tc.src); err != nil {
				t.Fatalf("Scan(%v) error = %v", tc.src, err)
			}
			if !got.Equal(tc.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("Scan(%v) = %v, want %v in UTC", tc.src, got, tc.want)
			}
			if tc.want.IsZero() != got.IsZero() {
				t.Errorf("Scan(%v).IsZero() = %v, want %v", tc.src, got.IsZero(), tc.want.IsZero())
			}
		})
	}
	var p *time.Time
	if err := (nullTimeCol{&p}).Scan(nil); err != nil || p != nil {
		t.Errorf("nullTimeCol.Scan(nil) = %v, %v; want nil pointer", p, err)
	}
	if err := (nullTimeCol{&p}).Scan(want.UnixMicro()); err != nil || p == nil || !p.Equal(want) {
		t.Errorf("nullTimeCol.Scan(micros) = %v, %v; want %v", p, err, want)
	}
}

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		url     string
		want    string
		wantErr bool
	}{
		{url: "sqlite:./gatehouse.db", want: "./gatehouse.db"},
		{url: "sqlite:/var/lib/gatehouse.db", want: "/var/lib/gatehouse.db"},
		{url: "sqlite:///var/lib/gatehouse.db", want: "/var/lib/gatehouse.db"},
		{url: "sqlite://rel.db", want: "rel.db"},
		{url: "gatehouse.db", want: "gatehouse.db"},
		{url: "/tmp/a b/x.db", want: "/tmp/a b/x.db"},
		{url: "file:/tmp/x.db?cache=shared", want: "file:/tmp/x.db?cache=shared"},
		{url: "sqlite:", wantErr: true},
		{url: "", wantErr: true},
		{url: ":memory:", wantErr: true},
		{url: "sqlite::memory:", wantErr: true},
		{url: "mysql://localhost/db", wantErr: true},
	}
	for _, tc := range tests {
		got, err := sqlitePath(tc.url)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("sqlitePath(%q) = %q, %v; want %q, error %v", tc.url, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	if got, want := sqliteDSN("x.db"), "x.db?"+sqlitePragmas; got != want {
		t.Errorf("sqliteDSN(x.db) = %q, want %q", got, want)
	}
	if got, want := sqliteDSN("file:x.db?mode=rwc"), "file:x.db?mode=rwc&"+sqlitePragmas; got != want {
		t.Errorf("sqliteDSN(file:x.db?mode=rwc) = %q, want %q", got, want)
	}
}

// FuzzRebind checks that rebind only ever replaces question marks, numbers
// the placeholders 1, 2, 3, … and never panics.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{
		"SELECT ? FROM t WHERE a = ? AND b = 'x?y'",
		`SELECT "q?" -- c?` + "\n?",
		"'unterminated ?",
		"--",
		"?",
		"''??''",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// A '$' in the input, or a digit right after a placeholder (never
		// valid SQL), would make the output ambiguous to map back.
		if strings.Contains(in, "$") || regexp.MustCompile(`\?[0-9]`).MatchString(in) {
			return
		}
		out := rebind(in)
		var back strings.Builder
		next := 1
		for i := 0; i < len(out); i++ {
			if out[i] != '$' {
				back.WriteByte(out[i])
				continue
			}
			j := i + 1
			for j < len(out) && out[j] >= '0' && out[j] <= '9' {
				j++
			}
			if n, err := strconv.Atoi(out[i+1 : j]); err != nil || n != next {
				t.Fatalf("rebind(%q) = %q: placeholder %q, want $%d", in, out, out[i:j], next)
			}
			next++
			back.WriteByte('?')
			i = j - 1
		}
		if back.String() != in {
			t.Fatalf("rebind(%q) = %q, which maps back to %q", in, out, back.String())
		}
	})
}
