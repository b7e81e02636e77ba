package oauth

import (
	"net/url"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{
		"https://app.example.com/callback",
		"https://app.example.com/cb?tenant=1",
		"http://127.0.0.1/native",
		"http://127.0.0.1:8080/fixed",
		"http://[::1]/v6",
		"http://localhost:3000/dev",
		"com.example.app:/oauth2redirect",
	}
	tests := []struct {
		name   string
		got    string
		want   string // "" = no match
		reason string
	}{
		{name: "exact https", got: "https://app.example.com/callback", want: "https://app.example.com/callback"},
		{name: "exact with query", got: "https://app.example.com/cb?tenant=1", want: "https://app.example.com/cb?tenant=1"},
		{name: "private-use scheme", got: "com.example.app:/oauth2redirect", want: "com.example.app:/oauth2redirect"},
		{name: "localhost exact", got: "http://localhost:3000/dev", want: "http://localhost:3000/dev"},
		{name: "loopback v4 exact", got: "http://127.0.0.1/native", want: "http://127.0.0.1/native"},
		{name: "loopback v4 any port", got: "http://127.0.0.1:51004/native", want: "http://127.0.0.1:51004/native"},
		{name: "loopback v4 other port than registered", got: "http://127.0.0.1:9999/fixed", want: "http://127.0.0.1:9999/fixed"},
		{name: "loopback v4 port dropped", got: "http://127.0.0.1/fixed", want: "http://127.0.0.1/fixed"},
		{name: "loopback v6 any port", got: "http://[::1]:61000/v6", want: "http://[::1]:61000/v6"},

		{name: "trailing slash", got: "https://app.example.com/callback/"},
		{name: "extra path", got: "https://app.example.com/callback/extra"},
		{name: "path prefix", got: "https://app.example.com/call"},
		{name: "other port for https", got: "https://app.example.com:8443/callback"},
		{name: "explicit default port", got: "https://app.example.com:443/callback"},
		{name: "upper-case scheme", got: "HTTPS://app.example.com/callback"},
		{name: "upper-case host", got: "https://App.Example.com/callback"},
		{name: "upper-case path", got: "https://app.example.com/Callback"},
		{name: "http instead of https", got: "http://app.example.com/callback"},
		{name: "extra query", got: "https://app.example.com/callback?x=1"},
		{name: "changed query", got: "https://app.example.com/cb?tenant=2"},
		{name: "dropped query", got: "https://app.example.com/cb"},
		{name: "percent-encoded path", got: "https://app.example.com/%63allback"},
		{name: "fragment", got: "https://app.example.com/callback#x"},
		{name: "empty fragment", got: "https://app.example.com/callback#"},
		{name: "userinfo", got: "https://user@app.example.com/callback"},
		{name: "userinfo in front of a registered host", got: "https://app.example.com@evil.example/callback"},
		{name: "localhost other port", got: "http://localhost:3001/dev"},
		{name: "localhost without port", got: "http://localhost/dev"},
		{name: "loopback other path", got: "http://127.0.0.1:8080/other"},
		{name: "loopback path with trailing slash", got: "http://127.0.0.1:5000/native/"},
		{name: "loopback with fragment", got: "http://127.0.0.1:5000/native#x"},
		{name: "loopback with userinfo", got: "http://a@127.0.0.1:5000/native"},
		{name: "loopback prefix of another host", got: "http://127.0.0.1.evil.example/native"},
		{name: "loopback prefix with userinfo trick", got: "http://127.0.0.1@evil.example/native"},
		{name: "loopback port then userinfo", got: "http://127.0.0.1:80@evil.example/native"},
		{name: "loopback empty port", got: "http://127.0.0.1:/native"},
		{name: "loopback port zero", got: "http://127.0.0.1:0/native"},
		{name: "loopback port too large", got: "http://127.0.0.1:65536/native"},
		{name: "loopback https", got: "https://127.0.0.1:5000/native"},
		{name: "other loopback address", got: "http://127.0.0.2:5000/native"},
		{name: "v6 path on v4 host", got: "http://127.0.0.1:5000/v6"},
		{name: "relative", got: "/callback"},
		{name: "empty", got: ""},
		{name: "unparsable", got: "https://app.example.com/\x00"},
		{name: "bad escape", got: "http://127.0.0.1:5000/native%zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := MatchRedirectURI(registered, tc.got)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("MatchRedirectURI(%q) = %q, %v; want %q, %v", tc.got, got, ok, tc.want, tc.want != "")
			}
		})
	}
}

