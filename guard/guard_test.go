package guard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/guard"
)

// TestRequireAttacks runs every attack of the guard's threat list through
// g.Require("read") and checks the full response: status, challenge, JSON
// body and Cache-Control.
func TestRequireAttacks(t *testing.T) {
	f := newFixture(t)

	// fetched counts requests to a server that injected jku/x5u headers
	// point at: the guard must never call it.
	var fetched atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(evil.Close)

	g := f.guard(t, func(c *guard.Config) {
		c.Revocations = revoked{"revoked-jti": true}
	})
	sign := func(kid string, c map[string]any) string {
		t.Helper()
		switch kid {
		case "rsa1":
			return mustSign(t, f.rsa, jose.RS256, headers(kid), c)
		case "ed1":
			return mustSign(t, f.ed, jose.EdDSA, headers(kid), c)
		case "hmac1":
			return mustSign(t, f.hmac, jose.HS256, headers(kid), c)
		default:
			return mustSign(t, f.ec, jose.ES256, headers(kid), c)
		}
	}
	valid := sign("ec1", claims())
	attackerJWK := jose.JSONWebKey{Key: &f.attacker.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"}

	tests := []struct {
		name          string
		req           *http.Request
		wantStatus    int
		wantChallenge string
		wantBody      errorBody
	}{
		// Positive controls: the attacks below differ from these in one thing.
		{name: "valid ES256", req: bearerRequest(valid), wantStatus: 200},
		{name: "valid RS256", req: bearerRequest(sign("rsa1", claims())), wantStatus: 200},
		{name: "valid EdDSA", req: bearerRequest(sign("ed1", claims())), wantStatus: 200},
		{name: "valid HS256", req: bearerRequest(sign("hmac1", claims())), wantStatus: 200},
		{name: "valid lower-case scheme", req: func() *http.Request {
			r := newRequest("/resource")
			r.Header.Set("Authorization", "bearer  "+valid)
			return r
		}(), wantStatus: 200},
		{
			name:       "typ application/at+jwt",
			req:        bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) { h[jose.HeaderType] = "application/AT+JWT" }), claims())),
			wantStatus: 200,
		},
		{
			name:       "aud array containing the audience",
			req:        bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["aud"] = []string{"other", testAudience} }))),
			wantStatus: 200,
		},
		{
			name:       "expired within leeway",
			req:        bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["exp"] = testNow.Add(-4 * time.Second).Unix() }))),
			wantStatus: 200,
		},
		{
			name:       "nbf within leeway",
			req:        bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["nbf"] = testNow.Add(4 * time.Second).Unix() }))),
			wantStatus: 200,
		},

		// Algorithm attacks (RFC 8725 §2.1, §3.1).
		{
			name:          "alg none",
			req:           bearerRequest(unsignedToken(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "ec1"}, claims(), nil)),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm is not allowed"),
		},
		{
			name:          "alg None mixed case",
			req:           bearerRequest(unsignedToken(t, map[string]any{"alg": "nOnE", "typ": "at+jwt", "kid": "ec1"}, claims(), []byte("x"))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm is not allowed"),
		},
		{
			name:          "HS256 signed with the EC public key as secret",
			req:           bearerRequest(mustSign(t, publicDER(t, &f.ec.PublicKey), jose.HS256, headers("ec1"), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm does not match its key"),
		},
		{
			name:          "HS256 signed with the RSA public key as secret",
			req:           bearerRequest(mustSign(t, publicDER(t, &f.rsa.PublicKey), jose.HS256, headers("rsa1"), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm does not match its key"),
		},
		{
			name:          "header alg differs from the pinned alg",
			req:           bearerRequest(mustSign(t, f.rsa, jose.RS256, headers("ec1"), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm does not match its key"),
		},
		{
			name:          "PS256 with the RSA key pinned to RS256",
			req:           bearerRequest(mustSign(t, f.rsa, jose.PS256, headers("rsa1"), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm does not match its key"),
		},
		{
			name:          "alg outside the allow-list",
			req:           bearerRequest(unsignedToken(t, map[string]any{"alg": "HS1", "typ": "at+jwt", "kid": "hmac1"}, claims(), []byte("sig"))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token algorithm is not allowed"),
		},

		// Key selection.
		{
			name:          "kid unknown",
			req:           bearerRequest(mustSign(t, f.attacker, jose.ES256, headers("evil"), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signing key is unknown"),
		},
		{
			name:          "kid missing",
			req:           bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) { h["kid"] = nil }), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no key id"),
		},
		{
			name: "jku injected, signed by the real key: ignored",
			req: bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) {
				h["jku"] = evil.URL + "/jwks.json"
			}), claims())),
			wantStatus: 200,
		},
		{
			name: "jku injected, signed by the attacker",
			req: bearerRequest(mustSign(t, f.attacker, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) {
				h["jku"] = evil.URL + "/jwks.json"
			}), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name: "x5u injected, signed by the real key: ignored",
			req: bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) {
				h["x5u"] = evil.URL + "/cert.pem"
			}), claims())),
			wantStatus: 200,
		},
		{
			name: "x5u injected, signed by the attacker",
			req: bearerRequest(mustSign(t, f.attacker, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) {
				h["x5u"] = evil.URL + "/cert.pem"
			}), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name: "attacker jwk embedded, signed by the real key: ignored",
			req: bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) {
				h["jwk"] = attackerJWK
			}), claims())),
			wantStatus: 200,
		},
		{
			name:          "attacker jwk embedded, signed by the attacker",
			req:           bearerRequest(mustSignOpts(t, f.attacker, jose.ES256, &jose.SignerOptions{EmbedJWK: true, ExtraHeaders: headers("ec1")}, claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name: "attacker jwk embedded without kid",
			req: bearerRequest(mustSignOpts(t, f.attacker, jose.ES256, &jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{
				jose.HeaderType: "at+jwt",
			}}, claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no key id"),
		},

		// Claims.
		{
			name:          "expired",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["exp"] = testNow.Add(-time.Minute).Unix() }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token expired"),
		},
		{
			name:          "future nbf",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["nbf"] = testNow.Add(time.Minute).Unix() }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is not yet valid"),
		},
		{
			name:          "future iat beyond leeway",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["iat"] = testNow.Add(6 * time.Second).Unix() }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token was issued in the future"),
		},
		{
			name:          "wrong iss",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["iss"] = "https://evil.example.com" }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token issuer is invalid"),
		},
		{
			name:          "iss with trailing slash",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["iss"] = testIssuer + "/" }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token issuer is invalid"),
		},
		{
			name:          "wrong aud",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["aud"] = "https://other.example.com" }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token audience is invalid"),
		},
		{
			name:          "missing aud",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "aud") }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token audience is invalid"),
		},
		{
			name:          "missing exp",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "exp") }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no expiry"),
		},
		{
			name:          "missing iat",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "iat") }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no issue time"),
		},
		{
			name:          "missing sub",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "sub") }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no subject"),
		},
		{
			name:          "missing jti",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "jti") }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token has no id"),
		},
		{
			name:          "scope of the wrong type",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["scope"] = []string{"read"} }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token claims are malformed"),
		},
		{
			name:          "typ JWT instead of at+jwt",
			req:           bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) { h[jose.HeaderType] = "JWT" }), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token type must be at+jwt"),
		},
		{
			name:          "typ missing",
			req:           bearerRequest(mustSign(t, f.ec, jose.ES256, headersWith("ec1", func(h map[jose.HeaderKey]any) { h[jose.HeaderType] = nil }), claims())),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token type must be at+jwt"),
		},
		{
			name:          "revoked",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["jti"] = "revoked-jti" }))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token revoked"),
		},

		// Tampering and malformed tokens.
		{
			name:          "tampered payload",
			req:           bearerRequest(replacePart(valid, 1, b64JSON(t, claimsWith(func(c map[string]any) { c["scope"] = "read write admin" })))),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name:          "tampered signature",
			req:           bearerRequest(tamperSignature(valid)),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name:          "signature stripped",
			req:           bearerRequest(replacePart(valid, 2, "")),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token signature is invalid"),
		},
		{
			name:          "truncated token",
			req:           bearerRequest(valid[:strings.LastIndexByte(valid, '.')]),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is malformed"),
		},
		{
			name:          "truncated mid-header",
			req:           bearerRequest(valid[:10]),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is malformed"),
		},
		{
			name:          "garbage",
			req:           bearerRequest("this-is-not.a-jwt.at-all"),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is malformed"),
		},
		{
			name:          "four parts",
			req:           bearerRequest(valid + ".eyJ9"),
			wantStatus:    401,
			wantChallenge: challengeInvalidToken,
			wantBody:      invalidToken("token is malformed"),
		},
		{
			name:          "bearer value outside b64token",
			req:           bearerRequest(`{"payload":"x"}`),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("bearer token is malformed"),
		},
		{
			name:          "empty bearer",
			req:           bearerRequest(""),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("bearer token is empty"),
		},

		// Request-level attacks.
		{
			name:          "10 KB Authorization header",
			req:           bearerRequest(strings.Repeat("a", 10<<10)),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("Authorization header is too large"),
		},
		{
			name:          "10 KB X-API-Key header",
			req:           apiKeyRequest("gk_" + strings.Repeat("a", 10<<10)),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("X-Api-Key header is too large"),
		},
		{
			name: "both X-API-Key and Authorization",
			req: func() *http.Request {
				r := bearerRequest(valid)
				r.Header.Set("X-API-Key", validAPIKey)
				return r
			}(),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("send either the X-API-Key header or an Authorization header, not both"),
		},
		{
			name: "duplicate Authorization headers",
			req: func() *http.Request {
				r := bearerRequest(valid)
				r.Header.Add("Authorization", "Bearer "+valid)
				return r
			}(),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("multiple Authorization headers"),
		},
		{
			name: "duplicate X-API-Key headers",
			req: func() *http.Request {
				r := apiKeyRequest(validAPIKey)
				r.Header.Add("X-API-Key", invalidAPIKey)
				return r
			}(),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq("multiple X-Api-Key headers"),
		},
		{
			name:          "API key in the query string",
			req:           newRequest("/resource?api_key=" + validAPIKey),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq(guard.DescriptionQueryCredential),
		},
		{
			name: "access_token in the query string beside a valid header",
			req: func() *http.Request {
				r := newRequest("/resource?page=2&access_token=" + valid)
				r.Header.Set("Authorization", "Bearer "+valid)
				return r
			}(),
			wantStatus:    400,
			wantChallenge: challengeInvalidReq,
			wantBody:      invalidReq(guard.DescriptionQueryCredential),
		},

		// Authorization outcomes.
		{
			name:          "insufficient scope",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { c["scope"] = "write" }))),
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="read"`,
			wantBody:      errorBody{Error: "insufficient_scope", Description: "missing required scope: read"},
		},
		{
			name:          "no scope claim",
			req:           bearerRequest(sign("ec1", claimsWith(func(c map[string]any) { delete(c, "scope") }))),
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="read"`,
			wantBody:      errorBody{Error: "insufficient_scope", Description: "missing required scope: read"},
		},
		{
			name:          "missing credential",
			req:           newRequest("/resource"),
			wantStatus:    401,
			wantChallenge: challengeMissing,
			wantBody:      errorBody{Error: "unauthorized", Description: "Missing API Key"},
		},
		{
			name: "Basic scheme counts as missing",
			req: func() *http.Request {
				r := newRequest("/resource")
				r.SetBasicAuth("user", "pass")
				return r
			}(),
			wantStatus:    401,
			wantChallenge: challengeMissing,
			wantBody:      errorBody{Error: "unauthorized", Description: "Missing API Key"},
		},
		{
			name: "Bearer-like scheme counts as missing",
			req: func() *http.Request {
				r := newRequest("/resource")
				r.Header.Set("Authorization", "BearerToken "+valid)
				return r
			}(),
			wantStatus:    401,
			wantChallenge: challengeMissing,
			wantBody:      errorBody{Error: "unauthorized", Description: "Missing API Key"},
		},
	}
	require := g.Require("read")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, require, tc.req)
			if got.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %+v)", got.status, tc.wantStatus, got.body)
			}
			if tc.wantStatus == http.StatusOK {
				if got.principal == nil || got.principal.Method != guard.MethodBearer {
					t.Errorf("principal = %+v, want a bearer principal", got.principal)
				}
				if got.challenge != "" {
					t.Errorf("WWW-Authenticate = %q on success, want none", got.challenge)
				}
				return
			}
			if got.principal != nil {
				t.Errorf("handler ran with principal %+v, want it not called", got.principal)
			}
			if got.challenge != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got.challenge, tc.wantChallenge)
			}
			if got.cache != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got.cache)
			}
			if diff := cmp.Diff(tc.wantBody, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the guard fetched an injected jku/x5u URL %d times, want 0", n)
	}
}

