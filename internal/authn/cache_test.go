package authn

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/changes"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
)

// countingReads is a real store whose user and API-key reads are counted.
type countingReads struct {
	store.Store
	users, keys atomic.Int64
}

func (s *countingReads) GetUser(ctx context.Context, id string) (store.User, error) {
	s.users.Add(1)
	return s.Store.GetUser(ctx, id)
}

func (s *countingReads) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	s.keys.Add(1)
	return s.Store.GetAPIKey(ctx, id)
}

func mustAPIKey(t testing.TB, m *service.Manager, in service.NewAPIKey) service.CreatedAPIKey {
	t.Helper()
	k, err := m.CreateAPIKey(context.Background(), audit.CLI(), in)
	if err != nil {
		t.Fatalf("CreateAPIKey(%+v) error = %v", in, err)
	}
	return k
}

// TestVerifierRateLimit: the key's own limit comes with the record the
// verifier read, parsed once, without another store read.
func TestVerifierRateLimit(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	mustUser(t, m, "dan", "read")
	st := &countingReads{Store: m.Store}
	v := NewVerifier(VerifierConfig{Store: st, Now: clk.Now})
	m.Changes = changes.New(nil, nil, v.Changed)
	own := mustAPIKey(t, m, service.NewAPIKey{Owner: "dan", RateLimit: "20/m:40"})
	plain := mustAPIKey(t, m, service.NewAPIKey{Owner: "dan"})
	junk := mustAPIKey(t, m, service.NewAPIKey{Owner: "dan"})
	if _, err := m.Store.UpdateAPIKey(ctx, junk.ID, func(k store.APIKey) (store.APIKey, error) {
		k.RateLimit = "lots" // written behind the service layer's validation
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    service.CreatedAPIKey
		want   ratelimit.Limit
		wantOK bool
	}{
		{"own limit", own, ratelimit.Limit{Rate: 20.0 / 60, Burst: 40}, true},
		{"no limit of its own", plain, ratelimit.Limit{}, false},
		{"invalid limit", junk, ratelimit.Limit{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.VerifyAPIKey(ctx, tc.key.Secret); err != nil {
				t.Fatalf("VerifyAPIKey() error = %v", err)
			}
			before := st.keys.Load()
			got, ok := v.RateLimit(ctx, tc.key.ID)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RateLimit(%q) = %v, %v, want %v, %v", tc.key.ID, got, ok, tc.want, tc.wantOK)
			}
			if n := st.keys.Load() - before; n != 0 {
				t.Errorf("RateLimit(%q) after VerifyAPIKey read the store %d times, want 0", tc.key.ID, n)
			}
		})
	}
	t.Run("changed on this node", func(t *testing.T) {
		if _, err := m.SetAPIKeyRateLimit(ctx, audit.CLI(), own.ID, "", "5/s"); err != nil {
			t.Fatal(err)
		}
		if got, ok := v.RateLimit(ctx, own.ID); got != (ratelimit.Limit{Rate: 5, Burst: 5}) || !ok {
			t.Errorf("RateLimit(%q) after a change = %v, %v, want 5/s", own.ID, got, ok)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		if got, ok := v.RateLimit(ctx, "nope"); ok {
			t.Errorf("RateLimit(%q) = %v, true, want false", "nope", got)
		}
	})
}

// TestVerifierForgetUser: dropping a user's keys leaves other users' keys
// cached.
func TestVerifierForgetUser(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	erin := mustUser(t, m, "erin", "read")
	mustUser(t, m, "finn", "read")
	st := &countingReads{Store: m.Store}
	v := NewVerifier(VerifierConfig{Store: st, Now: clk.Now})
	ke := mustAPIKey(t, m, service.NewAPIKey{Owner: "erin"})
	kf := mustAPIKey(t, m, service.NewAPIKey{Owner: "finn"})
	for _, k := range []service.CreatedAPIKey{ke, kf} {
		if _, err := v.VerifyAPIKey(ctx, k.Secret); err != nil {
			t.Fatalf("VerifyAPIKey() error = %v", err)
		}
	}
	// Disabled behind the cache (another replica); the feed tells this one.
	if _, err := m.Store.UpdateUser(ctx, erin.ID, func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	v.ForgetUser(erin.ID)
	before := st.keys.Load()
	if _, err := v.VerifyAPIKey(ctx, ke.Secret); !errors.Is(err, ErrInvalidAPIKey) {
		t.Errorf("VerifyAPIKey(disabled owner's key) error = %v, want %v", err, ErrInvalidAPIKey)
	}
	if _, err := v.VerifyAPIKey(ctx, kf.Secret); err != nil {
		t.Errorf("VerifyAPIKey(other user's key) error = %v", err)
	}
	if n := st.keys.Load() - before; n != 1 {
		t.Errorf("%d key reads after ForgetUser, want 1 (the forgotten user's key only)", n)
	}
}

func TestUserCacheForget(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	u := mustUser(t, m, "gus", "read")
	c := NewUserCache(UserCacheConfig{Store: m.Store, Now: clk.Now})
	name := func() string {
		t.Helper()
		got, ok, err := c.Get(ctx, u.ID)
		if err != nil || !ok {
			t.Fatalf("Get(%q) = %v, %v, %v", u.ID, got, ok, err)
		}
		return got.Username
	}
	name()
	if _, err := m.Store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) { u.Username = "gustav"; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "gus" {
		t.Errorf("Get(%q).Username within the TTL = %q, want the cached gus", u.ID, got)
	}
	c.Forget(u.ID)
	if got := name(); got != "gustav" {
		t.Errorf("Get(%q).Username after Forget = %q, want gustav", u.ID, got)
	}
	if _, ok, err := c.Get(ctx, "nobody"); ok || err != nil {
		t.Errorf("Get(%q) = _, %v, %v, want false, nil", "nobody", ok, err)
	}
	clk.Advance(time.Hour)
	if got := name(); got != "gustav" {
		t.Errorf("Get(%q).Username after the TTL = %q, want gustav", u.ID, got)
	}
}
