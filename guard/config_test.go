package guard_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
)

func TestNew(t *testing.T) {
	keys := keySet{}
	tests := []struct {
		name    string
		cfg     guard.Config
		wantErr []string // substrings of the error; nil means success
	}{
		{name: "keys", cfg: guard.Config{Issuer: "i", Audience: "a", Keys: keys}},
		{name: "API keys only", cfg: guard.Config{APIKeys: &apiKeys{}}},
		{name: "nothing to verify with", cfg: guard.Config{Issuer: "i", Audience: "a"}, wantErr: []string{"one of Keys and APIKeys"}},
		{name: "keys without issuer and audience", cfg: guard.Config{Keys: keys}, wantErr: []string{"Issuer is required", "Audience is required"}},
		{name: "negative leeway", cfg: guard.Config{APIKeys: &apiKeys{}, Leeway: -time.Second}, wantErr: []string{"Leeway"}},
		{name: "realm with quote", cfg: guard.Config{APIKeys: &apiKeys{}, Realm: `a"b`}, wantErr: []string{"Realm"}},
		{name: "prefix with space", cfg: guard.Config{APIKeys: &apiKeys{}, APIKeyPrefix: "gk "}, wantErr: []string{"APIKeyPrefix"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := guard.New(tc.cfg)
			if tc.wantErr == nil {
				if err != nil || g == nil {
					t.Fatalf("New() = %v, %v; want a guard", g, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New() error = nil, want one mentioning %q", tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "guard: ") {
				t.Errorf("New() error = %q, want the prefix %q", err, "guard: ")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New() error = %q, want it to mention %q", err, want)
				}
			}
		})
	}
}

func TestRealm(t *testing.T) {
	g := mustGuard(t, guard.Config{APIKeys: &apiKeys{}, Realm: "billing api"})
	if g.Realm() != "billing api" {
		t.Errorf("Realm() = %q, want %q", g.Realm(), "billing api")
	}
	got := serve(t, g.Require(), newRequest("/"))
	if want := `Bearer realm="billing api"`; got.challenge != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got.challenge, want)
	}
}

type resultCall struct {
	method guard.Method
	code   string
}

func TestOnResult(t *testing.T) {
	f := newFixture(t)
	var calls []resultCall
	g := f.guard(t, func(c *guard.Config) {
		c.OnResult = func(m guard.Method, err error) {
			call := resultCall{method: m, code: "ok"}
			var ge *guard.Error
			if errors.As(err, &ge) {
				call.code = ge.Code
			} else if err != nil {
				call.code = "not a guard.Error"
			}
			calls = append(calls, call)
		}
	})
	tok := mustSign(t, f.ec, jose.ES256, headers("ec1"), claims())
	reqs := []*http.Request{
		bearerRequest(tok),
		apiKeyRequest(validAPIKey),
		apiKeyRequest(invalidAPIKey),
		bearerRequest("x.y.z"),
		newRequest("/"),
		newRequest("/?token=abc"),
		bearerRequest(tok), // 403 below: reported once, as insufficient_scope
	}
	for i, r := range reqs {
		mw := g.Require("read")
		if i == len(reqs)-1 {
			mw = g.Require("admin")
		}
		serve(t, mw, r)
	}
	want := []resultCall{
		{guard.MethodBearer, "ok"},
		{guard.MethodAPIKey, "ok"},
		{guard.MethodAPIKey, guard.CodeInvalidToken},
		{guard.MethodBearer, guard.CodeInvalidToken},
		{"", ""},
		{"", guard.CodeInvalidRequest},
		{guard.MethodBearer, guard.CodeInsufficientScope},
	}
	if _, err := g.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatal(err)
	}
	want = append(want, resultCall{guard.MethodBearer, "ok"}) // Authenticate alone reports too
	if diff := cmp.Diff(want, calls, cmp.AllowUnexported(resultCall{})); diff != "" {
		t.Errorf("OnResult calls mismatch (-want +got):\n%s", diff)
	}
}

func TestLoggerNeverLogsCredentials(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := f.guard(t, func(c *guard.Config) { c.Logger = logger })

	expired := mustSign(t, f.ec, jose.ES256, headers("ec1"), claimsWith(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	forged := tamperSignature(mustSign(t, f.ec, jose.ES256, headers("ec1"), claims()))
	secrets := []string{expired, forged, invalidAPIKey}
	for _, r := range []*http.Request{bearerRequest(expired), bearerRequest(forged), apiKeyRequest(invalidAPIKey), bearerRequest(invalidAPIKey)} {
		serve(t, g.Require("read"), r)
	}
	out := buf.String()
	if got := strings.Count(out, "guard: authentication failed"); got != 4 {
		t.Errorf("log has %d failure records, want 4:\n%s", got, out)
	}
	if !strings.Contains(out, "token expired") {
		t.Errorf("log does not give the reason %q:\n%s", "token expired", out)
	}
	for _, s := range secrets {
		// Any sizable piece of a credential would be a leak; the signature
		// part of a JWT is the secret-bearing one.
		piece := s[strings.LastIndexByte(s, '.')+1:]
		if len(piece) > 16 {
			piece = piece[:16]
		}
		if strings.Contains(out, piece) {
			t.Errorf("log contains credential piece %q:\n%s", piece, out)
		}
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		realm         string
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{
			name:          "missing",
			err:           &guard.Error{Status: 401, Description: "Missing API Key"},
			wantStatus:    401,
			wantChallenge: `Bearer realm="gatehouse"`,
			wantBody:      `{"error":"unauthorized","error_description":"Missing API Key"}`,
		},
		{
			name:          "wrapped invalid token with custom realm",
			err:           errors.Join(errors.New("context"), &guard.Error{Status: 401, Code: "invalid_token", Description: "token expired"}),
			realm:         `my "api"`,
			wantStatus:    401,
			wantChallenge: `Bearer realm="my \"api\"", error="invalid_token"`,
			wantBody:      `{"error":"invalid_token","error_description":"token expired"}`,
		},
		{
			name:          "insufficient scope",
			err:           &guard.Error{Status: 403, Code: "insufficient_scope", Description: "missing required scope: a", Scope: "a b"},
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="a b"`,
			wantBody:      `{"error":"insufficient_scope","error_description":"missing required scope: a"}`,
		},
		{
			name:       "not a guard error",
			err:        errors.New("database is down"),
			wantStatus: 500,
			wantBody:   `{"error":"server_error","error_description":"internal error"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			guard.WriteError(w, tc.err, tc.realm)
			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tc.wantBody {
				t.Errorf("body = %s, want %s", got, tc.wantBody)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *guard.Error
		want string
	}{
		{name: "description", err: &guard.Error{Description: "Missing API Key"}, want: "guard: Missing API Key"},
		{name: "cause", err: &guard.Error{Description: "token expired", Err: &guard.TokenExpiredError{Expiry: testNow}}, want: "guard: token expired at 2030-01-02T03:04:05Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}
