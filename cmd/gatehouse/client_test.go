package main

import (
	"slices"
	"strings"
	"testing"
)

func TestClientCommands(t *testing.T) {
	c := newCLI(t)
	type clientOut struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Name         string   `json:"name"`
		GrantTypes   []string `json:"grant_types"`
		RedirectURIs []string `json:"redirect_uris"`
		Public       bool     `json:"public"`
		FirstParty   bool     `json:"first_party"`
		Scopes       []string `json:"scopes"`
	}
	var conf clientOut
	// --grant takes a comma list and repeats; flags follow freely.
	c.mustJSON("", &conf, "client", "create", "--name", "billing", "--grant", "client_credentials,refresh_token",
		"--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scopes", "read write")
	if conf.ClientID == "" || conf.Public || conf.Name != "billing" || len(conf.GrantTypes) != 3 ||
		!slices.Equal(conf.RedirectURIs, []string{"https://app.example/cb"}) || !slices.Equal(conf.Scopes, []string{"read", "write"}) {
		t.Fatalf("client create = %+v", conf)
	}
	// A server-made secret of at least 256 bits.
	body := strings.TrimPrefix(conf.ClientSecret, "gcs_")
	if body == conf.ClientSecret || len(body)*6 < 256 {
		t.Errorf("client secret %q: want gcs_ and at least 256 bits", conf.ClientSecret)
	}
	var pub clientOut
	c.mustJSON("", &pub, "client", "create", "--name", "spa", "--public", "--grant", "authorization_code",
		"--redirect-uri", "http://127.0.0.1/cb")
	if !pub.Public || pub.ClientSecret != "" {
		t.Errorf("public client create = %+v (no secret wanted)", pub)
	}
	if _, errOut, code := c.run("", "client", "create", "--name", "bad", "--public", "--grant", "client_credentials"); code == 0 || errOut == "" {
		t.Errorf("public client_credentials client: exit %d %q, want an error", code, errOut)
	}
	if _, _, code := c.run("", "client", "create", "--name", "bad", "--grant", "implicit"); code == 0 {
		t.Error("unknown grant accepted")
	}

	var list []clientOut
	c.mustJSON("", &list, "client", "list")
	ids := map[string]clientOut{}
	for _, x := range list {
		ids[x.ClientID] = x
		if x.ClientSecret != "" {
			t.Errorf("client list shows a secret: %+v", x)
		}
	}
	if fp, ok := ids["gatehouse"]; !ok || !fp.FirstParty || !slices.Contains(fp.GrantTypes, "password") {
		t.Errorf("client list = %+v, want the first-party client with the password grant", list)
	}
	if _, ok := ids[conf.ClientID]; !ok || len(list) != 3 {
		t.Errorf("client list = %+v", list)
	}
	var shown clientOut
	c.mustJSON("", &shown, "client", "show", conf.ClientID)
	if shown.ClientID != conf.ClientID || shown.ClientSecret != "" {
		t.Errorf("client show = %+v", shown)
	}
	out, _, code := c.run("", "client", "list")
	if code != 0 || !strings.Contains(out, conf.ClientID) || strings.Contains(out, conf.ClientSecret) {
		t.Errorf("client list table = %q", out)
	}

	// The password grant can be turned off for the first-party client.
	var fp clientOut
	c.mustJSON("", &fp, "client", "disable-grant", "gatehouse", "password")
	if slices.Contains(fp.GrantTypes, "password") {
		t.Errorf("disable-grant = %+v", fp)
	}
	c.mustJSON("", &fp, "client", "enable-grant", "gatehouse", "password")
	if !slices.Contains(fp.GrantTypes, "password") {
		t.Errorf("enable-grant = %+v", fp)
	}
	if _, _, code := c.run("", "client", "delete", "gatehouse"); code == 0 {
		t.Error("the first-party client was deleted")
	}

	var del map[string]any
	c.mustJSON("", &del, "client", "delete", conf.ClientID)
	if del["deleted"] != true {
		t.Errorf("client delete = %v", del)
	}
	if _, errOut, code := c.run("", "client", "show", conf.ClientID); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("show after delete: exit %d %q", code, errOut)
	}
}