// tamperSignature changes the first character of the signature, which
// changes real signature bits (unlike the last one, whose low bits may be
// padding).
func tamperSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestRequirePrincipal(t *testing.T) {
	f := newFixture(t)
	g := f.guard(t, nil)
	tok := mustSign(t, f.ec, jose.ES256, headers("ec1"), claims())

	got := serve(t, g.Require("read", "write"), bearerRequest(tok))
	if got.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %+v)", got.status, got.body)
	}
	want := &guard.Principal{
		Subject:      "user-1",
		Scopes:       []string{"read", "write"},
		ClientID:     "client-1",
		Method:       guard.MethodBearer,
		TokenID:      "tok-1",
		IssuedAt:     testNow,
		ExpiresAt:    testNow.Add(15 * time.Minute),
		SigningKeyID: "ec1",
	}
	if diff := cmp.Diff(want, got.principal); diff != "" {
		t.Errorf("principal mismatch (-want +got):\n%s", diff)
	}
}

func TestRequireScopes(t *testing.T) {
	f := newFixture(t)
	g := f.guard(t, nil)
	tok := mustSign(t, f.ec, jose.ES256, headers("ec1"), claims()) // scope "read write"

	tests := []struct {
		name          string
		mw            func(http.Handler) http.Handler
		wantStatus    int
		wantChallenge string
		wantDesc      string
	}{
		{name: "no scopes", mw: g.Require(), wantStatus: 200},
		{name: "all present", mw: g.Require("write", "read"), wantStatus: 200},
		{
			name:          "one of two missing",
			mw:            g.Require("read", "admin"),
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="read admin"`,
			wantDesc:      "missing required scope: admin",
		},
		{
			name:          "two missing",
			mw:            g.Require("admin", "read", "keys:write"),
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="admin read keys:write"`,
			wantDesc:      "missing required scopes: admin keys:write",
		},
		{name: "any: one present", mw: g.RequireAny("admin", "write"), wantStatus: 200},
		{
			name:          "any: none present",
			mw:            g.RequireAny("admin", "billing"),
			wantStatus:    403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="admin billing"`,
			wantDesc:      "requires one of the scopes: admin billing",
		},
		{name: "prefix of a scope is not the scope", mw: g.Require("rea"), wantStatus: 403,
			wantChallenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="rea"`,
			wantDesc:      "missing required scope: rea"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := serve(t, tc.mw, bearerRequest(tok))
			if got.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %+v)", got.status, tc.wantStatus, got.body)
			}
			if tc.wantStatus == http.StatusOK {
				return
			}
			if got.challenge != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got.challenge, tc.wantChallenge)
			}
			want := errorBody{Error: "insufficient_scope", Description: tc.wantDesc}
			if diff := cmp.Diff(want, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequirePanicsOnInvalidScope(t *testing.T) {
	f := newFixture(t)
	g := f.guard(t, nil)
	tests := []struct {
		name string
		call func()
	}{
		{name: "empty scope", call: func() { g.Require("") }},
		{name: "space", call: func() { g.Require("read write") }},
		{name: "quote", call: func() { g.Require(`a"b`) }},
		{name: "backslash", call: func() { g.RequireAny(`a\b`) }},
		{name: "non-ASCII", call: func() { g.Require("lesen-ä") }},
		{name: "RequireAny without scopes", call: func() { g.RequireAny() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic, want one", tc.name)
				}
			}()
			tc.call()
		})
	}
}

