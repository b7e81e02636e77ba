package load_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/bench/load"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		ok          bool
		notLoopback bool // the error wraps ErrNotLoopback
	}{
		{name: "ipv4 loopback", url: "http://127.0.0.1:8080/healthz", ok: true},
		{name: "anywhere in 127/8", url: "http://127.45.6.7/", ok: true},
		{name: "localhost", url: "http://localhost:9000/users/me", ok: true},
		{name: "localhost upper case", url: "http://LocalHost/", ok: true},
		{name: "ipv6 loopback", url: "http://[::1]:8080/", ok: true},
		{name: "ipv4-mapped loopback", url: "http://[::ffff:127.0.0.1]/", ok: true},
		{name: "https", url: "https://127.0.0.1/", ok: true},
		{name: "private address", url: "http://10.0.0.1/", notLoopback: true},
		{name: "unspecified address", url: "http://0.0.0.0:8080/", notLoopback: true},
		{name: "link-local", url: "http://169.254.169.254/", notLoopback: true},
		{name: "other ipv6", url: "http://[::2]/", notLoopback: true},
		{name: "public name", url: "http://example.com/", notLoopback: true},
		{name: "name starting with localhost", url: "http://localhost.example.com/", notLoopback: true},
		{name: "name embedding a loopback ip", url: "http://127.0.0.1.nip.io/", notLoopback: true},
		{name: "decimal ip", url: "http://2130706433/", notLoopback: true},
		{name: "no host", url: "http:///healthz", notLoopback: true},
		{name: "empty", url: ""},
		{name: "other scheme", url: "ftp://127.0.0.1/"},
		{name: "unparsable", url: "http://[::1/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := load.CheckLoopback(tc.url)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckLoopback(%q) error = %v, want ok %v", tc.url, err, tc.ok)
			}
			if got := errors.Is(err, load.ErrNotLoopback); got != tc.notLoopback {
				t.Errorf("CheckLoopback(%q) error = %v, want errors.Is(ErrNotLoopback) %v", tc.url, err, tc.notLoopback)
			}
		})
	}
}

func TestNewClientRefusesToDialElsewhere(t *testing.T) {
	c := load.NewClient(1, 0)
	// 192.0.2.0/24 is TEST-NET-1; the dialer refuses before connecting.
	resp, err := c.Get("http://192.0.2.1:9/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("Get(192.0.2.1) succeeded, want a refusal")
	}
	if !errors.Is(err, load.ErrNotLoopback) {
		t.Errorf("Get(192.0.2.1) error = %v, want ErrNotLoopback", err)
	}
}

func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "http://192.0.2.1/", http.StatusFound)
			return
		}
		t.Errorf("redirect followed to %s", r.URL)
	}))
	defer srv.Close()
	resp, err := load.NewClient(1, 0).Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("Get() status = %d, want %d", resp.StatusCode, http.StatusFound)
	}
}
