package authn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) { sqlstoretest.Main(m) }

// clock is an adjustable test clock.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// mustManager is the service layer on a scratch SQLite store: the way
// users and keys are made for the verifier to check.
func mustManager(t testing.TB) (*service.Manager, *clock) {
	t.Helper()
	db := sqlstoretest.NewSQLite(t)
	clk := newClock()
	deny := guard.NewDenyList(clk.Now)
	return &service.Manager{
		Store:   db,
		Hasher:  password.New(password.Config{Params: password.TestParams()}),
		Audit:   &audit.Recorder{Store: db, Now: clk.Now},
		Revoker: &revocation.Revoker{Store: db, DenyList: deny, Now: clk.Now},
		Now:     clk.Now,
	}, clk
}

func mustUser(t testing.TB, m *service.Manager, name string, scopes ...string) store.User {
	t.Helper()
	u, err := m.CreateUser(context.Background(), audit.CLI(), service.NewUser{Username: name, Password: "password-1", Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateUser(%q) error = %v", name, err)
	}
	return u
}

func TestVerifier(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "bob", "read")
	v := NewVerifier(VerifierConfig{Store: m.Store, Now: clk.Now, Revoked: m.Revoker.DenyList})
	m.Changes = changes.New(nil, nil, v.Changed)
	k, err := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "bob", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	check := func(key string, wantOK bool) {
		t.Helper()
		p, err := v.VerifyAPIKey(ctx, key)
		if (err == nil) != wantOK {
			t.Fatalf("VerifyAPIKey = %v, %v; want ok %v", p, err, wantOK)
		}
		if wantOK && (p.Username != "bob" || p.KeyID != k.ID) {
			t.Errorf("principal = %+v", p)
		}
	}
	check(k.Secret, true)
	// Same id, another secret: the checksum passes, the hash does not.
	check(strings.Replace(k.Secret, k.Secret[16:20], "zzzz", 1), false)

	// Rotation: the old secret works until the grace ends.
	r, err := m.RotateAPIKey(ctx, audit.CLI(), k.ID, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	check(r.Secret, true)
	check(k.Secret, true)
	clk.Advance(11 * time.Minute)
	check(k.Secret, false)
	check(r.Secret, true)

	// Expiry.
	clk.Advance(time.Hour)
	check(r.Secret, false)
}

func TestVerifierRevokedAndDisabled(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "carol", "read")
	v := NewVerifier(VerifierConfig{Store: m.Store, Now: clk.Now, Revoked: m.Revoker.DenyList})
	m.Changes = changes.New(nil, nil, v.Changed)
	k1, _ := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "carol"})
	k2, _ := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "carol"})
	for _, k := range []service.CreatedAPIKey{k1, k2} {
		if _, err := v.VerifyAPIKey(ctx, k.Secret); err != nil {
			t.Fatalf("VerifyAPIKey: %v", err)
		}
	}
	if _, err := m.RevokeAPIKey(ctx, audit.CLI(), k1.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyAPIKey(ctx, k1.Secret); !errors.Is(err, ErrInvalidAPIKey) {
		t.Errorf("revoked key: %v", err)
	}
	// A change made behind the cache (another replica) shows after the TTL.
	if _, err := m.Store.UpdateUser(ctx, k2.UserID, func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyAPIKey(ctx, k2.Secret); err != nil {
		t.Errorf("within the cache TTL the key still works: %v", err)
	}
	clk.Advance(2 * time.Second)
	if _, err := v.VerifyAPIKey(ctx, k2.Secret); !errors.Is(err, ErrInvalidAPIKey) {
		t.Errorf("owner disabled: %v", err)
	}
	// Logging a user out everywhere does not kill API keys.
	if _, err := m.SetDisabled(ctx, audit.CLI(), "carol", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Logout(ctx, audit.CLI(), "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyAPIKey(ctx, k2.Secret); err != nil {
		t.Errorf("after logout: %v", err)
	}
}

func BenchmarkVerifyAPIKey(b *testing.B) {
	m, _ := mustManager(b)
	ctx := context.Background()
	mustUser(b, m, "bench", "read")
	k, err := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(VerifierConfig{Store: m.Store, TTL: time.Hour, Revoked: m.Revoker.DenyList})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyAPIKey(ctx, k.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

// slowReads is a real store whose user and API-key reads are counted and
// answered only once gate is closed.
type slowReads struct {
	store.Store
	users, keys atomic.Int64
	gate        chan struct{}
}

func (s *slowReads) GetUser(ctx context.Context, id string) (store.User, error) {
	s.users.Add(1)
	<-s.gate
	return s.Store.GetUser(ctx, id)
}

func (s *slowReads) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	s.keys.Add(1)
	<-s.gate
	return s.Store.GetAPIKey(ctx, id)
}

// TestCachesReadOncePerMiss: requests that miss the user cache or the
// API-key cache together (the entry has just expired on a busy server)
// share one store read instead of each sending the same query.
func TestCachesReadOncePerMiss(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	u := mustUser(t, m, "fay", "read")
	k, err := m.CreateAPIKey(ctx, audit.CLI(), service.NewAPIKey{Owner: "fay"})
	if err != nil {
		t.Fatal(err)
	}
	st := &slowReads{Store: m.Store, gate: make(chan struct{})}
	users := NewUserCache(UserCacheConfig{Store: st, TTL: time.Hour})
	keys := NewVerifier(VerifierConfig{Store: st, TTL: time.Hour})
	const n = 16
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if got, ok, err := users.Get(ctx, u.ID); err != nil || !ok || got.Username != "fay" {
				t.Errorf("UserCache.Get = %v, %v, %v", got.Username, ok, err)
			}
		})
		wg.Go(func() {
			if p, err := keys.VerifyAPIKey(ctx, k.Secret); err != nil || p.Username != "fay" {
				t.Errorf("VerifyAPIKey = %+v, %v", p, err)
			}
		})
	}
	// Wait until the first reads are in the store, then let them finish.
	for st.users.Load() == 0 || st.keys.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // time for the others to pile up behind them
	close(st.gate)
	wg.Wait()
	// The key verifier reads the key and its owner: 1 key read, and the
	// owner read shares nothing with the user cache (different caches).
	if got := st.keys.Load(); got != 1 {
		t.Errorf("%d API-key reads for %d concurrent checks, want 1", got, n)
	}
	if got := st.users.Load(); got != 2 {
		t.Errorf("%d user reads (user cache + key owner) for %d concurrent requests each, want 2", got, n)
	}
}
