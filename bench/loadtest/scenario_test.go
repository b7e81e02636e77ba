package main

import (
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

func TestLoginFloodTargetVariesUsers(t *testing.T) {
	target := loginFloodTarget(nameFloodRate, "http://127.0.0.1:9")
	if target.Name != nameFloodRate || target.Method != http.MethodPost || target.URL != "http://127.0.0.1:9/oauth2/token" || target.Expect != http.StatusBadRequest {
		t.Errorf("loginFloodTarget() = %s %s expect %d, want POST /oauth2/token expect 400", target.Method, target.URL, target.Expect)
	}
	if got := target.Header.Get("Content-Type"); got != formType {
		t.Errorf("Content-Type = %q, want %q", got, formType)
	}
	users := map[string]bool{}
	for range 20 {
		b, _ := io.ReadAll(target.Body())
		form, err := url.ParseQuery(string(b))
		if err != nil {
			t.Fatalf("flood body %q: %v", b, err)
		}
		if form.Get("grant_type") != "password" || !strings.HasPrefix(form.Get("username"), "flood-") || form.Get("password") == "" {
			t.Errorf("flood body = %v, want a password grant for a flood- user", form)
		}
		users[form.Get("username")] = true
	}
	if len(users) < 19 {
		t.Errorf("20 flood bodies used %d usernames, want (nearly) all different", len(users))
	}
}

func TestFormTargets(t *testing.T) {
	c := clientCreds{id: "c1", secret: "s1"}
	tests := []struct {
		name     string
		target   load.Target
		wantURL  string
		wantForm url.Values
	}{
		{"client credentials", clientCredentialsTarget("http://[::1]:1", c), "http://[::1]:1/oauth2/token", url.Values{"grant_type": {"client_credentials"}}},
		{"introspection", introspectTarget("http://[::1]:1", c, "tok"), "http://[::1]:1/oauth2/introspect", url.Values{"token": {"tok"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.target.URL != tc.wantURL || tc.target.Method != http.MethodPost || tc.target.Expect != http.StatusOK {
				t.Errorf("target = %s %s expect %d, want POST %s expect 200", tc.target.Method, tc.target.URL, tc.target.Expect, tc.wantURL)
			}
			req := &http.Request{Header: tc.target.Header}
			if id, secret, ok := req.BasicAuth(); !ok || id != "c1" || secret != "s1" {
				t.Errorf("Basic auth = %q %q %v, want c1 s1", id, secret, ok)
			}
			for range 2 { // the body can be read again for every request
				b, _ := io.ReadAll(tc.target.Body())
				if form, _ := url.ParseQuery(string(b)); !reflect.DeepEqual(form, tc.wantForm) {
					t.Errorf("body = %q, want %v", b, tc.wantForm)
				}
			}
		})
	}
}

func TestSummarizeFlood(t *testing.T) {
	alone := load.Result{P99: 2 * time.Millisecond}
	flooded := load.Result{P99: 7 * time.Millisecond}
	flood := load.Result{Requests: 1000, Errors: 5, Timeouts: 3, Statuses: map[int]int{400: 90, 429: 800, 503: 105}}
	got := summarizeFlood(alone, flooded, flood, 64)
	want := floodReport{Workers: 64, P99AloneMs: 2, P99FloodedMs: 7, P99Ratio: 3.5, Requests: 1000,
		Status429: 800, Status503: 105, Timeouts: 3, Errors: 5, Statuses: map[string]int{"400": 90, "429": 800, "503": 105}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarizeFlood() = %+v, want %+v", got, want)
	}
	if r := summarizeFlood(load.Result{}, flooded, load.Result{}, 1).P99Ratio; r != 0 {
		t.Errorf("summarizeFlood() with nothing measured alone: ratio %v, want 0", r)
	}
}

func TestOneLine(t *testing.T) {
	got := oneLine("gatehouse client create: exit status 1: Error: unknown command \"client\"\n\tRun 'gatehouse --help'\n")
	want := `gatehouse client create: exit status 1: Error: unknown command "client" Run 'gatehouse --help'`
	if got != want {
		t.Errorf("oneLine() = %q, want %q", got, want)
	}
	if long := oneLine(strings.Repeat("é", 1000)); len([]rune(long)) != 402 {
		t.Errorf("oneLine(1000 runes) has %d runes, want 400 and an ellipsis", len([]rune(long)))
	}
}
