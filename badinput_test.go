package gatehouse_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestBadInput throws malformed, oversized, duplicated, missing and hostile
// input at every endpoint: each gets a 4xx with a JSON error body, never a
// 500 or a panic, and the server stays healthy.
func TestBadInput(t *testing.T) {
	s := newTestServer(t)
	mustCreateUser(t, s, "victim", "password-1", "read")
	good := mustToken(t, s, "victim", "password-1")["access_token"].(string)
	key := mustAPIKey(t, s, "victim")
	big := strings.Repeat("A", 10<<10)

	forgeries := forgedTokens(t, s, good)
	type tc struct {
		name   string
		method string
		path   string
		body   []byte
		ctype  string
		hdr    map[string]string
	}
	cases := []tc{
		{name: "5 MB token body", method: "POST", path: "/oauth2/token", body: bytes.Repeat([]byte("a"), 5<<20), ctype: "application/x-www-form-urlencoded"},
		{name: "5 MB api-keys body", method: "POST", path: "/api-keys", body: bytes.Repeat([]byte("{"), 5<<20), ctype: "application/json", hdr: map[string]string{"Authorization": "Bearer " + good}},
		{name: "10 KB authorization header", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer " + big}},
		{name: "10 KB api key header", method: "GET", path: "/users/me", hdr: map[string]string{"X-API-Key": big}},
		{name: "10 KB user agent on token", method: "POST", path: "/token", body: []byte("grant_type=password&username=victim&password=x"), ctype: "application/x-www-form-urlencoded", hdr: map[string]string{"User-Agent": big}},
		{name: "malformed form", method: "POST", path: "/token", body: []byte("%zz=%%%&grant_type"), ctype: "application/x-www-form-urlencoded"},
		{name: "no content type", method: "POST", path: "/token", body: []byte("grant_type=password")},
		{name: "empty body", method: "POST", path: "/token", ctype: "application/x-www-form-urlencoded"},
		{name: "invalid utf-8 username", method: "POST", path: "/token", body: []byte("grant_type=password&username=\xff\xfe&password=\xc3\x28"), ctype: "application/x-www-form-urlencoded"},
		{name: "sql in username", method: "POST", path: "/token", body: []byte("grant_type=password&username=victim'%3B+DROP+TABLE+users%3B--&password=x"), ctype: "application/x-www-form-urlencoded"},
		{name: "sql in api key", method: "GET", path: "/users/me", hdr: map[string]string{"X-API-Key": "gk_' OR 1=1 --"}},
		{name: "invalid utf-8 bearer", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer \xff\xfe\xfd"}},
		{name: "garbage bearer", method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer a.b.c"}},
		{name: "api-keys malformed json", method: "POST", path: "/api-keys", body: []byte(`{"name":`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys unknown field", method: "POST", path: "/api-keys", body: []byte(`{"name":"x","admin":true}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys wrong types", method: "POST", path: "/api-keys", body: []byte(`{"scopes":"read"}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys scope widening", method: "POST", path: "/api-keys", body: []byte(`{"scopes":["admin"]}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "api-keys bad expiry", method: "POST", path: "/api-keys", body: []byte(`{"expires_in":"-5d"}`), ctype: "application/json", hdr: map[string]string{"X-API-Key": key}},
		{name: "delete someone else's key", method: "DELETE", path: "/api-keys/aaaaaaaaaaaa", hdr: map[string]string{"X-API-Key": key}},
		{name: "sql in key id", method: "DELETE", path: "/api-keys/x'%20OR%20'1'='1", hdr: map[string]string{"X-API-Key": key}},
		{name: "bad page limit", method: "GET", path: "/api-keys?limit=-1", hdr: map[string]string{"X-API-Key": key}},
		{name: "wrong method", method: "PUT", path: "/oauth2/token"},
	}
	for name, tok := range forgeries {
		cases = append(cases, tc{name: "forged token: " + name, method: "GET", path: "/users/me", hdr: map[string]string{"Authorization": "Bearer " + tok}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.URL+c.path, bytes.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			for k, v := range c.hdr {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			res, body := do(t, req)
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("status = %d, want 4xx (%.200s)", res.StatusCode, body)
			}
			m := decode(t, body)
			if m["error"] == nil || m["error"] == "" {
				t.Errorf("body %v has no error code", m)
			}
		})
	}
	// Still healthy, and the good credentials still work.
	if res, _ := get(t, s.URL+"/healthz", nil); res.StatusCode != 200 {
		t.Fatalf("/healthz = %d after the attacks", res.StatusCode)
	}
	if res, body := get(t, s.URL+"/users/me", map[string]string{"Authorization": "Bearer " + good}); res.StatusCode != 200 {
		t.Fatalf("good token refused after the attacks: %d %s", res.StatusCode, body)
	}
	if strings.Contains(s.Logs.String(), "panic") {
		t.Error("a request panicked (see the server log)")
	}
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