func TestQueryString(t *testing.T) {
	f := newFixture(t)
	g := f.guard(t, nil)
	tests := []struct {
		name       string
		query      string
		wantStatus int
	}{
		{name: "api_key", query: "api_key=" + validAPIKey, wantStatus: 400},
		{name: "apikey", query: "apikey=x", wantStatus: 400},
		{name: "access_token", query: "access_token=x", wantStatus: 400},
		{name: "key", query: "key=x", wantStatus: 400},
		{name: "token", query: "a=1&token=x", wantStatus: 400},
		{name: "upper case", query: "API_KEY=x", wantStatus: 400},
		{name: "percent-encoded name", query: "access%5Ftoken=x", wantStatus: 400},
		{name: "semicolon separator", query: "a=1;api_key=x", wantStatus: 400},
		{name: "empty value", query: "api_key=", wantStatus: 200},
		{name: "other params", query: "page=2&keys=3&tokenizer=x&q=api_key", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest("/resource?" + tc.query)
			r.Header.Set("X-API-Key", validAPIKey)
			got := serve(t, g.Require(), r)
			if got.status != tc.wantStatus {
				t.Fatalf("status for ?%s = %d, want %d", tc.query, got.status, tc.wantStatus)
			}
			if tc.wantStatus == 400 && got.body.Description != guard.DescriptionQueryCredential {
				t.Errorf("description = %q, want %q", got.body.Description, guard.DescriptionQueryCredential)
			}
		})
	}
}

