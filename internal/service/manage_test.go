package service

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/password"
	"github.com/gatehouse/gatehouse/internal/revocation"
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

func mustManager(t testing.TB) (*Manager, *clock) {
	t.Helper()
	db := sqlstoretest.NewSQLite(t)
	clk := newClock()
	set := guard.NewDenyList(clk.Now)
	rev := &revocation.Revoker{Store: db, DenyList: set, Now: clk.Now}
	return &Manager{
		Store:   db,
		Hasher:  password.New(password.Config{Params: password.TestParams()}),
		Audit:   &audit.Recorder{Store: db, Now: clk.Now},
		Revoker: rev,
		Changes: changes.New(rev, clk.Now),
		Now:     clk.Now,
	}, clk
}

func mustUser(t testing.TB, m *Manager, name string, scopes ...string) store.User {
	t.Helper()
	u, err := m.CreateUser(context.Background(), audit.CLI(), NewUser{Username: name, Password: "password-1", Scopes: scopes})
	if err != nil {
		t.Fatalf("CreateUser(%q) error = %v", name, err)
	}
	return u
}

func TestNormalizeUsername(t *testing.T) {
	cases := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "lower-cased", in: "Alice", want: "alice"},
		{name: "fullwidth folded by NFKC", in: "Ａｌｉｃｅ", want: "alice"},
		{name: "trimmed", in: "  bob ", want: "bob"},
		{name: "email-like", in: "a.b+c@example.com", want: "a.b+c@example.com"},
		{name: "unicode letters", in: "Jürgen", want: "jürgen"},
		{name: "too short", in: "a", wantErr: true},
		{name: "too long", in: strings.Repeat("a", 65), wantErr: true},
		{name: "space inside", in: "a b", wantErr: true},
		{name: "sql", in: "a'--", wantErr: true},
		{name: "leading dash", in: "-rf", wantErr: true},
		{name: "invalid utf-8", in: "ab\xff", wantErr: true},
		{name: "control char", in: "ab\x00c", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeUsername(tc.in)
			if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
				t.Errorf("NormalizeUsername(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "15m", want: 15 * time.Minute},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0s", want: 0},
		{in: "", wantErr: true},
		{in: "-5d", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "soon", wantErr: true},
		{in: "99999999d", wantErr: true},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCreateAPIKeyScopes(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "alice", "read", "write")
	cases := []struct {
		name     string
		in       NewAPIKey
		want     string
		wantKind Kind
	}{
		{name: "default is all of the owner's", in: NewAPIKey{Owner: "alice"}, want: "read write"},
		{name: "subset", in: NewAPIKey{Owner: "alice", Scopes: []string{"read"}}, want: "read"},
		{name: "beyond the owner", in: NewAPIKey{Owner: "alice", Scopes: []string{"admin"}}, wantKind: Forbidden},
		{name: "limit bounds the default", in: NewAPIKey{Owner: "alice", Limit: []string{"read"}}, want: "read"},
		{name: "empty list is none", in: NewAPIKey{Owner: "alice", Scopes: []string{}}, want: ""},
		{name: "blank entries are none", in: NewAPIKey{Owner: "alice", Scopes: []string{" "}}, want: ""},
		{name: "empty list within a limit is none", in: NewAPIKey{Owner: "alice", Scopes: []string{}, Limit: []string{"read"}}, want: ""},
		{name: "beyond the limit", in: NewAPIKey{Owner: "alice", Scopes: []string{"write"}, Limit: []string{"read"}}, wantKind: Forbidden},
		{name: "bad rate limit", in: NewAPIKey{Owner: "alice", RateLimit: "lots"}, wantKind: Invalid},
		{name: "unknown owner", in: NewAPIKey{Owner: "nobody"}, wantKind: NotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := m.CreateAPIKey(ctx, audit.CLI(), tc.in)
			if tc.wantKind != 0 {
				var me *Error
				if !errors.As(err, &me) || me.Kind != tc.wantKind {
					t.Fatalf("CreateAPIKey error = %v, want kind %d", err, tc.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateAPIKey error = %v", err)
			}
			if got := store.JoinScopes(k.Scopes); got != tc.want {
				t.Errorf("scopes = %q, want %q", got, tc.want)
			}
			if !strings.HasPrefix(k.Secret, "gk_") || strings.Contains(string(k.Hash), k.Secret) {
				t.Errorf("secret %q / hash mismatch", k.Secret)
			}
		})
	}
}

// fakeThrottle counts how the attempts it hands out are settled.
type fakeThrottle struct {
	mu                           sync.Mutex
	wait                         time.Duration
	lockedFor                    time.Duration // what Fail reports
	failures, successes, cancels int
}

func (f *fakeThrottle) Begin(context.Context, string, string) (LoginAttempt, time.Duration, error) {
	if f.wait > 0 {
		return nil, f.wait, nil
	}
	return fakeAttempt{f}, 0, nil
}

type fakeAttempt struct{ f *fakeThrottle }

func (a fakeAttempt) count(n *int) {
	a.f.mu.Lock()
	*n++
	a.f.mu.Unlock()
}

func (a fakeAttempt) Fail(context.Context) (time.Duration, error) {
	a.count(&a.f.failures)
	return a.f.lockedFor, nil
}
func (a fakeAttempt) Succeed(context.Context) error { a.count(&a.f.successes); return nil }
func (a fakeAttempt) Cancel(context.Context)        { a.count(&a.f.cancels) }

func TestLogin(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	u := mustUser(t, m, "dave", "read")
	th := &fakeThrottle{}
	if _, err := m.Login(ctx, audit.CLI(), th, "DAVE", "password-1"); err != nil {
		t.Fatalf("Login with another case: %v", err)
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "dave", "password-2"},
		{"unknown user", "nobody", "password-1"},
		{"invalid username", "a b", "password-1"},
	} {
		if _, err := m.Login(ctx, audit.CLI(), th, tc.user, tc.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: Login error = %v, want ErrBadCredentials", tc.name, err)
		}
	}
	if th.failures != 3 || th.successes != 1 || th.cancels != 0 {
		t.Errorf("throttle saw %d failures, %d successes and %d cancels, want 3, 1 and 0", th.failures, th.successes, th.cancels)
	}
	th.wait = time.Minute
	var te *ThrottledError
	if _, err := m.Login(ctx, audit.CLI(), th, "dave", "password-1"); !errors.As(err, &te) || te.RetryAfter != time.Minute {
		t.Errorf("throttled Login error = %v", err)
	}
	th.wait = 0
	if _, err := m.SetDisabled(ctx, audit.CLI(), "dave", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Login(ctx, audit.CLI(), th, "dave", "password-1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled user: Login error = %v", err)
	}
	// A bcrypt hash (as passlib stored them) verifies and is upgraded.
	legacy, _ := bcrypt.GenerateFromPassword([]byte("legacy-pass"), 4)
	m.SetDisabled(ctx, audit.CLI(), "dave", false)
	m.Store.UpdateUser(ctx, u.ID, func(x store.User) (store.User, error) { x.PasswordHash = string(legacy); return x, nil })
	if _, err := m.Login(ctx, audit.CLI(), nil, "dave", "legacy-pass"); err != nil {
		t.Fatalf("bcrypt login: %v", err)
	}
	got, _ := m.Store.GetUser(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Errorf("hash not upgraded: %.10s", got.PasswordHash)
	}
	// Every outcome was audited.
	evs, _ := m.Store.ListAudit(ctx, store.AuditFilter{Action: string(audit.LoginFailed)})
	if len(evs) < 4 {
		t.Errorf("login.failed events = %d, want >= 4", len(evs))
	}
}

