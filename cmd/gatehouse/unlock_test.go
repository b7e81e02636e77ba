package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestUserUnlockCommand: `user show --json` shows a login lock and `user
// unlock`, run beside the server (another process, in effect), ends it on
// the running server.
func TestUserUnlockCommand(t *testing.T) {
	c := newCLI(t)
	c.env["GATEHOUSE_LOGIN_MAX_FAILURES"] = "3"
	base := c.serve(io.Discard)
	var u map[string]any
	c.mustJSON("pass-word-1\n", &u, "user", "create", "erin", "--password-stdin")
	if v, ok := u["locked_until"]; !ok || v != nil {
		t.Errorf("user create --json: locked_until = %v (present %v), want null", v, ok)
	}
	login := func(pw string) int {
		res, err := http.PostForm(base+"/token", url.Values{"grant_type": {"password"}, "username": {"erin"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := range 3 {
		if code := login("wrong-password"); code != 400 {
			t.Fatalf("failure %d = %d, want 400", i+1, code)
		}
	}
	if code := login("pass-word-1"); code != 429 {
		t.Fatalf("right password after 3 failures from this address = %d, want 429", code)
	}
	c.mustJSON("", &u, "user", "show", "erin")
	until, _ := u["locked_until"].(string)
	if at, err := time.Parse(time.RFC3339Nano, until); err != nil || !at.After(time.Now()) {
		t.Errorf("user show --json while locked: locked_until = %v, want a time to come", u["locked_until"])
	}
	out, _, code := c.run("", "user", "show", "erin")
	if code != 0 || !strings.Contains(out, "LOCKED UNTIL") || !strings.Contains(out, until[:10]) {
		t.Errorf("user show table = %q, want a LOCKED UNTIL column with the date", out)
	}
	c.mustJSON("", &u, "user", "unlock", "erin")
	if u["locked_until"] != nil {
		t.Errorf("user unlock --json: locked_until = %v, want null", u["locked_until"])
	}
	deadline := time.Now().Add(5 * time.Second)
	for login("pass-word-1") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the server still refuses erin after `user unlock`")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, _, code := c.run("", "user", "unlock", "erin"); code != 0 || !strings.Contains(out, "erin unlocked") {
		t.Errorf("user unlock (table) = %d %q", code, out)
	}
	if _, errOut, code := c.run("", "user", "unlock", "nobody"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Errorf("user unlock nobody = %d %q, want an error", code, errOut)
	}
}