func TestVerifyAccessTokenErrorTypes(t *testing.T) {
	f := newFixture(t)
	g := f.guard(t, func(c *guard.Config) { c.Revocations = revoked{"gone": true} })
	sign := func(c map[string]any) string { return mustSign(t, f.ec, jose.ES256, headers("ec1"), c) }
	exp := testNow.Add(-time.Hour)

	tests := []struct {
		name   string
		token  string
		target any // pointer to a pointer to the expected cause type
		check  func(t *testing.T, target any)
	}{
		{
			name:   "expired",
			token:  sign(claimsWith(func(c map[string]any) { c["exp"] = exp.Unix() })),
			target: new(*guard.TokenExpiredError),
			check: func(t *testing.T, target any) {
				if got := (*target.(**guard.TokenExpiredError)).Expiry; !got.Equal(exp) {
					t.Errorf("Expiry = %v, want %v", got, exp)
				}
			},
		},
		{
			name:   "nbf",
			token:  sign(claimsWith(func(c map[string]any) { c["nbf"] = testNow.Add(time.Hour).Unix() })),
			target: new(*guard.TokenNotYetValidError),
			check: func(t *testing.T, target any) {
				if got := (*target.(**guard.TokenNotYetValidError)).Claim; got != "nbf" {
					t.Errorf("Claim = %q, want nbf", got)
				}
			},
		},
		{name: "alg none", token: unsignedToken(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "ec1"}, claims(), nil), target: new(*guard.AlgorithmError)},
		{name: "alg confusion", token: mustSign(t, publicDER(t, &f.ec.PublicKey), jose.HS256, headers("ec1"), claims()), target: new(*guard.AlgorithmError),
			check: func(t *testing.T, target any) {
				if got := *target.(**guard.AlgorithmError); got.Algorithm != "HS256" || got.Want != "ES256" || got.KeyID != "ec1" {
					t.Errorf("AlgorithmError = %+v, want HS256 vs ES256 for ec1", got)
				}
			}},
		{name: "unknown kid", token: mustSign(t, f.ec, jose.ES256, headers("nope"), claims()), target: new(*guard.KeyError)},
		{name: "bad signature", token: tamperSignature(sign(claims())), target: new(*guard.SignatureError)},
		{name: "malformed", token: "a.b.c", target: new(*guard.MalformedTokenError)},
		{name: "wrong aud", token: sign(claimsWith(func(c map[string]any) { c["aud"] = "x" })), target: new(*guard.ClaimError),
			check: func(t *testing.T, target any) {
				if got := (*target.(**guard.ClaimError)).Claim; got != "aud" {
					t.Errorf("Claim = %q, want aud", got)
				}
			}},
		{name: "revoked", token: sign(claimsWith(func(c map[string]any) { c["jti"] = "gone" })), target: new(*guard.TokenRevokedError)},
		{name: "too large", token: strings.Repeat("a", 9<<10), target: new(*guard.MalformedTokenError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := g.VerifyAccessToken(t.Context(), tc.token)
			if err == nil {
				t.Fatalf("VerifyAccessToken() = %+v, nil; want an error", p)
			}
			if !strings.HasPrefix(err.Error(), "guard: ") {
				t.Errorf("Error() = %q, want the prefix %q", err.Error(), "guard: ")
			}
			var ge *guard.Error
			if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != guard.CodeInvalidToken {
				t.Errorf("VerifyAccessToken() error = %#v, want *guard.Error 401 invalid_token", err)
			}
			if !errors.As(err, tc.target) {
				t.Fatalf("VerifyAccessToken() error = %v, want cause %T", err, tc.target)
			}
			if tc.check != nil {
				tc.check(t, tc.target)
			}
		})
	}
}