// blockingUsers is a real store whose username lookups are counted and,
// while gate is open, wait until it is closed.
type blockingUsers struct {
	store.Store
	lookups atomic.Int64
	entered chan struct{}
	gate    chan struct{}
}

func (b *blockingUsers) GetUserByUsername(ctx context.Context, name string) (store.User, error) {
	if b.lookups.Add(1) == 1 {
		close(b.entered)
		<-b.gate
	}
	return b.Store.GetUserByUsername(ctx, name)
}

// TestLoginBusyReadsNoUser: with the only hashing slot taken, a login is
// refused with ErrBusy before the user is read, so a flood of logins
// against a full hasher costs the database nothing.
func TestLoginBusyReadsNoUser(t *testing.T) {
	m, _ := mustManager(t)
	mustUser(t, m, "erin", "read")
	users := &blockingUsers{Store: m.Store, entered: make(chan struct{}), gate: make(chan struct{})}
	m.Store = users
	m.Hasher = password.New(password.Config{Params: password.TestParams(), MaxConcurrent: 1, MaxQueue: -1})
	ctx := context.Background()

	first := make(chan error, 1)
	go func() {
		_, err := m.Login(ctx, audit.CLI(), nil, "erin", "password-1")
		first <- err
	}()
	<-users.entered // the first login holds the slot and waits in its lookup
	th := &fakeThrottle{}
	for _, name := range []string{"erin", "nobody"} {
		if _, err := m.Login(ctx, audit.CLI(), th, name, "password-1"); !errors.Is(err, ErrBusy) {
			t.Errorf("Login(%s) with the hasher full: error = %v, want ErrBusy", name, err)
		}
	}
	if th.cancels != 2 || th.failures != 0 {
		t.Errorf("throttle saw %d cancels and %d failures, want 2 and 0: a login refused as busy was not an attempt", th.cancels, th.failures)
	}
	if n := users.lookups.Load(); n != 1 {
		t.Errorf("%d username lookups, want 1 (the refused logins must not read the user)", n)
	}
	close(users.gate)
	if err := <-first; err != nil {
		t.Errorf("the first login: %v", err)
	}
}
