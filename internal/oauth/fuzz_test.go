package oauth

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "read", "openid profile email", " a  b a ", `a "b"`, "a\\b", "caf\u00e9", "\x00", "a\tb",
		strings.Repeat("x ", MaxScopes+1), strings.Repeat("y", MaxScopeLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScope(s)
		if err != nil {
			if got != nil || err.Code != InvalidScope {
				t.Fatalf("ParseScope(%q) = %q, %v; want nil and invalid_scope", s, got, err)
			}
			return
		}
		if len(got) > MaxScopes {
			t.Fatalf("ParseScope(%q) returned %d scopes, more than %d", s, len(got), MaxScopes)
		}
		seen := map[string]bool{}
		for _, tok := range got {
			if !ValidScopeToken(tok) || seen[tok] {
				t.Fatalf("ParseScope(%q) = %q: invalid or duplicate token %q", s, got, tok)
			}
			seen[tok] = true
		}
		// Every token of the input is kept, and rendering round-trips.
		for _, tok := range strings.Fields(s) {
			if !seen[tok] {
				t.Fatalf("ParseScope(%q) = %q lost %q", s, got, tok)
			}
		}
		again, err := ParseScope(ScopeString(got))
		if err != nil || !slices.Equal(again, got) {
			t.Fatalf("ParseScope(ScopeString(%q)) = %q, %v; want the same scopes", got, again, err)
		}
	})
}

func FuzzMatchRedirectURI(f *testing.F) {
	for _, seed := range []struct{ registered, got string }{
		{"https://app.example.com/cb", "https://app.example.com/cb"},
		{"https://app.example.com/cb", "https://app.example.com/cb/"},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000/cb"},
		{"http://127.0.0.1:80/cb?x=1", "http://127.0.0.1:5000/cb?x=1"},
		{"http://[::1]/cb", "http://[::1]:5000/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1.evil.example/cb"},
		{"http://127.0.0.1/cb", "http://127.0.0.1@evil.example/cb"},
		{"http://127.0.0.1", "http://127.0.0.1:1"},
		{"http://localhost/cb", "http://localhost:5000/cb"},
		{"com.example.app:/cb", "com.example.app:/cb"},
		{"https://app.example.com/cb#f", "https://app.example.com/cb#f"},
	} {
		f.Add(seed.registered, seed.got)
	}
	f.Fuzz(func(t *testing.T, registered, got string) {
		reg := []string{registered, "https://fixed.example/cb"}
		res, ok := MatchRedirectURI(reg, got)
		if !ok {
			if res != "" {
				t.Fatalf("MatchRedirectURI(%q, %q) = %q, false; want empty", reg, got, res)
			}
			return
		}
		if res != got {
			t.Fatalf("MatchRedirectURI(%q, %q) = %q, want got itself", reg, got, res)
		}
		u, err := url.Parse(res)
		if err != nil || !u.IsAbs() || u.User != nil || strings.Contains(res, "#") {
			t.Fatalf("MatchRedirectURI(%q, %q) matched a URI with userinfo, a fragment or no scheme", reg, got)
		}
		if slices.Contains(reg, res) {
			return
		}
		// Not an exact match: it must be the registered loopback URI with
		// only the port changed.
		ru, err := url.Parse(registered)
		if err != nil {
			t.Fatalf("MatchRedirectURI(%q, %q) = %q matched an unparsable registration", reg, got, res)
		}
		host := u.Hostname()
		if u.Scheme != "http" || (host != "127.0.0.1" && host != "::1") {
			t.Fatalf("MatchRedirectURI(%q, %q) = %q: inexact match of a non-loopback URI", reg, got, res)
		}
		if ru.Scheme != u.Scheme || ru.Hostname() != host || ru.User != nil ||
			ru.EscapedPath() != u.EscapedPath() || ru.RawQuery != u.RawQuery || ru.Opaque != u.Opaque {
			t.Fatalf("MatchRedirectURI(%q, %q) = %q differs from the registration beyond the port", reg, got, res)
		}
		if stripPort(registered) != stripPort(res) {
			t.Fatalf("MatchRedirectURI(%q, %q) = %q: strings differ beyond the port", reg, got, res)
		}
	})
}

// stripPort removes ":digits" after the loopback host, independently of
// splitLoopback.
func stripPort(s string) string {
	for _, p := range []string{"http://127.0.0.1:", "http://[::1]:"} {
		if strings.HasPrefix(s, p) {
			rest := strings.TrimLeft(s[len(p):], "0123456789")
			return p[:len(p)-1] + rest
		}
	}
	return s
}
