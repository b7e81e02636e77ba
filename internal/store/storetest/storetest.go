package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Run runs the conformance suite as named subtests of t, one per entity.
// open must return a fresh, empty, migrated store for each (sub)test and
// close it when that test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Ping", func(t *testing.T) {
		if err := open(t).Ping(t.Context()); err != nil {
			t.Fatalf("Ping() error = %v", err)
		}
	})
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, open) })
	t.Run("AuthCodes", func(t *testing.T) { testAuthCodes(t, open) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefreshTokens(t, open) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, open) })
}

// base is the suite's reference time: not UTC and with nanoseconds, so
// every round-trip checks both the conversion to UTC and the truncation to
// microseconds.
func base() time.Time {
	return time.Date(2031, 5, 6, 7, 8, 9, 987654321, time.FixedZone("UTC+2", 2*60*60))
}

// at returns base() + d.
func at(d time.Duration) time.Time { return base().Add(d) }

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// hashOf returns a distinct 32-byte "hash" for a label, standing in for the
// SHA-256 of a secret.
func hashOf(label string) []byte {
	h := sha256.Sum256([]byte(label))
	return h[:]
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
	stringsType = reflect.TypeFor[[]string]()
)

// normalized returns v (a record struct) as the store must return it:
// times in UTC truncated to microseconds and empty string lists as nil.
func normalized[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Type() {
		case timeType:
			f.Set(reflect.ValueOf(store.Normalize(f.Interface().(time.Time))))
		case timePtrType:
			if !f.IsNil() {
				f.Set(reflect.ValueOf(ptr(store.Normalize(*f.Interface().(*time.Time)))))
			}
		case stringsType:
			if f.Len() == 0 {
				f.Set(reflect.Zero(stringsType))
			}
		}
	}
	return v
}

// checkUTC fails the test if any time field of the record v is not in UTC.
func checkUTC(t testing.TB, what string, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		f := rv.Field(i)
		name := rv.Type().Field(i).Name
		var tm time.Time
		switch f.Type() {
		case timeType:
			tm = f.Interface().(time.Time)
		case timePtrType:
			if f.IsNil() {
				continue
			}
			tm = *f.Interface().(*time.Time)
		default:
			continue
		}
		if tm.Location() != time.UTC {
			t.Errorf("%s: %s location = %v, want UTC", what, name, tm.Location())
		}
		if tm.Nanosecond()%1000 != 0 {
			t.Errorf("%s: %s = %v, not truncated to microseconds", what, name, tm)
		}
	}
}

// diff fails the test with a cmp.Diff when got is not want.
func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s error = %v, want %v", what, err, target)
	}
}

// mustOK fails the test now if err is not nil.
func mustOK(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s error = %v", what, err)
	}
}

// errFn is returned by updater functions to check that it comes back
// unchanged.
var errFn = errors.New("storetest: fn refused")

// ------------------------------------------------------------ fixtures

func newUser(name string) store.User {
	return store.User{
		ID:           store.NewID(),
		Username:     name,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		Scopes:       []string{"read", "write"},
		CreatedAt:    at(0),
		UpdatedAt:    at(time.Second),
	}
}

func mustCreateUser(t testing.TB, s store.Store, name string) store.User {
	t.Helper()
	u := newUser(name)
	mustOK(t, fmt.Sprintf("CreateUser(%q)", name), s.CreateUser(context.Background(), u))
	return u
}

func newClient(id string) store.Client {
	return store.Client{
		ID:           id,
		SecretHash:   hashOf("secret-" + id),
		Name:         "Client " + id,
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"},
		Scopes:       []string{"read"},
		RateLimit:    "10/s",
		CreatedAt:    at(0),
		UpdatedAt:    at(0),
	}
}

func mustCreateClient(t testing.TB, s store.Store, id string) store.Client {
	t.Helper()
	c := newClient(id)
	mustOK(t, fmt.Sprintf("CreateClient(%q)", id), s.CreateClient(context.Background(), c))
	return c
}

func newAPIKey(userID string) store.APIKey {
	id := store.NewID()
	return store.APIKey{
		ID:        id,
		UserID:    userID,
		Name:      "key " + id,
		Prefix:    "gk_" + id[:8],
		Hash:      hashOf("apikey-" + id),
		Scopes:    []string{"read"},
		CreatedAt: at(0),
	}
}

func newAuthCode(userID, label string) store.AuthCode {
	return store.AuthCode{
		Hash:                hashOf("code-" + label),
		ClientID:            "client-" + label,
		UserID:              userID,
		RedirectURI:         "https://app.example/cb",
		Scopes:              []string{"openid", "read"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Nonce:               "n-0S6_WzA2Mj",
		AuthTime:            at(-time.Minute),
		CreatedAt:           at(0),
		ExpiresAt:           at(time.Minute),
		GrantID:             "grant-" + label,
	}
}

func newRefreshToken(userID, family, label string) store.RefreshToken {
	return store.RefreshToken{
		Hash:        hashOf("refresh-" + label),
		FamilyID:    family,
		ClientID:    "client-1",
		UserID:      userID,
		Scopes:      []string{"read", "offline_access"},
		AuthTime:    at(-time.Minute),
		CreatedAt:   at(0),
		ExpiresAt:   at(24 * time.Hour),
		IdleExpires: at(time.Hour),
	}
}

// auditHash is the suite's chain hash: SHA-256 over PrevHash, Seq and the
// fields, length-prefixed. It is not the production encoding (that belongs
// to the audit package); the store must only call it and store the result.
func auditHash(e store.AuditEvent) []byte {
	h := sha256.New()
	write := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	write(e.PrevHash)
	_ = binary.Write(h, binary.BigEndian, e.Seq)
	_ = binary.Write(h, binary.BigEndian, e.Time.UnixMicro())
	for _, s := range []string{e.Action, e.Actor, e.Target, e.IP, e.UserAgent, e.RequestID, e.Result, e.Reason} {
		write([]byte(s))
	}
	write(e.Hash) // always empty: the store calls hash before setting Hash
	return h.Sum(nil)
}

// collect runs GarbageCollect and returns the count of one table (one of
// the gc* functions), so a conformance case checks what it deleted there.
func collect(ctx context.Context, s store.Store, table func(store.Garbage) int64, before time.Time) (int64, error) {
	g, err := s.GarbageCollect(ctx, before)
	return table(g), err
}

func gcAuthCodes(g store.Garbage) int64     { return g.AuthCodes }
func gcRefreshTokens(g store.Garbage) int64 { return g.RefreshTokens }
func gcRevocations(g store.Garbage) int64   { return g.Revocations }
func gcSessions(g store.Garbage) int64      { return g.Sessions }