func TestMatchRedirectURISkipsBadRegistrations(t *testing.T) {
	// Registration validates URIs, but matching must not trust that: a
	// loopback registration with a fragment must not widen to other ports.
	registered := []string{"http://127.0.0.1:1/cb?x#frag"}
	if got, ok := MatchRedirectURI(registered, "http://127.0.0.1:2/cb?x#frag"); ok {
		t.Errorf("MatchRedirectURI = %q, true; want no match for a fragment", got)
	}
	if got, ok := MatchRedirectURI(nil, "https://app.example.com/cb"); ok {
		t.Errorf("MatchRedirectURI(nil) = %q, true; want no match", got)
	}
}

func TestValidRedirectURI(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://app.example.com/callback", true},
		{"https://app.example.com:8443/cb?tenant=1", true},
		{"https://app.example.com", true},
		{"http://127.0.0.1/cb", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://[::1]:8080/cb", true},
		{"http://localhost:3000/cb", true},
		{"com.example.app:/oauth2redirect", true},
		{"com.example.app://callback", true},

		{"", false},
		{"/relative", false},
		{"app.example.com/cb", false},
		{"https://app.example.com/cb#frag", false},
		{"https://app.example.com/cb#", false},
		{"https://user:pw@app.example.com/cb", false},
		{"https://app.example.com/c b", false},
		{"https://app.example.com/\u00e9", false},
		{"https://app.example.com/cb\t", false},
		{"HTTPS://app.example.com/cb", false},
		{"https://App.example.com/cb", false},
		{"https:///cb", false},
		{"https:opaque", false},
		{"https://app.example.com:/cb", false},
		{"https://app.example.com:99999/cb", false},
		{"http://app.example.com/cb", false},
		{"http://127.0.0.2/cb", false},
		{"http://127.0.0.1:0/cb", false},
		{"http:127.0.0.1", false},
		{"javascript:alert(1)", false},
		{"data:text/html,hi", false},
		{"file:///etc/passwd", false},
		{"myapp:/cb", false},
		{"https://app.example.com/" + strings.Repeat("a", MaxRedirectURILen), false},
		{"https://app.example.com/%zz", false},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			err := ValidRedirectURI(tc.uri)
			if (err == nil) != tc.ok {
				t.Errorf("ValidRedirectURI(%q) error = %v, want ok %v", tc.uri, err, tc.ok)
			}
		})
	}
}

func TestAppendQuery(t *testing.T) {
	params := url.Values{"code": {"abc"}, "state": {"x y&z"}}
	tests := []struct {
		name     string
		redirect string
		params   url.Values
		want     string
	}{
		{"no query", "https://app.example.com/cb", params, "https://app.example.com/cb?code=abc&state=x+y%26z"},
		{"keeps the registered query", "https://app.example.com/cb?tenant=1&b=%2F", params, "https://app.example.com/cb?tenant=1&b=%2F&code=abc&state=x+y%26z"},
		{"empty query", "https://app.example.com/cb?", params, "https://app.example.com/cb?code=abc&state=x+y%26z"},
		{"query ending in &", "https://app.example.com/cb?a=1&", params, "https://app.example.com/cb?a=1&code=abc&state=x+y%26z"},
		{"private-use scheme", "com.example.app:/cb", params, "com.example.app:/cb?code=abc&state=x+y%26z"},
		{"fragment stays last", "https://app.example.com/cb?a=1#f", params, "https://app.example.com/cb?a=1&code=abc&state=x+y%26z#f"},
		{"no params", "https://app.example.com/cb?a=1", nil, "https://app.example.com/cb?a=1"},
		{"error response", "http://127.0.0.1:5000/cb", Errorf(AccessDenied, "denied").Values(),
			"http://127.0.0.1:5000/cb?error=access_denied&error_description=denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendQuery(tc.redirect, tc.params)
			if got != tc.want {
				t.Errorf("AppendQuery(%q, %v) = %q, want %q", tc.redirect, tc.params, got, tc.want)
			}
			if tc.params != nil {
				u, err := url.Parse(got)
				if err != nil {
					t.Fatalf("AppendQuery result %q does not parse: %v", got, err)
				}
				for k, v := range tc.params {
					if u.Query().Get(k) != v[0] {
						t.Errorf("AppendQuery result %q: %s = %q, want %q", got, k, u.Query().Get(k), v[0])
					}
				}
			}
		})
	}
}

func TestClaimableRedirect(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"https://app.example/cb", false},
		{"https://127.0.0.1/cb", false},
		{"http://127.0.0.1:8765/cb", true},
		{"http://[::1]/cb", true},
		{"http://localhost:9/cb", true},
		{"com.example.app:/cb", true},
		{"httpsx://app.example/cb", true},
	} {
		if got := ClaimableRedirect(tc.uri); got != tc.want {
			t.Errorf("ClaimableRedirect(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
}
