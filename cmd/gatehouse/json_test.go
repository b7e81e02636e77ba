package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJSONIsTheRESTShape: what `--json` prints of a user, an API key, a
// client, the signing keys and the audit log is what the REST API answers
// for the same records, field for field.
func TestJSONIsTheRESTShape(t *testing.T) {
	c := newCLI(t)
	base := c.serve(io.Discard)
	var root, alice map[string]any
	c.mustJSON("pass-word-1\n", &root, "user", "create", "root", "--admin", "--password-stdin")
	c.mustJSON("pass-word-1\n", &alice, "user", "create", "alice", "--scopes", "read write", "--password-stdin")
	var adminKey map[string]any
	c.mustJSON("", &adminKey, "apikey", "create", "--user", "root", "--name", "ops")
	var aliceKey map[string]any
	c.mustJSON("", &aliceKey, "apikey", "create", "--user", "alice", "--scopes", "read", "--rate-limit", "5/s", "--expires", "30d")
	var client map[string]any
	c.mustJSON("", &client, "client", "create", "--name", "svc", "--grant", "client_credentials", "--scopes", "read")
	var rotated map[string]any
	c.mustJSON("", &rotated, "key", "rotate")

	get := func(path string) any {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-API-Key", adminKey["key"].(string))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v any
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s = %d, %v", path, res.StatusCode, err)
		}
		return v
	}
	items := func(path string) any { return get(path).(map[string]any)["items"] }
	cliJSON := func(args ...string) any {
		t.Helper()
		var v any
		c.mustJSON("", &v, args...)
		return v
	}
	// The creation answers hold the secret that nothing else shows.
	delete(aliceKey, "key")
	delete(client, "client_secret")

	tests := []struct {
		name      string
		cli, rest any
	}{
		{"user create", alice, get("/admin/users/alice")},
		{"user show", cliJSON("user", "show", "alice"), get("/admin/users/alice")},
		{"user list", cliJSON("user", "list"), items("/admin/users")},
		{"apikey create", aliceKey, get("/admin/api-keys/" + aliceKey["id"].(string))},
		{"apikey list", cliJSON("apikey", "list", "--user", "alice"), items("/admin/users/alice/api-keys")},
		{"client create", client, get("/admin/clients/" + client["client_id"].(string))},
		{"client show", cliJSON("client", "show", client["client_id"].(string)), get("/admin/clients/" + client["client_id"].(string))},
		{"client list", cliJSON("client", "list"), items("/admin/clients")},
		{"key list", cliJSON("key", "list"), items("/admin/signing-keys")},
		{"audit", cliJSON("audit", "--action", "apikey.created"), items("/admin/audit?action=apikey.created&order=desc")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.rest, tc.cli); diff != "" {
				t.Errorf("gatehouse %s --json differs from the REST answer (-rest +cli):\n%s", tc.name, diff)
			}
		})
	}
	if rotated["status"] == nil || rotated["use"] == nil || rotated["kid"] == nil {
		t.Errorf("key rotate --json = %v, want the signing-key view", rotated)
	}
}
