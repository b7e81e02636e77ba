package oauth

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name      string
		headers   []string // Authorization header values
		form      url.Values
		want      ClientAuth
		wantCode  string // "" for success
		wantBasic bool
	}{
		{
			name:    "basic",
			headers: []string{basicHeader("client1", "s3cret")},
			want:    ClientAuth{ID: "client1", Secret: "s3cret", Method: AuthSecretBasic},
		},
		{
			name:    "basic URL-decodes both parts",
			headers: []string{basicHeader("my%3Aclient", "p%40ss+word%2B%25%3A")},
			want:    ClientAuth{ID: "my:client", Secret: "p@ss word+%:", Method: AuthSecretBasic},
		},
		{
			name:    "basic password may contain raw colons",
			headers: []string{basicHeader("c", "a:b")},
			want:    ClientAuth{ID: "c", Secret: "a:b", Method: AuthSecretBasic},
		},
		{
			name:    "basic scheme is case-insensitive",
			headers: []string{"bAsIc " + base64.StdEncoding.EncodeToString([]byte("c:s"))},
			want:    ClientAuth{ID: "c", Secret: "s", Method: AuthSecretBasic},
		},
		{
			name:    "basic with empty password",
			headers: []string{basicHeader("public", "")},
			want:    ClientAuth{ID: "public", Method: AuthSecretBasic},
		},
		{
			name:    "basic with the same client_id in the body",
			headers: []string{basicHeader("c", "s")},
			form:    url.Values{"client_id": {"c"}},
			want:    ClientAuth{ID: "c", Secret: "s", Method: AuthSecretBasic},
		},
		{
			name: "client_secret_post",
			form: url.Values{"client_id": {"c"}, "client_secret": {"s"}},
			want: ClientAuth{ID: "c", Secret: "s", Method: AuthSecretPost},
		},
		{
			name: "none",
			form: url.Values{"client_id": {"public"}},
			want: ClientAuth{ID: "public", Method: AuthNone},
		},
		{
			name: "empty client_secret counts as absent",
			form: url.Values{"client_id": {"public"}, "client_secret": {""}},
			want: ClientAuth{ID: "public", Method: AuthNone},
		},
		{
			name: "no client at all",
			form: url.Values{"grant_type": {"password"}},
			want: ClientAuth{},
		},
		{
			name:    "other schemes are ignored",
			headers: []string{"Bearer abc"},
			form:    url.Values{"client_id": {"c"}, "client_secret": {"s"}},
			want:    ClientAuth{ID: "c", Secret: "s", Method: AuthSecretPost},
		},
		{
			name:     "basic and client_secret in the body",
			headers:  []string{basicHeader("c", "s")},
			form:     url.Values{"client_secret": {"s"}},
			wantCode: InvalidRequest,
		},
		{
			name:     "basic client_id conflicts with the body",
			headers:  []string{basicHeader("c", "s")},
			form:     url.Values{"client_id": {"other"}},
			wantCode: InvalidRequest,
		},
		{
			name:     "two Authorization headers",
			headers:  []string{basicHeader("c", "s"), basicHeader("d", "t")},
			wantCode: InvalidRequest,
		},
		{
			name:     "client_secret without client_id",
			form:     url.Values{"client_secret": {"s"}},
			wantCode: InvalidRequest,
		},
		{
			name:     "duplicate client_id",
			form:     url.Values{"client_id": {"a", "b"}},
			wantCode: InvalidRequest,
		},
		{
			name:     "duplicate client_secret",
			form:     url.Values{"client_id": {"a"}, "client_secret": {"s", "t"}},
			wantCode: InvalidRequest,
		},
		{
			name:     "control character in body client_id",
			form:     url.Values{"client_id": {"a\nb"}},
			wantCode: InvalidClient,
		},
		{
			name:     "non-ASCII body client_secret",
			form:     url.Values{"client_id": {"a"}, "client_secret": {"caf\u00e9"}},
			wantCode: InvalidClient,
		},
		{
			name:     "overlong body client_id",
			form:     url.Values{"client_id": {strings.Repeat("a", MaxClientIDLen+1)}},
			wantCode: InvalidClient,
		},
		{
			name:      "basic not base64",
			headers:   []string{"Basic !!!"},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic without colon",
			headers:   []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon"))},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic without credentials",
			headers:   []string{"Basic"},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with empty client_id",
			headers:   []string{basicHeader("", "s")},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with bad percent escape",
			headers:   []string{basicHeader("c", "100%")},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with an encoded control character",
			headers:   []string{basicHeader("c%0A", "s")},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic unpadded base64",
			headers:   []string{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("c:s1"))},
			wantCode:  InvalidClient,
			wantBasic: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := ClientCredentials(r, tc.form)
			if tc.wantCode != "" {
				if err == nil {
					t.Fatalf("ClientCredentials() = %v, nil; want %s", got, tc.wantCode)
				}
				if err.Code != tc.wantCode || err.UseBasic != tc.wantBasic {
					t.Errorf("ClientCredentials() error = %v (UseBasic %v), want %s (UseBasic %v)", err, err.UseBasic, tc.wantCode, tc.wantBasic)
				}
				if got != (ClientAuth{}) {
					t.Errorf("ClientCredentials() = %v with an error, want the zero ClientAuth", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ClientCredentials() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ClientCredentials() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientAuthInvalidClient(t *testing.T) {
	tests := []struct {
		method    AuthMethod
		wantBasic bool
	}{
		{AuthSecretBasic, true},
		{AuthSecretPost, false},
		{AuthNone, false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.method), func(t *testing.T) {
			e := ClientAuth{ID: "c", Method: tc.method}.InvalidClient("client %s failed", "c")
			if e.Code != InvalidClient || e.Status != 401 || e.Description != "client c failed" || e.UseBasic != tc.wantBasic {
				t.Errorf("InvalidClient() = %+v, want invalid_client 401 with UseBasic %v", e, tc.wantBasic)
			}
		})
	}
}

func TestClientAuthHidesSecret(t *testing.T) {
	a := ClientAuth{ID: "c", Secret: "TOPSECRET", Method: AuthSecretPost}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("auth", "client", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), logged.String()} {
		if strings.Contains(s, "TOPSECRET") {
			t.Errorf("formatted ClientAuth %q shows the secret", s)
		}
		if !strings.Contains(s, "c") {
			t.Errorf("formatted ClientAuth %q lacks the client id", s)
		}
	}
	if !strings.Contains(logged.String(), "client.method=client_secret_post") {
		t.Errorf("log line %q lacks the method", logged.String())
	}
}