func TestKeySetMisconfiguration(t *testing.T) {
	f := newFixture(t)
	ed := f.ed.Public()
	keys := keySet{
		"short-hmac": {key: []byte("too short"), alg: jose.HS256},
		"ec-as-hmac": {key: publicDER(t, &f.ec.PublicKey), alg: jose.ES256},
		"hmac-as-ec": {key: &f.ec.PublicKey, alg: jose.HS256},
		"none":       {key: ed, alg: "none"},
		"jwk-ok":     {key: jose.JSONWebKey{Key: &f.ec.PublicKey}, alg: jose.ES256},
	}
	g := mustGuard(t, guard.Config{Issuer: testIssuer, Audience: testAudience, Keys: keys, Now: func() time.Time { return testNow }})

	tests := []struct {
		name     string
		token    string
		wantDesc string // "" means accepted
	}{
		{name: "short HMAC secret", token: mustSign(t, f.hmac, jose.HS256, headers("short-hmac"), claims()), wantDesc: "token signing key is unusable"},
		{name: "bytes pinned to ES256", token: mustSign(t, f.ec, jose.ES256, headers("ec-as-hmac"), claims()), wantDesc: "token signing key is unusable"},
		{name: "EC key pinned to HS256", token: mustSign(t, publicDER(t, &f.ec.PublicKey), jose.HS256, headers("hmac-as-ec"), claims()), wantDesc: "token signing key is unusable"},
		{name: "key set pins none", token: unsignedToken(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "none"}, claims(), nil), wantDesc: "token algorithm is not allowed"},
		{name: "JSONWebKey value", token: mustSign(t, f.ec, jose.ES256, headers("jwk-ok"), claims())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.VerifyAccessToken(t.Context(), tc.token)
			if tc.wantDesc == "" {
				if err != nil {
					t.Fatalf("VerifyAccessToken() error = %v, want nil", err)
				}
				return
			}
			var ge *guard.Error
			if !errors.As(err, &ge) || ge.Description != tc.wantDesc {
				t.Errorf("VerifyAccessToken() error = %v, want description %q", err, tc.wantDesc)
			}
		})
	}
}

