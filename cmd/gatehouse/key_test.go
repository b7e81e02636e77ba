package main

import (
	"strings"
	"testing"
)

func TestKeyRevokeAndLogoutCommands(t *testing.T) {
	c := newCLI(t)
	var rotated struct {
		KID string `json:"kid"`
	}
	c.mustJSON("", &rotated, "key", "rotate")
	if rotated.KID == "" {
		t.Fatal("key rotate --json printed no kid")
	}
	var revoked struct {
		KID     string `json:"kid"`
		Revoked bool   `json:"revoked"`
	}
	c.mustJSON("", &revoked, "key", "revoke", rotated.KID)
	if revoked.KID != rotated.KID || !revoked.Revoked {
		t.Fatalf("key revoke = %+v", revoked)
	}
	var keys []struct {
		ID     string `json:"kid"`
		Status string `json:"status"`
	}
	c.mustJSON("", &keys, "key", "list")
	found := false
	for _, k := range keys {
		if k.ID == rotated.KID {
			found = true
			if k.Status != "revoked" {
				t.Errorf("key list: %s has status %q, want revoked", k.ID, k.Status)
			}
		}
	}
	if !found {
		t.Errorf("key list does not show the revoked key %s: %+v", rotated.KID, keys)
	}
	if _, errOut, code := c.run("", "key", "revoke", "no-such-kid"); code == 0 || errOut == "" {
		t.Errorf("key revoke of an unknown kid: exit %d, stderr %q; want a failure", code, errOut)
	}

	c.mustJSON("pass-word-1\n", new(map[string]any), "user", "create", "zoe", "--password-stdin")
	if out, errOut, code := c.run("", "user", "logout", "zoe"); code != 0 || !strings.Contains(out+errOut, "zoe") {
		t.Errorf("user logout zoe: exit %d, out %q, err %q", code, out, errOut)
	}
	if _, _, code := c.run("", "user", "logout", "nobody"); code == 0 {
		t.Error("user logout of an unknown user exited 0")
	}
}
