package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestBasicAuthFormEncodesFirst(t *testing.T) {
	h := basicAuth(clientCreds{id: "a:b c", secret: "p/+=%"})
	req := &http.Request{Header: h}
	id, secret, ok := req.BasicAuth()
	if !ok || id != "a%3Ab+c" || secret != "p%2F%2B%3D%25" {
		t.Errorf("basicAuth() decodes to %q, %q, %v; want the RFC 6749 §2.3.1 form-encoded parts", id, secret, ok)
	}
}

func TestFixtureRemembersFailures(t *testing.T) {
	var calls []string
	cli := func(_ context.Context, stdin string, args ...string) ([]byte, error) {
		calls = append(calls, strings.Join(args[:2], " "))
		return nil, errors.New("gatehouse user create: exit status 1: Error: database is locked")
	}
	f := newFixture("http://127.0.0.1:1", cli, http.DefaultClient)
	ctx := t.Context()
	_, err1 := f.userToken(ctx)
	_, err2 := f.userAPIKey(ctx)
	_, err3 := f.userToken(ctx)
	for i, err := range []error{err1, err2, err3} {
		if err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Errorf("call %d error = %v, want the user create failure", i, err)
		}
	}
	if want := []string{"user create"}; !slices.Equal(calls, want) {
		t.Errorf("CLI calls = %q, want %q: a failed step is not retried", calls, want)
	}
}

func TestFixtureRejectsBadCLIOutput(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		call    func(*fixture, context.Context) error
		wantErr string
	}{
		{
			name:    "apikey without key",
			out:     `{"id":"k1"}`,
			call:    func(f *fixture, ctx context.Context) error { _, err := f.userAPIKey(ctx); return err },
			wantErr: `no "key"`,
		},
		{
			name:    "client without secret",
			out:     `{"client_id":"c1"}`,
			call:    func(f *fixture, ctx context.Context) error { _, err := f.clientCredentials(ctx); return err },
			wantErr: `no "client_id" or "client_secret"`,
		},
		{
			name:    "not json",
			out:     `created client c1`,
			call:    func(f *fixture, ctx context.Context) error { _, err := f.clientCredentials(ctx); return err },
			wantErr: "decode output",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cli := func(_ context.Context, _ string, args ...string) ([]byte, error) {
				if args[0] == "user" {
					return []byte(`{"username":"bench"}`), nil
				}
				return []byte(tc.out), nil
			}
			err := tc.call(newFixture("http://127.0.0.1:1", cli, http.DefaultClient), t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
