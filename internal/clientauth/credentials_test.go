package clientauth

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

	"github.com/gatehouse/gatehouse/internal/oauth"
)

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name      string
		headers   []string // Authorization header values
		form      url.Values
		want      Credentials
		wantCode  string // "" for success
		wantBasic bool
	}{
		{
			name:    "basic",
			headers: []string{basicHeader("client1", "s3cret")},
			want:    Credentials{ID: "client1", Secret: "s3cret", Method: oauth.AuthSecretBasic},
		},
		{
			name:    "basic URL-decodes both parts",
			headers: []string{basicHeader("my%3Aclient", "p%40ss+word%2B%25%3A")},
			want:    Credentials{ID: "my:client", Secret: "p@ss word+%:", Method: oauth.AuthSecretBasic},
		},
		{
			name:    "basic password may contain raw colons",
			headers: []string{basicHeader("c", "a:b")},
			want:    Credentials{ID: "c", Secret: "a:b", Method: oauth.AuthSecretBasic},
		},
		{
			name:    "basic scheme is case-insensitive",
			headers: []string{"bAsIc " + base64.StdEncoding.EncodeToString([]byte("c:s"))},
			want:    Credentials{ID: "c", Secret: "s", Method: oauth.AuthSecretBasic},
		},
		{
			name:    "basic with empty password",
			headers: []string{basicHeader("public", "")},
			want:    Credentials{ID: "public", Method: oauth.AuthSecretBasic},
		},
		{
			name:    "basic with the same client_id in the body",
			headers: []string{basicHeader("c", "s")},
			form:    url.Values{"client_id": {"c"}},
			want:    Credentials{ID: "c", Secret: "s", Method: oauth.AuthSecretBasic},
		},
		{
			name: "client_secret_post",
			form: url.Values{"client_id": {"c"}, "client_secret": {"s"}},
			want: Credentials{ID: "c", Secret: "s", Method: oauth.AuthSecretPost},
		},
		{
			name: "none",
			form: url.Values{"client_id": {"public"}},
			want: Credentials{ID: "public", Method: oauth.AuthNone},
		},
		{
			name: "empty client_secret counts as absent",
			form: url.Values{"client_id": {"public"}, "client_secret": {""}},
			want: Credentials{ID: "public", Method: oauth.AuthNone},
		},
		{
			name: "no client at all",
			form: url.Values{"grant_type": {"password"}},
			want: Credentials{},
		},
		{
			name:    "other schemes are ignored",
			headers: []string{"Bearer abc"},
			form:    url.Values{"client_id": {"c"}, "client_secret": {"s"}},
			want:    Credentials{ID: "c", Secret: "s", Method: oauth.AuthSecretPost},
		},
		{
			name:     "basic and client_secret in the body",
			headers:  []string{basicHeader("c", "s")},
			form:     url.Values{"client_secret": {"s"}},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "basic client_id conflicts with the body",
			headers:  []string{basicHeader("c", "s")},
			form:     url.Values{"client_id": {"other"}},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "two Authorization headers",
			headers:  []string{basicHeader("c", "s"), basicHeader("d", "t")},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "client_secret without client_id",
			form:     url.Values{"client_secret": {"s"}},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "duplicate client_id",
			form:     url.Values{"client_id": {"a", "b"}},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "duplicate client_secret",
			form:     url.Values{"client_id": {"a"}, "client_secret": {"s", "t"}},
			wantCode: oauth.InvalidRequest,
		},
		{
			name:     "control character in body client_id",
			form:     url.Values{"client_id": {"a\nb"}},
			wantCode: oauth.InvalidClient,
		},
		{
			name:     "non-ASCII body client_secret",
			form:     url.Values{"client_id": {"a"}, "client_secret": {"caf\u00e9"}},
			wantCode: oauth.InvalidClient,
		},
		{
			name:     "overlong body client_id",
			form:     url.Values{"client_id": {strings.Repeat("a", MaxClientIDLen+1)}},
			wantCode: oauth.InvalidClient,
		},
		{
			name:      "basic not base64",
			headers:   []string{"Basic !!!"},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic without colon",
			headers:   []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon"))},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic without credentials",
			headers:   []string{"Basic"},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with empty client_id",
			headers:   []string{basicHeader("", "s")},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with bad percent escape",
			headers:   []string{basicHeader("c", "100%")},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic with an encoded control character",
			headers:   []string{basicHeader("c%0A", "s")},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
		{
			name:      "basic unpadded base64",
			headers:   []string{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("c:s1"))},
			wantCode:  oauth.InvalidClient,
			wantBasic: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := ParseCredentials(r, tc.form)
			if tc.wantCode != "" {
				if err == nil {
					t.Fatalf("ParseCredentials() = %v, nil; want %s", got, tc.wantCode)
				}
				if err.Code != tc.wantCode || err.UseBasic != tc.wantBasic {
					t.Errorf("ParseCredentials() error = %v (UseBasic %v), want %s (UseBasic %v)", err, err.UseBasic, tc.wantCode, tc.wantBasic)
				}
				if got != (Credentials{}) {
					t.Errorf("ParseCredentials() = %v with an error, want the zero Credentials", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCredentials() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseCredentials() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialsInvalidClient(t *testing.T) {
	tests := []struct {
		method    oauth.AuthMethod
		wantBasic bool
	}{
		{oauth.AuthSecretBasic, true},
		{oauth.AuthSecretPost, false},
		{oauth.AuthNone, false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.method), func(t *testing.T) {
			e := Credentials{ID: "c", Method: tc.method}.InvalidClient("client %s failed", "c")
			if e.Code != oauth.InvalidClient || e.Status != 401 || e.Description != "client c failed" || e.UseBasic != tc.wantBasic {
				t.Errorf("InvalidClient() = %+v, want invalid_client 401 with UseBasic %v", e, tc.wantBasic)
			}
		})
	}
}

func TestCredentialsHidesSecret(t *testing.T) {
	a := Credentials{ID: "c", Secret: "TOPSECRET", Method: oauth.AuthSecretPost}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("auth", "client", a)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), logged.String()} {
		if strings.Contains(s, "TOPSECRET") {
			t.Errorf("formatted Credentials %q shows the secret", s)
		}
		if !strings.Contains(s, "c") {
			t.Errorf("formatted Credentials %q lacks the client id", s)
		}
	}
	if !strings.Contains(logged.String(), "client.method=client_secret_post") {
		t.Errorf("log line %q lacks the method", logged.String())
	}
}
