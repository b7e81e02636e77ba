package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/shelltest"
)

// Tests of the documentation: README.md is the front page and docs/ the
// manual. What they show must be what the binary does.

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// docFiles returns the user documentation: README.md, docs/*.md and
// deploy/README.md, as paths relative to the repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	manual, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(manual) == 0 {
		t.Fatalf("no docs/*.md found (%v)", err)
	}
	files := []string{"README.md", "deploy/README.md"}
	for _, m := range manual {
		files = append(files, "docs/"+filepath.Base(m))
	}
	return files
}

// mustReadDoc returns the text of the repository file name.
func mustReadDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEverySettingIsDocumented: every setting flag is in the configuration
// table of docs/configuration.md with its environment variable and, when
// it has one, its default.
func TestEverySettingIsDocumented(t *testing.T) {
	const doc = "docs/configuration.md"
	text := mustReadDoc(t, doc)
	// The first cell of a table row names the setting, the second its default.
	rows := map[string][]string{}
	for line := range strings.Lines(text) {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range regexp.MustCompile("`--([a-z0-9-]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = cells
		}
	}
	n := 0
	for _, st := range settingTable() {
		n++
		cells, ok := rows[st.name]
		if !ok {
			t.Errorf("%s has no table row for --%s", doc, st.name)
			continue
		}
		if env := envName(st.name); !strings.Contains(cells[1], "`"+env+"`") {
			t.Errorf("%s: the row of --%s does not name %s", doc, st.name, env)
		}
		if st.def != "" && !strings.Contains(cells[2], "`"+st.def+"`") {
			t.Errorf("%s: the row of --%s gives the default %q, want `%s`", doc, st.name, strings.TrimSpace(cells[2]), st.def)
		}
	}
	if n < 10 {
		t.Fatalf("only %d setting flags found", n)
	}
}

// TestReadmeIsAFrontPage: the README stays short, opens with the two
// commands a newcomer needs, and tells no development history (that is
// for BENCHMARKS.md and git), nor does the manual.
func TestReadmeIsAFrontPage(t *testing.T) {
	readme := mustReadDoc(t, "README.md")
	if len(readme) > 20_000 {
		t.Errorf("README.md is %d bytes, want at most 20,000: move the detail to docs/", len(readme))
	}
	_, first, ok := strings.Cut(readme, "```sh\n")
	first, _, _ = strings.Cut(first, "```")
	var cmds []string
	for line := range strings.Lines(first) {
		cmd, _, _ := strings.Cut(line, "#")
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			cmds = append(cmds, cmd)
		}
	}
	if want := []string{"go run ./cmd/gatehouse serve", "go test ./..."}; !ok || !reflect.DeepEqual(cmds, want) {
		t.Errorf("README.md's first command block = %q, want %q", cmds, want)
	}
	history := regexp.MustCompile(`(?i)target (is )?met|(earlier|previous|same|this) sitting|\bstop \d+\b|\bissue \d+|\bSPEC\b|STYLE §|<!-- *section:`)
	for _, name := range docFiles(t) {
		for i, line := range strings.Split(mustReadDoc(t, name), "\n") {
			if m := history.FindString(line); m != "" {
				t.Errorf("%s:%d: %q tells development history or cites a document outside the repository", name, i+1, m)
			}
		}
	}
}

// TestDocsLinks: every relative link in the documentation leads to a file
// that exists and, with a #fragment into a Markdown file, to one of its
// headings.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	code := regexp.MustCompile("`[^`]*`")
	anchors := map[string]map[string]bool{}
	anchorsOf := func(name string) map[string]bool {
		if a, ok := anchors[name]; ok {
			return a
		}
		a := headingAnchors(mustReadDoc(t, name))
		anchors[name] = a
		return a
	}
	n := 0
	for _, name := range docFiles(t) {
		for i, line := range proseLines(mustReadDoc(t, name)) {
			for _, m := range link.FindAllStringSubmatch(code.ReplaceAllString(line, ""), -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				n++
				file, frag, _ := strings.Cut(target, "#")
				resolved := name
				if file != "" {
					resolved = path.Join(path.Dir(name), file)
					if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(resolved))); err != nil {
						t.Errorf("%s:%d: link %s: %v", name, i+1, target, err)
						continue
					}
				}
				if frag != "" && strings.HasSuffix(resolved, ".md") && !anchorsOf(resolved)[frag] {
					t.Errorf("%s:%d: link %s: %s has no heading #%s", name, i+1, target, resolved, frag)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d relative links", n)
	}
}

