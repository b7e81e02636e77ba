package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// TestListFlagsSplitOnCommasAndSpaces: every list flag of the CLI takes a
// space- or comma-separated list alike, so that `--scopes read,write` is
// two scopes, not one named "read,write".
func TestListFlagsSplitOnCommasAndSpaces(t *testing.T) {
	c := newCLI(t)
	var u struct{ Scopes []string }
	c.mustJSON("pass-word-1\n", &u, "user", "create", "alice", "--password-stdin", "--scopes", "read,write")
	if !slices.Equal(u.Scopes, []string{"read", "write"}) {
		t.Errorf("user create --scopes read,write: scopes = %q, want [read write]", u.Scopes)
	}
	for _, list := range []string{"read, write", " read,,write ", "read\twrite"} {
		var k struct{ Scopes []string }
		c.mustJSON("", &k, "apikey", "create", "--user", "alice", "--scopes", list)
		if !slices.Equal(k.Scopes, []string{"read", "write"}) {
			t.Errorf("apikey create --scopes %q: scopes = %q, want [read write]", list, k.Scopes)
		}
	}
	var cl struct {
		GrantTypes []string `json:"grant_types"`
		Scopes     []string
	}
	c.mustJSON("", &cl, "client", "create", "--name", "svc", "--grant", "client_credentials refresh_token",
		"--grant", "password", "--scopes", "read,write")
	if !slices.Equal(cl.GrantTypes, []string{"client_credentials", "refresh_token", "password"}) ||
		!slices.Equal(cl.Scopes, []string{"read", "write"}) {
		t.Errorf("client create: grants %q, scopes %q; want three grants and [read write]", cl.GrantTypes, cl.Scopes)
	}
}

func TestCIDRListSettingsSplitOnCommasAndSpaces(t *testing.T) {
	want := []string{"10.0.0.0/8", "192.168.0.0/16"}
	for _, flag := range []string{"trusted-proxies", "metrics-allow"} {
		for _, v := range []string{"10.0.0.0/8,192.168.0.0/16", "10.0.0.0/8 192.168.0.0/16", "10.0.0.0/8, 192.168.0.0/16"} {
			table := settingTable()
			i := slices.IndexFunc(table, func(s setting) bool { return s.name == flag })
			var cfg gatehouse.Config
			if err := table[i].apply(&cfg, v); err != nil {
				t.Fatalf("--%s %q: %v", flag, v, err)
			}
			got := cfg.TrustedProxies
			if flag == "metrics-allow" {
				got = cfg.MetricsAllow
			}
			if !slices.Equal(got, want) {
				t.Errorf("--%s %q = %q, want %q", flag, v, got, want)
			}
		}
	}
}

// TestUserCreateRefusesMixedScript: the CLI refuses "rооt" (Cyrillic о)
// before it asks for a password.
func TestUserCreateRefusesMixedScript(t *testing.T) {
	c := newCLI(t)
	if _, errOut, code := c.run("pass-word-1\n", "user", "create", "rооt", "--password-stdin"); code == 0 || !strings.Contains(errOut, "script") {
		t.Errorf("user create rооt: exit %d %q, want an error about mixing scripts", code, errOut)
	}
}
