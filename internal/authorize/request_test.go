package authorize

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// clientStore serves one client; parse needs nothing else.
type clientStore struct {
	store.Store
	c store.Client
}

func (s clientStore) GetClient(_ context.Context, id string) (store.Client, error) {
	if id != s.c.ID {
		return store.Client{}, store.ErrNotFound
	}
	return s.c, nil
}

func parseHandler() *Handler {
	now := time.Now()
	h := testHandler(&now)
	h.Store = clientStore{c: store.Client{ID: "app", Public: true, GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/loop"}}}
	return h
}

func TestParse(t *testing.T) {
	h := parseHandler()
	challenge := oauth.S256Challenge(strings.Repeat("v", 43))
	good := "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&code_challenge=" +
		challenge + "&code_challenge_method=S256"
	for _, tc := range []struct {
		name, query string
		want        string // "" ok, "page", or the redirect error code
	}{
		{"valid", good, ""},
		{"loopback port", strings.Replace(good, "https%3A%2F%2Fapp.example%2Fcb", "http%3A%2F%2F127.0.0.1%3A4711%2Floop", 1), ""},
		{"unknown client", strings.Replace(good, "client_id=app", "client_id=nope", 1), "page"},
		{"unregistered redirect", strings.Replace(good, "app.example", "evil.example", 1), "page"},
		{"two states", good + "&state=t", "page"},
		{"token", strings.Replace(good, "response_type=code", "response_type=token", 1), oauth.UnsupportedResponseType},
		{"no PKCE", strings.Split(good, "&code_challenge=")[0], oauth.InvalidRequest},
		{"plain", strings.Replace(good, "S256", "plain", 1), oauth.InvalidRequest},
		{"prompt none login", good + "&prompt=none+login", oauth.InvalidRequest},
		{"negative max_age", good + "&max_age=-1", oauth.InvalidRequest},
		{"request object", good + "&request=eyJ", "request_not_supported"},
		{"fragment mode", good + "&response_mode=fragment", oauth.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.parse(t.Context(), q)
			var pe *pageError
			var re *redirectError
			got := ""
			switch {
			case errors.As(err, &pe):
				got = "page"
			case errors.As(err, &re):
				got = re.err.Code
			case err != nil:
				t.Fatalf("parse: %v", err)
			}
			if got != tc.want {
				t.Errorf("parse(%s) = %q (%v), want %q", tc.query, got, err, tc.want)
			}
		})
	}
}

// FuzzParse checks that no input panics and that nothing but a
// registered redirect URI (or its loopback port variant) is ever used.
func FuzzParse(f *testing.F) {
	f.Add("response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge=x")
	f.Add("client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Floop&response_type=code&scope=a+b")
	f.Add("client_id=app&client_id=app&redirect_uri=https://app.example/cb")
	h := parseHandler()
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := h.parse(context.Background(), q)
		var re *redirectError
		if errors.As(err, &re) {
			req = re.req
		} else if err != nil {
			return
		}
		ok := req.RedirectURI == "https://app.example/cb" ||
			strings.HasPrefix(req.RedirectURI, "http://127.0.0.1:") && strings.HasSuffix(req.RedirectURI, "/loop") ||
			req.RedirectURI == "http://127.0.0.1/loop"
		if !ok {
			t.Fatalf("parse(%q) would redirect to %q", raw, req.RedirectURI)
		}
	})
}
