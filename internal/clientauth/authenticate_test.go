package clientauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mustAuthenticator returns an Authenticator over clients in memory: a
// confidential client "conf" whose secret it returns and a public client
// "pub".
func mustAuthenticator(t testing.TB) (*Authenticator, string) {
	t.Helper()
	sec, _ := secret.Mint("gcs_")
	st := &countingStore{clients: map[string]store.Client{
		"conf": {ID: "conf", SecretHash: secret.Hash(sec)},
		"pub":  {ID: "pub", Public: true},
	}}
	now := time.Unix(1_000_000, 0)
	return New(Config{Store: st, Now: func() time.Time { return now }}), sec
}

func TestAuthenticate(t *testing.T) {
	a, sec := mustAuthenticator(t)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	public := Policy{Public: true}
	firstParty := Policy{Public: true, DefaultClientID: "pub"}
	basicOnly := Policy{BasicOnly: true}
	tests := []struct {
		name   string
		auth   []string // Authorization headers
		form   url.Values
		policy Policy
		// wantID and wantMethod on success; otherwise wantCode, and
		// wantBasic for the challenge.
		wantID     string
		wantMethod oauth.AuthMethod
		wantCode   string
		wantBasic  bool
	}{
		{name: "confidential, basic", auth: []string{basicHeader("conf", sec)}, wantID: "conf", wantMethod: oauth.AuthSecretBasic},
		{name: "confidential, post", form: form("client_id", "conf", "client_secret", sec), wantID: "conf", wantMethod: oauth.AuthSecretPost},
		{name: "basic with the same client_id in the body", auth: []string{basicHeader("conf", sec)}, form: form("client_id", "conf"),
			wantID: "conf", wantMethod: oauth.AuthSecretBasic},
		{name: "wrong secret, basic", auth: []string{basicHeader("conf", sec+"x")}, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "wrong secret, post", form: form("client_id", "conf", "client_secret", "nope"), wantCode: oauth.InvalidClient},
		{name: "confidential by client_id alone", form: form("client_id", "conf"), policy: public, wantCode: oauth.InvalidClient},
		{name: "confidential, basic without password", auth: []string{basicHeader("conf", "")}, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "unknown client, basic", auth: []string{basicHeader("who", "x")}, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "unknown client, post", form: form("client_id", "who", "client_secret", "x"), wantCode: oauth.InvalidClient},
		{name: "no client", wantCode: oauth.InvalidClient},
		{name: "bearer is not client authentication", auth: []string{"Bearer abc"}, wantCode: oauth.InvalidClient},
		{name: "public by client_id", form: form("client_id", "pub"), policy: public, wantID: "pub", wantMethod: oauth.AuthNone},
		{name: "public, basic without password", auth: []string{basicHeader("pub", "")}, policy: public, wantID: "pub", wantMethod: oauth.AuthNone},
		{name: "public refused", form: form("client_id", "pub"), wantCode: oauth.InvalidClient},
		{name: "public refused, basic", auth: []string{basicHeader("pub", "")}, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "public with a secret", form: form("client_id", "pub", "client_secret", "x"), policy: public, wantCode: oauth.InvalidClient},
		{name: "default client", policy: firstParty, wantID: "pub", wantMethod: oauth.AuthNone},
		{name: "named client over the default", form: form("client_id", "conf", "client_secret", sec), policy: firstParty,
			wantID: "conf", wantMethod: oauth.AuthSecretPost},
		{name: "confidential default client", policy: Policy{Public: true, DefaultClientID: "conf"}, wantCode: oauth.InvalidClient},
		{name: "basic only", auth: []string{basicHeader("conf", sec)}, policy: basicOnly, wantID: "conf", wantMethod: oauth.AuthSecretBasic},
		{name: "basic only, body ignored", form: form("client_id", "conf", "client_secret", sec), policy: basicOnly,
			wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "basic only, no client", policy: basicOnly, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "basic only, wrong secret", auth: []string{basicHeader("conf", "nope")}, policy: basicOnly, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "basic only, public", auth: []string{basicHeader("pub", "")}, policy: basicOnly, wantCode: oauth.InvalidClient, wantBasic: true},
		{name: "two Authorization headers", auth: []string{basicHeader("conf", sec), basicHeader("pub", "")}, wantCode: oauth.InvalidRequest},
		{name: "basic and client_secret", auth: []string{basicHeader("conf", sec)}, form: form("client_secret", sec), wantCode: oauth.InvalidRequest},
		{name: "malformed basic", auth: []string{"Basic !!!"}, policy: public, wantCode: oauth.InvalidClient, wantBasic: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
			for _, h := range tc.auth {
				r.Header.Add("Authorization", h)
			}
			c, method, err := a.Authenticate(r, tc.form, tc.policy)
			if tc.wantCode == "" {
				if err != nil || c.ID != tc.wantID || method != tc.wantMethod {
					t.Fatalf("Authenticate(%s) = %q, %q, %v; want %q, %q, nil", tc.name, c.ID, method, err, tc.wantID, tc.wantMethod)
				}
				return
			}
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != tc.wantCode || oe.UseBasic != tc.wantBasic {
				t.Fatalf("Authenticate(%s) error = %v, want %s with UseBasic %v", tc.name, err, tc.wantCode, tc.wantBasic)
			}
			if c.ID != "" || method != "" {
				t.Errorf("Authenticate(%s) = %q, %q with an error, want nothing", tc.name, c.ID, method)
			}
		})
	}
}