// proseLines returns the lines of a Markdown text with the lines of fenced
// code blocks blanked, so that line numbers stay right.
func proseLines(text string) []string {
	lines := strings.Split(text, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			lines[i] = ""
		} else if fenced {
			lines[i] = ""
		}
	}
	return lines
}

// headingAnchors returns the fragments GitHub gives the headings of a
// Markdown text: lower case, punctuation dropped, spaces turned into
// hyphens, "-1", "-2" … added to repeats.
func headingAnchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, l := range proseLines(text) {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f:
				b.WriteRune(r)
			}
		}
		a := b.String()
		for i := 1; out[a]; i++ {
			a = fmt.Sprintf("%s-%d", b.String(), i)
		}
		out[a] = true
	}
	return out
}

// TestDocsCommandsAreReal: every `gatehouse COMMAND … --flag` the
// documentation shows names a command and flags it has, and every
// GATEHOUSE_* variable it names is one the code reads.
func TestDocsCommandsAreReal(t *testing.T) {
	known := map[string]bool{}
	for _, s := range settingTable() {
		known[envName(s.name)] = true
	}
	literal := regexp.MustCompile(`"(GATEHOUSE_[A-Z0-9_]+)"`)
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != repoRoot {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
				known[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	root := newRootCommand(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
	call := regexp.MustCompile(`\bgatehouse((?:[ \t]+[^ \t\n|;&#` + "`" + `)]+)+)`)
	envRef := regexp.MustCompile(`GATEHOUSE_[A-Z0-9_]+`)
	calls := 0
	for _, name := range docFiles(t) {
		text := strings.ReplaceAll(mustReadDoc(t, name), "\\\n", " ")
		for i, line := range strings.Split(text, "\n") {
			for _, v := range envRef.FindAllString(line, -1) {
				if !known[v] {
					t.Errorf("%s:%d: %s is no variable gatehouse reads", name, i+1, v)
				}
			}
			for _, m := range call.FindAllStringSubmatch(line, -1) {
				words := strings.Fields(strings.NewReplacer("[", " ", "]", " ", `"`, " ", "'", " ").Replace(m[1]))
				cmd, _, err := root.Find(words)
				if err != nil || cmd == root {
					continue // prose ("gatehouse is …"), not a command
				}
				calls++
				for _, w := range words {
					flag, ok := strings.CutPrefix(w, "--")
					if !ok {
						continue
					}
					flag, _, _ = strings.Cut(flag, "=")
					if flag != "help" && cmd.Flags().Lookup(flag) == nil && cmd.InheritedFlags().Lookup(flag) == nil {
						t.Errorf("%s:%d: %s has no flag --%s", name, i+1, cmd.CommandPath(), flag)
					}
				}
			}
		}
	}
	if calls < 20 {
		t.Fatalf("found only %d gatehouse commands in the documentation", calls)
	}
}

// TestReadmeWalkthrough runs the README's five-minute walk-through as a
// reader would: the `go run ./cmd/gatehouse` lines in process on the
// server's database, each curl line as the request curl sends, VAR=$(… |
// jq -r .field) as the shell would, and every "# {…}" line compared with
// the answer above it ("…" stands for any value, "abc…" for one that
// starts with abc).
func TestReadmeWalkthrough(t *testing.T) {
	const doc = "README.md"
	text := mustReadDoc(t, doc)
	_, rest, ok := strings.Cut(text, "## Five-minute walk-through")
	if ok {
		_, rest, ok = strings.Cut(rest, "```sh\n")
	}
	block, _, _ := strings.Cut(rest, "```")
	if !ok || block == "" {
		t.Fatalf("%s has no walk-through block", doc)
	}

	c := newCLI(t)
	w := &walkthrough{t: t, c: c, base: c.serve(io.Discard), vars: map[string]string{}}
	steps := 0
	for line := range strings.Lines(strings.ReplaceAll(block, "\\\n", " ")) {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "# {"):
			w.expect(line[2:])
		case strings.HasPrefix(line, "#"):
		default:
			steps++
			w.step(line)
		}
	}
	if steps < 6 {
		t.Fatalf("the walk-through has only %d commands", steps)
	}
}

// walkthrough is the shell that runs the README's walk-through.
type walkthrough struct {
	t    *testing.T
	c    *cli
	base string            // the server's URL, for http://127.0.0.1:8080
	vars map[string]string // shell variables set so far
	last string            // what the last command printed
	cmd  string            // the last command, for messages
}

// step runs one command line.
func (w *walkthrough) step(line string) {
	t := w.t
	t.Helper()
	w.cmd = line
	assignment := regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=\$\((.*) \| jq -r \.([a-z_]+)\)$`)
	if m := assignment.FindStringSubmatch(line); m != nil {
		out := w.run(m[2])
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: the output is no JSON object for jq: %q", line, out)
		}
		s, _ := v[m[3]].(string)
		if s == "" {
			t.Fatalf("%s: .%s of %s is not a string", line, m[3], out)
		}
		w.vars[m[1]] = s
		return
	}
	w.last = w.run(line)
}

// run runs a pipeline ("echo 'x' | go run …", "go run …" or "curl …") and
// returns its standard output.
func (w *walkthrough) run(pipeline string) string {
	t := w.t
	t.Helper()
	words, err := shelltest.Words(pipeline, w.vars)
	if err != nil {
		t.Fatal(err)
	}
	stdin := ""
	if len(words) > 2 && words[0] == "echo" && words[2] == "|" {
		stdin, words = words[1]+"\n", words[3:]
	}
	switch {
	case len(words) > 3 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/gatehouse":
		out, errOut, code := w.c.run(stdin, words[3:]...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", pipeline, code, errOut)
		}
		return out
	case len(words) > 1 && words[0] == "curl" && stdin == "":
		return w.curl(words[1:])
	}
	t.Fatalf("%s: this test runs only `go run ./cmd/gatehouse …` and `curl …`", pipeline)
	return ""
}

// curl sends the request curl would send for args, to the test's server
// for http://127.0.0.1:8080, and returns the body.
func (w *walkthrough) curl(args []string) string {
	t := w.t
	t.Helper()
	url := args[len(args)-1]
	path, ok := strings.CutPrefix(url, "http://127.0.0.1:8080")
	if !ok {
		t.Fatalf("%s: the URL is not on http://127.0.0.1:8080", w.cmd)
	}
	req, err := shelltest.CurlRequest(t.Context(), append(args[:len(args)-1:len(args)-1], w.base+path))
	if err != nil {
		t.Fatalf("%s: %v", w.cmd, err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", w.cmd, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expect compares the last command's output with the JSON shown below it.
func (w *walkthrough) expect(shown string) {
	t := w.t
	t.Helper()
	var want, got any
	if err := json.Unmarshal([]byte(shown), &want); err != nil {
		t.Fatalf("the README shows %s below %s, which is no JSON: %v", shown, w.cmd, err)
	}
	if err := json.Unmarshal([]byte(w.last), &got); err != nil {
		t.Fatalf("%s printed %q, not JSON", w.cmd, w.last)
	}
	if !shownMatches(want, got) {
		t.Errorf("%s\n answers %s\n the README shows %s", w.cmd, strings.TrimSpace(w.last), shown)
	}
}

// shownMatches reports whether got has the shape and values of want, in
// which the string "…" stands for any non-empty string and "abc…" for any
// string that starts with abc. Objects must have the same keys.
func shownMatches(want, got any) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		if prefix, elided := strings.CutSuffix(w, "…"); elided {
			return ok && g != "" && strings.HasPrefix(g, prefix)
		}
		return ok && g == w
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !shownMatches(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !shownMatches(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, got)
	}
}