func TestLeewayAndClock(t *testing.T) {
	f := newFixture(t)
	now := testNow
	g := f.guard(t, func(c *guard.Config) {
		c.Leeway = time.Minute
		c.Now = func() time.Time { return now }
	})
	tok := mustSign(t, f.ec, jose.ES256, headers("ec1"), claims()) // exp = testNow+15m

	tests := []struct {
		name    string
		at      time.Time
		wantErr bool
	}{
		{name: "at issue", at: testNow},
		{name: "just before iat within leeway", at: testNow.Add(-59 * time.Second)},
		{name: "before iat beyond leeway", at: testNow.Add(-61 * time.Second), wantErr: true},
		{name: "after exp within leeway", at: testNow.Add(15*time.Minute + 59*time.Second)},
		{name: "exactly exp plus leeway", at: testNow.Add(16 * time.Minute), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			_, err := g.VerifyAccessToken(t.Context(), tok)
			if (err != nil) != tc.wantErr {
				t.Errorf("VerifyAccessToken() at %v error = %v, wantErr %v", tc.at, err, tc.wantErr)
			}
		})
	}
}

func TestOtherCurveRefused(t *testing.T) {
	f := newFixture(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey() error = %v", err)
	}
	// An ES256 token signed by a P-384 key under kid ec1 must not verify.
	g := f.guard(t, nil)
	_, err = g.VerifyAccessToken(t.Context(), mustSign(t, p384, jose.ES384, headers("ec1"), claims()))
	var ae *guard.AlgorithmError
	if !errors.As(err, &ae) {
		t.Errorf("VerifyAccessToken() error = %v, want *guard.AlgorithmError", err)
	}
}
