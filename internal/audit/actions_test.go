package audit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestActionsListsEveryAction parses audit.go: every Action constant
// declared there is in Actions (so a filter accepts it), once.
func TestActionsListsEveryAction(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []Action
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Fatalf("Action constant with a non-literal value at %v", v.Pos())
				}
				s, _ := strconv.Unquote(lit.Value)
				declared = append(declared, Action(s))
			}
		}
	}
	got := Actions()
	if len(declared) < 30 {
		t.Fatalf("found %d Action constants in audit.go, want all of them", len(declared))
	}
	for _, a := range declared {
		if !slices.Contains(got, a) {
			t.Errorf("Actions() lacks %q", a)
		}
		if !KnownAction(string(a)) {
			t.Errorf("KnownAction(%q) = false", a)
		}
	}
	if len(got) != len(declared) {
		t.Errorf("Actions() has %d entries, audit.go declares %d actions", len(got), len(declared))
	}
	for _, s := range []string{"", "bogus", "login.faild", "LOGIN.FAILED"} {
		if KnownAction(s) {
			t.Errorf("KnownAction(%q) = true", s)
		}
	}
}
