package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/shelltest"
)

// mustStart seeds and serves the app until the test ends; it returns the
// server and the API key seed made.
func mustStart(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	a, err := newApp(t.Context(), gatehouse.Config{
		DatabaseURL:                 "sqlite:" + filepath.Join(t.TempDir(), "q.db"),
		Issuer:                      "http://quickstart.test",
		InsecureFastPasswordHashing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.srv.Close() })
	key, err := a.seed(t.Context())
	if err != nil || key == "" {
		t.Fatalf("seed = %q, %v", key, err)
	}
	hs := httptest.NewServer(a.handler)
	t.Cleanup(hs.Close)
	return hs, key
}

func TestQuickstart(t *testing.T) {
	hs, key := mustStart(t)

	call := func(method, path string, hdr map[string]string, body io.Reader) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, body)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(b, &m)
		return res.StatusCode, m
	}

	// The tutorial's API-key route.
	code, body := call("GET", "/protected/", map[string]string{"X-API-Key": key}, nil)
	if code != 200 || body["message"] != "Hello, johndoe" || body["data"] == nil {
		t.Fatalf("GET /protected/ = %d %v", code, body)
	}
	code, body = call("GET", "/protected/", nil, nil)
	if code != 401 || body["error_description"] != "Missing API Key" {
		t.Errorf("no key: %d %v", code, body)
	}
	code, body = call("GET", "/protected/", map[string]string{"X-API-Key": "gk_wrong"}, nil)
	if code != 401 || body["error_description"] != "Invalid or inactive API Key" {
		t.Errorf("bad key: %d %v", code, body)
	}

	// The tutorial's OAuth2 password form at POST /token, then /users/me.
	form := url.Values{"username": {demoUser}, "password": {demoPassword}, "grant_type": {"password"}}
	code, tok := call("POST", "/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
	if code != 200 || tok["token_type"] != "Bearer" {
		t.Fatalf("POST /token = %d %v", code, tok)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}
	code, me := call("GET", "/users/me", bearer, nil)
	if code != 200 || me["username"] != "johndoe" {
		t.Fatalf("GET /users/me = %d %v", code, me)
	}
	// A bearer token greets by username too, and scopes are enforced.
	if code, body = call("GET", "/protected/", bearer, nil); code != 200 || body["message"] != "Hello, johndoe" {
		t.Errorf("bearer /protected/ = %d %v", code, body)
	}
	if code, _ = call("GET", "/items/", bearer, nil); code != 200 {
		t.Errorf("GET /items/ with items:read = %d", code)
	}
	code, tok = call("POST", "/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(form.Encode()+"&scope=me"))
	if code != 200 {
		t.Fatalf("narrowed token: %d %v", code, tok)
	}
	code, body = call("GET", "/items/", map[string]string{"Authorization": "Bearer " + tok["access_token"].(string)}, nil)
	if code != 403 || body["error"] != "insufficient_scope" {
		t.Errorf("GET /items/ without items:read = %d %v", code, body)
	}
}

// TestPrintedCommands runs the curl commands main prints, as printed,
// against the app: each must succeed.
func TestPrintedCommands(t *testing.T) {
	hs, key := mustStart(t)

	var out strings.Builder
	printUsage(&out, hs.URL, key)
	n := 0
	for line := range strings.Lines(out.String()) {
		words, err := shelltest.Words(line, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(words) == 0 || words[0] != "curl" {
			continue
		}
		n++
		req, err := shelltest.CurlRequest(t.Context(), words[1:])
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s = %d %s", strings.TrimSpace(line), res.StatusCode, body)
		}
	}
	if n != 2 {
		t.Errorf("printed %d curl commands, want 2:\n%s", n, out.String())
	}
}
