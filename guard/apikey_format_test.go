package guard_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/guard"
)

// TestWellFormedKeyTable runs the guard's credential format check against
// testdata/credentials.txt, the table of the server's own parser
// (internal/secret) verdicts: the two implementations of the rule must
// agree on every row.
func TestWellFormedKeyTable(t *testing.T) {
	f, err := os.Open("testdata/credentials.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verdict, rest, _ := strings.Cut(line, " ")
		prefix, rest := mustUnquote(t, line, rest)
		value, _ := mustUnquote(t, line, strings.TrimPrefix(rest, " "))
		if got := guard.WellFormedKey(prefix, value); got != (verdict == "ok") {
			t.Errorf("wellFormedKey(%q, %q) = %v, want %v (%s)", prefix, value, got, verdict == "ok", line)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 50 {
		t.Errorf("the table has %d rows, want the full table", rows)
	}
}

func mustUnquote(t *testing.T, line, s string) (string, string) {
	t.Helper()
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		t.Fatalf("bad row %q: %v", line, err)
	}
	v, _ := strconv.Unquote(q)
	return v, s[len(q):]
}

func TestWellFormedKeyAllocs(t *testing.T) {
	k := mustWellFormedKey(t, "gk_")
	for _, v := range []string{k, mistypeKey(k)} {
		if n := testing.AllocsPerRun(100, func() { guard.WellFormedKey("gk_", v) }); n != 0 {
			t.Errorf("wellFormedKey(%q) allocates %v times, want 0", v, n)
		}
	}
}

// FuzzWellFormedKey: the check never panics, and what it accepts has the
// prefix and the length of a credential.
func FuzzWellFormedKey(f *testing.F) {
	f.Add("gk_", mustWellFormedKey(f, "gk_"))
	f.Add("gk_", "gk_")
	f.Add("", "")
	f.Add("a_", "a_\xff")
	f.Fuzz(func(t *testing.T, prefix, value string) {
		if guard.WellFormedKey(prefix, value) && (!strings.HasPrefix(value, prefix) || len(value) != len(prefix)+62) {
			t.Fatalf("wellFormedKey(%q, %q) accepted a value of the wrong shape", prefix, value)
		}
	})
}
