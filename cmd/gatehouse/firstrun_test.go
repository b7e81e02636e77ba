package main

import (
	"strings"
	"testing"
)

// TestServePrintsAWorkingFirstAdminCommand: the command `serve` prints on
// an empty database, run as printed (with a password on stdin), creates an
// admin: a command the program prints must work.
func TestServePrintsAWorkingFirstAdminCommand(t *testing.T) {
	c := newCLI(t)
	var logs lockedBuffer
	c.serve(&logs)
	var printed []string
	for line := range strings.Lines(logs.String()) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "gatehouse" {
			printed = f[1:]
		}
	}
	if printed == nil {
		t.Fatalf("serve printed no gatehouse command on an empty database:\n%s", logs.String())
	}
	var u map[string]any
	c.mustJSON("first-admin-password\n", &u, printed...)
	if u["admin"] != true {
		t.Errorf("gatehouse %s created %v, want an admin", strings.Join(printed, " "), u)
	}
}
