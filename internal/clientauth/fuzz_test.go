package clientauth

import (
	"encoding/base64"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

func FuzzParseCredentials(f *testing.F) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []struct{ header, id, secret string }{
		{basic("client:secret"), "", ""},
		{basic("my%3Aclient:p%40ss+word"), "my:client", ""},
		{basic("c:"), "", ""},
		{basic(":s"), "", ""},
		{basic("nocolon"), "", ""},
		{basic("c%zz:s"), "", ""},
		{basic("c%0a:s"), "", ""},
		{"Basic !!!", "", ""},
		{"Basic", "", ""},
		{"basic   " + base64.StdEncoding.EncodeToString([]byte("a:b")) + "  ", "", ""},
		{"Bearer token", "c", "s"},
		{"", "c", "s"},
		{"", "c", ""},
		{"", "", "s"},
	} {
		f.Add(seed.header, seed.id, seed.secret)
	}
	f.Fuzz(func(t *testing.T, header, bodyID, bodySecret string) {
		r := httptest.NewRequest("POST", "/token", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		form := url.Values{}
		if bodyID != "" {
			form.Set("client_id", bodyID)
		}
		if bodySecret != "" {
			form.Set("client_secret", bodySecret)
		}
		got, err := ParseCredentials(r, form)
		if err != nil {
			if got != (Credentials{}) {
				t.Fatalf("ParseCredentials() = %v with error %v", got, err)
			}
			if err.Code != oauth.InvalidClient && err.Code != oauth.InvalidRequest {
				t.Fatalf("ParseCredentials() error code %q", err.Code)
			}
			return
		}
		switch got.Method {
		case "":
			if got != (Credentials{}) {
				t.Fatalf("ParseCredentials() = %#v: no method but credentials", got)
			}
			return
		case oauth.AuthNone:
			if got.Secret != "" {
				t.Fatalf("ParseCredentials() = %#v: none with a secret", got)
			}
		case oauth.AuthSecretPost:
			if got.ID != bodyID || got.Secret != bodySecret {
				t.Fatalf("ParseCredentials() = %#v, not the body credentials", got)
			}
		case oauth.AuthSecretBasic:
			if bodySecret != "" || (bodyID != "" && bodyID != got.ID) {
				t.Fatalf("ParseCredentials() = %#v accepted Basic with body id %q secret %q", got, bodyID, bodySecret)
			}
			// Re-encoding the decoded credentials must decode to the same.
			again := httptest.NewRequest("POST", "/token", nil)
			again.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
				[]byte(url.QueryEscape(got.ID)+":"+url.QueryEscape(got.Secret))))
			round, err := ParseCredentials(again, nil)
			if err != nil || round != got {
				t.Fatalf("round trip of %#v = %#v, %v", got, round, err)
			}
		default:
			t.Fatalf("ParseCredentials() method %q", got.Method)
		}
		if !validCredential(got.ID, MaxClientIDLen) || (got.Secret != "" && !validCredential(got.Secret, MaxClientSecretLen)) {
			t.Fatalf("ParseCredentials() = %#v: credentials outside VSCHAR or too long", got)
		}
	})
}
