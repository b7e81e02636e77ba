package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The embedded guard (Server.Guard, in front of /users/me, /api-keys and
// /admin/*): what it refuses. The remote guard has remoteguard_test.go.

// TestGuardMalformedAndForgedCredentials sends oversized, malformed,
// hostile and forged credentials: each gets a 4xx with a JSON error body,
// never a 500 or a panic, and the server stays healthy.
func TestGuardMalformedAndForgedCredentials(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "victim", "password-1", "read")
	good := mustToken(t, s, "victim", "password-1")["access_token"].(string)
	big := strings.Repeat("A", 10<<10)
	cases := []badRequest{
		{name: "10 KB authorization header", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer " + big}},
		{name: "10 KB api key header", method: "GET", path: "/users/me", hdr: map[string]string{"X-API-Key": big}},
		{name: "sql in api key", method: "GET", path: "/users/me", hdr: map[string]string{"X-API-Key": "gk_' OR 1=1 --"}},
		{name: "invalid utf-8 bearer", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer \xff\xfe\xfd"}},
		{name: "garbage bearer", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer a.b.c"}},
	}
	for name, tok := range forgedTokens(t, s, good) {
		cases = append(cases, badRequest{name: "forged token: " + name, method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer " + tok}})
	}
	wantRefusedCleanly(t, s, good, cases)
}

// forgedTokens makes tokens an attacker could send: alg none, tampered
// payload, a key of the attacker's own (with injected jwk/jku/kid), HS256
// signed with the public key, and an expired one.
func forgedTokens(t *testing.T, s *testServer, good string) map[string]string {
	t.Helper()
	parts := strings.Split(good, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	kid := between(string(hdr), `"kid":"`, `"`)
	out := map[string]string{}
	enc := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])

	out["alg none"] = enc(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`) + "." + parts[1] + "."
	out["tampered payload"] = parts[0] + "." + enc(strings.Replace(string(payload), `"scope":"read"`, `"scope":"read admin"`, 1)) + "." + parts[2]
	out["signature stripped"] = parts[0] + "." + parts[1] + "."

	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	claims := map[string]any{
		"iss": s.URL, "aud": s.URL, "sub": "attacker", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"jti": "x", "scope": "read admin", "client_id": "gatehouse",
	}
	sign := func(key any, alg jose.SignatureAlgorithm, extra map[jose.HeaderKey]any) string {
		opts := (&jose.SignerOptions{}).WithType("at+jwt")
		for k, v := range extra {
			opts = opts.WithHeader(k, v)
		}
		sg, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(sg).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	out["attacker key, real kid"] = sign(attacker, jose.ES256, map[jose.HeaderKey]any{"kid": kid})
	out["attacker key, injected kid"] = sign(attacker, jose.ES256, map[jose.HeaderKey]any{"kid": "../../../etc/passwd' OR '1'='1"})
	out["attacker key, injected jku"] = sign(attacker, jose.ES256, map[jose.HeaderKey]any{"kid": kid, "jku": "http://127.0.0.1:1/jwks.json"})
	out["attacker key, embedded jwk"] = sign(attacker, jose.ES256, map[jose.HeaderKey]any{
		"kid": kid, "jwk": jose.JSONWebKey{Key: attacker.Public(), Algorithm: "ES256"},
	})
	// Algorithm confusion: HS256 keyed with the server's public key.
	_, jwks := get(t, s.URL+"/.well-known/jwks.json", nil)
	out["hs256 with public key"] = sign(jwks, jose.HS256, map[jose.HeaderKey]any{"kid": kid})
	return out
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestForeignTokensAsBearer: the other things gatehouse hands out —
// an ID token (typ JWT, aud = the client), a refresh token, a client's
// access token on a user-only endpoint — never pass as a user's access
// token on any endpoint that takes one, and introspection calls them what
// they are.
func TestForeignTokensAsBearer(t *testing.T) {
	f := newOAuthFixture(t, newTestServer)
	tok := f.login(t, f.a, "openid profile read")
	idt, _ := tok["id_token"].(string)
	if idt == "" {
		t.Fatalf("no ID token with openid: %v", tok)
	}
	rt := tok["refresh_token"].(string)
	ct := clientToken(t, f.s, f.rs)
	for name, cred := range map[string]string{"id token": idt, "refresh token": rt} {
		for _, p := range []string{"/users/me", "/oauth2/userinfo", "/api-keys", "/admin/users"} {
			res, body := get(t, f.s.URL+p, map[string]string{"Authorization": "Bearer " + cred})
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s as a bearer on %s = %d %s, want 401", name, p, res.StatusCode, body)
			}
		}
		res, body := doForm(t, f.s.URL+"/oauth2/userinfo", url.Values{"access_token": {cred}}, nil)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s as a form access_token on userinfo = %d %s, want 401", name, res.StatusCode, body)
		}
	}
	wantInactive(t, "A's ID token, asked by B", introspect(t, f.s, f.b, idt))
	wantInactive(t, "A's refresh token, asked by B", introspect(t, f.s, f.b, rt))
	for _, p := range []string{"/oauth2/userinfo", "/api-keys"} {
		if res, body := get(t, f.s.URL+p, map[string]string{"Authorization": "Bearer " + ct}); res.StatusCode < 400 {
			t.Errorf("client credentials token on %s = %d %s", p, res.StatusCode, body)
		}
	}
	// A token (any credential) in the query string or in a POST form on
	// the API is never read.
	at := tok["access_token"].(string)
	if res, _ := get(t, f.s.URL+"/users/me?access_token="+at, nil); res.StatusCode == 200 {
		t.Error("access_token in the query string accepted")
	}
	if res, _ := get(t, f.s.URL+"/oauth2/userinfo?access_token="+at, nil); res.StatusCode == 200 {
		t.Error("access_token in the userinfo query string accepted")
	}
}
