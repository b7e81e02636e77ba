package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	defaults := config{
		scenarios:    []string{"auth"},
		duration:     5 * time.Second,
		rounds:       3,
		concurrency:  16,
		floodWorkers: 64,
		floodRate:    800,
		meRate:       40,
		timeout:      10 * time.Second,
	}
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr []string // parts of the error message; nil for success
	}{
		{name: "defaults", args: nil, want: defaults},
		{
			name: "everything set",
			args: []string{"-bin", "/x/gatehouse", "-bare-bin", "/x/bare", "-scenario", "flood, token,AUTH,token,bare", "-duration", "2s", "-rounds", "4",
				"-concurrency", "8", "-flood-workers", "100", "-flood-rate", "500", "-me-rate", "20", "-timeout", "3s", "-json", "-out", "r.md",
				"-postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
			want: config{bin: "/x/gatehouse", bareBin: "/x/bare", scenarios: []string{"auth", "bare", "token", "flood"}, duration: 2 * time.Second, rounds: 4,
				concurrency: 8, floodWorkers: 100, floodRate: 500, meRate: 20, timeout: 3 * time.Second, json: true, out: "r.md",
				postgres: "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		},
		{
			name: "postgresql scheme, any case",
			args: []string{"-postgres", "PostgreSQL://u:pw@db.example/postgres"},
			want: func() config { c := defaults; c.postgres = "PostgreSQL://u:pw@db.example/postgres"; return c }(),
		},
		{
			name:    "postgres: other scheme, password hidden",
			args:    []string{"-postgres", "mysql://u:hunter2@127.0.0.1/db"},
			wantErr: []string{"-postgres mysql://u:xxxxx@127.0.0.1/db: want a postgres:// or postgresql:// URL"},
		},
		{
			name:    "postgres: keyword/value string",
			args:    []string{"-postgres", "host=127.0.0.1 user=postgres"},
			wantErr: []string{"want a postgres:// or postgresql:// URL"},
		},
		{
			name:    "postgres: no slashes",
			args:    []string{"-postgres", "postgres:127.0.0.1"},
			wantErr: []string{"-postgres postgres:127.0.0.1: want a postgres:// or postgresql:// URL"},
		},
		{
			name:    "postgres: not a URL",
			args:    []string{"-postgres", "postgres://u:hunter2@[::1/db"},
			wantErr: []string{"-postgres: not a URL: missing ']' in host"},
		},
		{
			name:    "postgres: bad port",
			args:    []string{"-postgres", "postgres://u:hunter2@h:port/db", "-rounds", "0"},
			wantErr: []string{"-postgres: not a URL: invalid port", "-rounds 0"},
		},
		{name: "unknown scenario", args: []string{"-scenario", "auth,bogus"}, wantErr: []string{"unknown scenario bogus"}},
		{name: "empty scenario list", args: []string{"-scenario", " , "}, wantErr: []string{"no scenario selected"}},
		{
			name:    "every problem at once",
			args:    []string{"-duration", "2m", "-rounds", "0", "-concurrency", "1000", "-flood-workers", "0", "-flood-rate", "0", "-me-rate", "-1", "-timeout", "0s"},
			wantErr: []string{"-duration 2m0s", "-rounds 0", "-concurrency 1000", "-flood-workers 0", "-flood-rate 0", "-me-rate -1", "-timeout 0s"},
		},
		{name: "rounds too short", args: []string{"-duration", "50ms", "-rounds", "10"}, wantErr: []string{"at least 10ms per round"}},
		{name: "stray argument", args: []string{"auth"}, wantErr: []string{"unexpected arguments"}},
		{name: "bad value", args: []string{"-duration", "soon"}, wantErr: []string{"invalid value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("parseFlags(%q) error = %v", tc.args, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("parseFlags(%q) = %+v, want %+v", tc.args, got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseFlags(%q) = %+v, want an error", tc.args, got)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("parseFlags(%q) error = %v, which gives away the password", tc.args, err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("parseFlags(%q) error = %v, want it to mention %q", tc.args, err, want)
				}
			}
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	var out strings.Builder
	_, err := parseFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-scenario", "auth, bare, token, limits, logins, flood", "-flood-workers", "-bare-bin", "-postgres URL", "gatehouse_load_"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage does not mention %q:\n%s", want, out.String())
		}
	}
}
