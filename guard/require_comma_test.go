package guard_test

import "testing"

// TestRequirePanicsOnComma: Require("read,write") would wait for a scope
// literally named "read,write", which gatehouse never grants; like any
// invalid scope, it is a programming error found at start-up.
func TestRequirePanicsOnComma(t *testing.T) {
	g := newFixture(t).guard(t, nil)
	for name, call := range map[string]func(){
		"Require":    func() { g.Require("read,write") },
		"RequireAny": func() { g.RequireAny("read", "a,b") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf(`%s with "read,write": no panic, want one`, name)
				}
			}()
			call()
		})
	}
}