// brokenStore fails every read, like a database that is down.
type brokenStore struct{ store.Clients }

func (brokenStore) GetClient(context.Context, string) (store.Client, error) {
	return store.Client{}, errors.New("connection refused")
}

func TestAuthenticateStoreFailure(t *testing.T) {
	a := New(Config{Store: brokenStore{}})
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
	r.Header.Set("Authorization", basicHeader("conf", "s"))
	_, _, err := a.Authenticate(r, nil, Policy{})
	var oe *oauth.Error
	if err == nil || errors.As(err, &oe) {
		t.Fatalf("Authenticate() error = %v, want an internal error", err)
	}
}

func TestGate(t *testing.T) {
	a, sec := mustAuthenticator(t)
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	tests := []struct {
		name       string
		a          *Authenticator
		auth       string
		wantOK     bool
		wantStatus int
		wantBasic  bool
	}{
		{name: "confidential client", a: a, auth: basicHeader("conf", sec), wantOK: true, wantStatus: http.StatusOK},
		{name: "no credentials", a: a, wantStatus: http.StatusUnauthorized, wantBasic: true},
		{name: "wrong secret", a: a, auth: basicHeader("conf", "nope"), wantStatus: http.StatusUnauthorized, wantBasic: true},
		{name: "public client", a: a, auth: basicHeader("pub", ""), wantStatus: http.StatusUnauthorized, wantBasic: true},
		{name: "store down", a: New(Config{Store: brokenStore{}}), auth: basicHeader("conf", sec), wantStatus: http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/oauth2/revocations", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			if ok := tc.a.Gate(Policy{BasicOnly: true}, logger)(w, r); ok != tc.wantOK || w.Code != tc.wantStatus {
				t.Fatalf("Gate(%s) = %v with %d %s, want %v with %d", tc.name, ok, w.Code, w.Body, tc.wantOK, tc.wantStatus)
			}
			if got := strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic"); got != tc.wantBasic {
				t.Errorf("Gate(%s) WWW-Authenticate = %q, want a Basic challenge %v", tc.name, w.Header().Get("WWW-Authenticate"), tc.wantBasic)
			}
		})
	}
	if !strings.Contains(logged.String(), "connection refused") {
		t.Errorf("the store failure was not logged: %q", logged.String())
	}
}
