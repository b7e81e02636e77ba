package guard_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the guard a leaf that any Go service can import
// and that could move to a module of its own: only the standard library
// and go-jose, never a gatehouse internal package, a database driver or a
// metrics library.
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goBin, "list", "-deps",
		"-f", "{{.ImportPath}} {{.Standard}}", "github.com/gatehouse/gatehouse/guard")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}

	forbidden := []string{"/internal/", "sqlite", "pgx", "redis", "prometheus", "database/sql"}
	allowedPrefixes := []string{"github.com/go-jose/go-jose/v4", "github.com/gatehouse/gatehouse/guard"}
	var seen int
	for line := range strings.Lines(string(out)) {
		path, std, _ := strings.Cut(strings.TrimSpace(line), " ")
		if path == "" {
			continue
		}
		seen++
		if std == "true" {
			// The standard library's own internal packages are fine, but
			// the guard must not pull in database/sql either.
			if path == "database/sql" {
				t.Errorf("guard depends on %s", path)
			}
			continue
		}
		for _, bad := range forbidden {
			if strings.Contains(path, bad) {
				t.Errorf("guard depends on %s (forbidden: %q)", path, bad)
			}
		}
		ok := false
		for _, p := range allowedPrefixes {
			if path == p || strings.HasPrefix(path, p+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("guard depends on %s: only the standard library and go-jose are allowed", path)
		}
	}
	if seen < 10 {
		t.Errorf("go list -deps listed %d packages, want the full dependency list:\n%s", seen, out)
	}
}
