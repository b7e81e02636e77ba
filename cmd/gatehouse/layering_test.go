package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI and the admin API share one service layer (internal/service);
// neither may reach around it into the store. This test fails when a CLI
// source file selects a Store field or method, or calls the audit
// package's store-level operations directly.
func TestCLIGoesThroughTheServiceLayer(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"Store": true, "audit.Verify": true, "audit.Prune": true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			full := sel.Sel.Name
			if id, ok := sel.X.(*ast.Ident); ok {
				full = id.Name + "." + sel.Sel.Name
			}
			if forbidden[sel.Sel.Name] || forbidden[full] {
				t.Errorf("%s: %s reaches around the service layer; add an operation to internal/service", fset.Position(sel.Pos()), full)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no CLI source files found")
	}
}
