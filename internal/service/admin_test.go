package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestUpdateClient(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	c, err := m.CreateClient(ctx, audit.CLI(), NewClient{
		Name: "app", GrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	name, limit := "renamed", "5/s"
	tests := []struct {
		name     string
		in       ClientUpdate
		wantCode string
		check    func(store.Client) bool
	}{
		{"name and rate limit only", ClientUpdate{Name: &name, RateLimit: &limit}, "", func(c store.Client) bool {
			return c.Name == "renamed" && c.RateLimit == "5/s" && slices.Equal(c.Scopes, []string{"read"}) &&
				slices.Equal(c.RedirectURIs, []string{"https://app.example/cb"})
		}},
		{"clear scopes", ClientUpdate{Scopes: []string{}}, "", func(c store.Client) bool { return len(c.Scopes) == 0 }},
		{"unknown grant", ClientUpdate{GrantTypes: []string{"implicit"}}, "invalid_grant_type", nil},
		{"code grant without redirect", ClientUpdate{RedirectURIs: []string{}}, "invalid_redirect_uri", nil},
		{"bad redirect", ClientUpdate{RedirectURIs: []string{"http://evil.example/cb#frag"}}, "invalid_redirect_uri", nil},
		{"bad rate limit", ClientUpdate{RateLimit: ptr("fast")}, "invalid_rate_limit", nil},
		{"empty name", ClientUpdate{Name: ptr("")}, "invalid_name", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.UpdateClient(ctx, audit.Actor{ID: "admin-1"}, c.ID, tc.in)
			var me *Error
			if tc.wantCode != "" {
				if !errors.As(err, &me) || me.Code != tc.wantCode {
					t.Fatalf("UpdateClient() error = %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateClient() error = %v", err)
			}
			if !tc.check(got) {
				t.Errorf("UpdateClient() = %+v", got)
			}
			if !slices.Equal(got.SecretHash, c.SecretHash) || got.Public != c.Public {
				t.Error("UpdateClient changed the secret or the client type")
			}
		})
	}
	evs, _ := m.ListAudit(ctx, store.AuditFilter{Action: "client.updated"})
	if len(evs) != 2 || evs[0].Actor != "admin-1" || evs[0].Target != c.ID {
		t.Errorf("client.updated events = %+v, want 2 by admin-1", evs)
	}
	if _, err := m.UpdateClient(ctx, audit.CLI(), "nope", ClientUpdate{}); !isKind(err, NotFound) {
		t.Errorf("UpdateClient(unknown) error = %v, want not found", err)
	}
}

func ptr[T any](v T) *T { return &v }

func isKind(err error, k Kind) bool {
	var me *Error
	return errors.As(err, &me) && me.Kind == k
}

func TestListUserAPIKeysByIDOnly(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	a := mustUser(t, m, "alice", "read")
	b := mustUser(t, m, "bob", "read")
	for _, u := range []store.User{a, b} {
		if _, err := m.CreateAPIKey(ctx, audit.CLI(), NewAPIKey{Owner: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	ks, err := m.ListUserAPIKeys(ctx, a.ID, "", 0)
	if err != nil || len(ks) != 1 || ks[0].UserID != a.ID {
		t.Fatalf("ListUserAPIKeys(alice) = %v, %v", ks, err)
	}
	// A username is not an id: it selects nothing.
	if ks, _ := m.ListUserAPIKeys(ctx, "alice", "", 0); len(ks) != 0 {
		t.Errorf("ListUserAPIKeys(username) = %d keys, want 0", len(ks))
	}
	if _, err := m.ListUserAPIKeys(ctx, "", "", 0); !isKind(err, Invalid) {
		t.Errorf("ListUserAPIKeys(\"\") error = %v, want invalid (never everyone's keys)", err)
	}
	names, err := m.Usernames(ctx, a.ID, b.ID, a.ID, "unknown", "")
	if err != nil || len(names) != 2 || names[a.ID] != "alice" || names[b.ID] != "bob" {
		t.Errorf("Usernames() = %v, %v", names, err)
	}
}

func TestCreateUserRefusesIDShapedNames(t *testing.T) {
	m, _ := mustManager(t)
	_, err := m.CreateUser(context.Background(), audit.CLI(), NewUser{Username: store.NewID()})
	if !isKind(err, Invalid) {
		t.Errorf("CreateUser(id-shaped) error = %v, want invalid_username", err)
	}
	// 26 characters that are not all base32 are fine.
	if _, err := m.CreateUser(context.Background(), audit.CLI(), NewUser{Username: "abcdefghijklmnopqrstuvwxy1"}); err != nil {
		t.Errorf("CreateUser(26 chars with a 1) error = %v", err)
	}
}

func TestAuditAndUserOperationsForTheCLI(t *testing.T) {
	m, clk := mustManager(t)
	ctx := context.Background()
	if has, err := m.HasUsers(ctx); err != nil || has {
		t.Fatalf("HasUsers() on an empty store = %v, %v; want false", has, err)
	}
	mustUser(t, m, "alice", "read")
	if has, err := m.HasUsers(ctx); err != nil || !has {
		t.Fatalf("HasUsers() after CreateUser = %v, %v; want true", has, err)
	}
	evs, err := m.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(evs) == 0 {
		t.Fatalf("ListAudit() = %d events, %v; want the user.created event", len(evs), err)
	}
	rep, err := m.VerifyAudit(ctx)
	if err != nil || !rep.OK || rep.Events != int64(len(evs)) {
		t.Fatalf("VerifyAudit() = %+v, %v; want OK over %d events", rep, err, len(evs))
	}
	// Everything so far is older than a cut-off in the future of the clock.
	clk.Advance(48 * time.Hour)
	mustUser(t, m, "bob", "read")
	n, err := m.PruneAudit(ctx, clk.Now().Add(-24*time.Hour))
	if err != nil || n != int64(len(evs)) {
		t.Fatalf("PruneAudit() = %d, %v; want %d", n, err, len(evs))
	}
	rep, err = m.VerifyAudit(ctx)
	if err != nil || !rep.OK || !rep.Anchored {
		t.Fatalf("VerifyAudit() after prune = %+v, %v; want OK and anchored", rep, err)
	}
}

func TestCredentialIDNeverEchoesSecrets(t *testing.T) {
	m, _ := mustManager(t)
	ctx := context.Background()
	for _, prefix := range []string{"gk_", ClientSecretPrefix, "grt_"} {
		v, id := secret.Mint(prefix)
		if got, ok := CredentialID(v); !ok || got != id {
			t.Errorf("CredentialID(%s…) = %q, %v; want %q, true", prefix, got, ok, id)
		}
		last := byte('a')
		if v[len(v)-1] == 'a' {
			last = 'b'
		}
		if _, ok := CredentialID(v[:len(v)-1] + string(last)); ok {
			t.Errorf("CredentialID accepted %s… with a broken checksum", prefix)
		}
		for _, err := range []error{
			func() error { _, err := m.FindUser(ctx, v); return err }(),
			func() error { _, err := m.GetClient(ctx, v); return err }(),
		} {
			if !isKind(err, NotFound) || strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), id) {
				t.Errorf("error for a pasted %s… secret = %v; want not found naming the id, not the secret", prefix, err)
			}
		}
	}
	for _, s := range []string{"", "alice", "gk_", "gk_short", "k3nfgizhey4f", strings.Repeat("x", 80)} {
		if _, ok := CredentialID(s); ok {
			t.Errorf("CredentialID(%q) = true", s)
		}
	}
}
