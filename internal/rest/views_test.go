package rest

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// schema is the part of an OpenAPI object schema the views are held to.
type schema struct {
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
}

func mustSchemas(t *testing.T) map[string]schema {
	t.Helper()
	b, err := os.ReadFile("../openapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

func mustFields(t *testing.T, v any) map[string]json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestViewsMatchTheDocument: every field a view writes is a property of
// its schema in /openapi.json, every required property is always
// written, and no list is null. The CLI's --json prints the same views,
// so this holds for both. SPEC's `--json` shapes are kept too.
func TestViewsMatchTheDocument(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := now.Add(time.Hour)
	fullKey := store.APIKey{ID: "k1", UserID: "u1", Name: "ci", Prefix: "gk_k1", Scopes: []string{"read"}, RateLimit: "5/s",
		CreatedAt: now, ExpiresAt: &later, LastUsedAt: &now, RevokedAt: &now, PrevExpiresAt: &later}
	fullClient := store.Client{ID: "c1", Name: "svc", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{"https://a.example/cb"},
		Scopes: []string{"read"}, RateLimit: "5/s", CreatedAt: now, UpdatedAt: now}
	tests := []struct {
		name, schema string
		view         any
		spec         []string // fields SPEC's --json shape names
	}{
		{"empty user", "User", NewUser(store.User{}, now), []string{"id", "username", "scopes", "admin"}},
		{"locked user", "User", NewUser(store.User{ID: "u1", Username: "alice", Scopes: []string{"read"}, LockedUntil: &later}, now), nil},
		{"empty key", "APIKey", NewAPIKey(store.APIKey{}, ""), nil},
		{"full key", "APIKey", NewAPIKey(fullKey, "alice"), nil},
		{"created key", "APIKey", NewCreatedAPIKey(service.CreatedAPIKey{APIKey: fullKey, Secret: "gk_secret", Username: "alice"}),
			[]string{"id", "key", "name", "user", "scopes", "expires_at"}},
		{"rotated key", "APIKey", NewRotatedAPIKey(service.RotatedAPIKey{APIKey: fullKey, Secret: "gk_secret"}, "alice"), nil},
		{"empty client", "Client", NewClient(store.Client{}), nil},
		{"created client", "Client", NewCreatedClient(service.CreatedClient{Client: fullClient, Secret: "gcs_secret"}),
			[]string{"client_id", "client_secret", "name", "grant_types", "redirect_uris", "public", "scopes"}},
		{"empty signing key", "SigningKey", NewSigningKey(signing.KeyInfo{}), nil},
		{"retired signing key", "SigningKey", NewSigningKey(signing.KeyInfo{ID: "kid", Algorithm: "ES256", Status: signing.StatusRetired,
			Use: []string{signing.UseAccessToken}, CreatedAt: now, ActivatesAt: now, RetiredAt: &now, ExpiresAt: &later}), nil},
		{"audit entry", "AuditEvent", AuditEntry{Seq: 1, Time: now, Action: "user.created", Actor: "cli", Result: "success"},
			[]string{"time", "action", "actor", "target", "ip", "user_agent", "request_id", "result", "reason"}},
		{"me", "Me", Me{ID: "u1", Username: "alice", Scopes: []string{}, AuthMethod: "bearer"}, nil},
	}
	schemas := mustSchemas(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := schemas[tc.schema]
			if !ok {
				t.Fatalf("no schema %s in openapi.json", tc.schema)
			}
			fields := mustFields(t, tc.view)
			for name, raw := range fields {
				if _, ok := s.Properties[name]; !ok {
					t.Errorf("%s: field %q is not a property of schema %s", tc.name, name, tc.schema)
				}
				if string(raw) == "null" && slices.Contains([]string{"scopes", "grant_types", "redirect_uris", "use"}, name) {
					t.Errorf("%s: %s is null, want a list", tc.name, name)
				}
			}
			for _, name := range append(slices.Clone(s.Required), tc.spec...) {
				if _, ok := fields[name]; !ok {
					t.Errorf("%s: required field %q is missing from %v", tc.name, name, fields)
				}
			}
		})
	}
}

// TestViewsNeverHoldASecretUnasked: only the views made for a creation or
// rotation hold the secret.
func TestViewsNeverHoldASecretUnasked(t *testing.T) {
	k := store.APIKey{ID: "k1", Hash: []byte("hash"), PrevHash: []byte("prev")}
	c := store.Client{ID: "c1", SecretHash: []byte("hash")}
	for _, v := range []any{NewAPIKey(k, "alice"), NewClient(c)} {
		for name := range mustFields(t, v) {
			if name == "key" || name == "client_secret" || slices.Contains([]string{"hash", "secret_hash", "prev_hash"}, name) {
				t.Errorf("view %T has field %q", v, name)
			}
		}
	}
}
