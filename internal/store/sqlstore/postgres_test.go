package sqlstore_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func openPostgres(t *testing.T) store.Store { return sqlstoretest.NewPostgres(t) }

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openPostgres)
}

func TestPostgresConcurrent(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrent(t, openPostgres)
}

// TestConcurrentMigrate starts two Migrate calls on one fresh database (on
// SQLite, one fresh file) through two separate pools, as two replicas
// starting together would.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", sqlstoretest.SQLiteURL},
		{"postgres", sqlstoretest.PostgresURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			dbs := []*sqlstore.DB{sqlstoretest.MustOpen(t, url, false), sqlstoretest.MustOpen(t, url, false)}
			errs := make([]error, len(dbs))
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() { errs[i] = db.Migrate(context.Background()) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Migrate() #%d error = %v", i, err)
				}
			}
			for i, db := range dbs {
				n, err := db.Pending(t.Context())
				if err != nil || n != 0 {
					t.Errorf("Pending() #%d = %d, %v; want 0, nil", i, n, err)
				}
			}
			var applied int
			if err := dbs[0].SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
				t.Fatalf("count schema_migrations: %v", err)
			}
			n, err := sqlstore.MigrationCount(dbs[0].Dialect())
			if err != nil {
				t.Fatal(err)
			}
			if applied != n {
				t.Errorf("schema_migrations has %d rows, want %d (each migration recorded once)", applied, n)
			}
		})
	}
}

// TestPostgresNotify checks that AddRevocation announces each entry on
// the gatehouse_revocations channel with its Seq, once committed.
func TestPostgresNotify(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	db := sqlstoretest.MustOpen(t, url, true)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect listener: %v", err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+sqlstore.NotifyChannel); err != nil {
		t.Fatalf("LISTEN: %v", err)
	}

	r, err := db.AddRevocation(ctx, store.Revocation{
		Kind: guard.RevokeToken, Value: "jti-1", At: time.Now(), ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatalf("AddRevocation() error = %v", err)
	}
	// Other tests share the database (and so the channel): wait for ours.
	want := strconv.FormatInt(r.Seq, 10)
	for {
		n, err := listener.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("no notification with payload %q: %v", want, err)
		}
		if n.Channel != sqlstore.NotifyChannel {
			t.Errorf("notification channel = %q, want %q", n.Channel, sqlstore.NotifyChannel)
		}
		if n.Payload == want {
			return
		}
	}
}
