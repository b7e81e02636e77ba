package changes

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/guard"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestFromEntry(t *testing.T) {
	tests := []struct {
		name  string
		entry store.Revocation
		want  Change
		ok    bool
	}{
		{"api key revoked", store.Revocation{Kind: guard.RevokeAPIKey, Value: "k1"}, Change{APIKey, "k1"}, true},
		{"user revoked", store.Revocation{Kind: guard.RevokeUser, Value: "u1"}, Change{User, "u1"}, true},
		{"client revoked", store.Revocation{Kind: guard.RevokeClient, Value: "c1"}, Change{Client, "c1"}, true},
		{"signing key revoked", store.Revocation{Kind: guard.RevokeKey, Value: "kid"}, Change{SigningKeys, ""}, true},
		{"keys notice", store.Revocation{Kind: guard.RevokeEvent, Value: "keys"}, Change{SigningKeys, ""}, true},
		{"user notice", store.Revocation{Kind: guard.RevokeEvent, Value: "user:u2"}, Change{User, "u2"}, true},
		{"client notice", store.Revocation{Kind: guard.RevokeEvent, Value: "client:c2"}, Change{Client, "c2"}, true},
		{"api key notice", store.Revocation{Kind: guard.RevokeEvent, Value: "apikey:k2"}, Change{APIKey, "k2"}, true},
		{"unlock notice", store.Revocation{Kind: guard.RevokeEvent, Value: "unlock:d1"}, Change{Unlock, "d1"}, true},
		{"unknown notice", store.Revocation{Kind: guard.RevokeEvent, Value: "gizmo:x"}, Change{}, false},
		{"notice without id", store.Revocation{Kind: guard.RevokeEvent, Value: "user:"}, Change{}, false},
		{"access token", store.Revocation{Kind: guard.RevokeToken, Value: "jti"}, Change{}, false},
		{"refresh family", store.Revocation{Kind: guard.RevokeFamily, Value: "fam"}, Change{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FromEntry(tc.entry)
			if got != tc.want || ok != tc.ok {
				t.Errorf("FromEntry(%+v) = %+v, %v; want %+v, %v", tc.entry, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// notices records what Publish writes.
type notices struct {
	got []store.Revocation
	err error
}

func (n *notices) Revoke(_ context.Context, kind, value string, at, expires time.Time) error {
	n.got = append(n.got, store.Revocation{Kind: kind, Value: value, At: at, ExpiresAt: expires})
	return n.err
}

// TestPublishRoundTrip: what one replica publishes, another reads back as
// the same change, and the publisher's own handlers hear it at once.
func TestPublishRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := &notices{}
	var here, there []Change
	a := New(n, func() time.Time { return now }, func(c Change) { here = append(here, c) })
	b := New(nil, nil, func(c Change) { there = append(there, c) })
	sent := []Change{{User, "u"}, {Client, "c"}, {APIKey, "k"}, {SigningKeys, ""}, {Unlock, "d"}}
	for _, c := range sent {
		if err := a.Publish(t.Context(), c); err != nil {
			t.Fatalf("Publish(%+v) = %v", c, err)
		}
	}
	b.ApplyEntries(n.got)
	if !slices.Equal(here, sent) || !slices.Equal(there, sent) {
		t.Errorf("publisher heard %v, other replica %v; want %v for both", here, there, sent)
	}
	for _, r := range n.got {
		if r.Kind != guard.RevokeEvent || !r.ExpiresAt.After(now) {
			t.Errorf("notice %+v: want an event entry that expires after now", r)
		}
	}
}

// TestPublishFailureStillAppliesHere: a notice that cannot be written is
// reported, and the change applies here anyway.
func TestPublishFailureStillAppliesHere(t *testing.T) {
	n := &notices{err: errors.New("database is down")}
	var here []Change
	s := New(n, nil, func(c Change) { here = append(here, c) })
	if err := s.Publish(t.Context(), Change{APIKey, "k"}); err == nil {
		t.Error("Publish with a failing notifier: no error")
	}
	if len(here) != 1 {
		t.Errorf("handlers heard %v, want the change once", here)
	}
}
