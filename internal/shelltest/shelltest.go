// Package shelltest runs, in tests, the shell lines that the documentation
// and the examples show a reader: [Words] splits a line into words as a
// POSIX shell would, for the small subset they use, and [CurlRequest]
// turns curl's arguments into the request curl would send. So a test can
// run a documented command as written instead of a copy of it that may
// drift.
//
// It imports only the standard library and is used only by tests.
package shelltest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Words splits line into words: blanks separate words, '…' quotes, "…"
// quotes and expands $VAR, $VAR expands outside quotes too, and an
// unquoted | is a word of its own. vars holds the shell's variables;
// expanding one it lacks, or an unbalanced quote, is an error. Anything
// else ($(…), backslashes, globs) is taken literally.
func Words(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false // cur holds a word, perhaps an empty quoted one
	flush := func() {
		if in {
			words = append(words, cur.String())
			cur.Reset()
			in = false
		}
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '\'', '"':
			n := strings.IndexByte(line[i+1:], c)
			if n < 0 {
				return nil, fmt.Errorf("%s: unbalanced %c", line, c)
			}
			s := line[i+1 : i+1+n]
			if c == '"' {
				var err error
				if s, err = expand(s, vars); err != nil {
					return nil, fmt.Errorf("%s: %w", line, err)
				}
			}
			cur.WriteString(s)
			in, i = true, i+1+n
		case '$':
			n := varLen(line[i+1:])
			s, err := expand(line[i:i+1+n], vars)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", line, err)
			}
			cur.WriteString(s)
			in, i = true, i+n
		case '|':
			flush()
			words = append(words, "|")
		case ' ', '\t', '\n':
			flush()
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return words, nil
}

// varLen returns the length of the variable name s starts with.
func varLen(s string) int {
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || n > 0 && s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return n
}

// expand replaces every $VAR in s by its value.
func expand(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		n := varLen(s[i+1:])
		if n == 0 {
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		v, ok := vars[s[i+1:i+1+n]]
		if !ok {
			return "", fmt.Errorf("$%s is not set", s[i+1:i+1+n])
		}
		b.WriteString(v)
		s = s[i+1+n:]
	}
}

// CurlRequest returns the request curl would send for args, the words
// after "curl": -s, -d DATA (a POST of the data as a form; several are
// joined by &, as curl joins them, and sent as written, not encoded),
// -X METHOD and -H HEADER, then one URL. Any other option is an error,
// so that a test notices a command it does not run as curl would.
func CurlRequest(ctx context.Context, args []string) (*http.Request, error) {
	var data []string
	method := ""
	hdr := http.Header{}
	for len(args) > 1 {
		switch args[0] {
		case "-s":
			args = args[1:]
		case "-d":
			data, args = append(data, args[1]), args[2:]
		case "-X":
			method, args = args[1], args[2:]
		case "-H":
			k, v, ok := strings.Cut(args[1], ":")
			if !ok {
				return nil, fmt.Errorf("curl -H %q: not a header", args[1])
			}
			hdr.Add(k, strings.TrimSpace(v))
			args = args[2:]
		default:
			return nil, fmt.Errorf("curl option %q is not understood by this test", args[0])
		}
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return nil, fmt.Errorf("curl arguments %q end without one URL", args)
	}
	var body io.Reader
	if data != nil {
		body = strings.NewReader(strings.Join(data, "&"))
		if method == "" {
			method = http.MethodPost
		}
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, args[0], body)
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	return req, nil
}
