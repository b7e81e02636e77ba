package signing

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestNewConfig(t *testing.T) {
	st := newStore(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{Store: st, Secret: testSecret()}, ""},
		{"no store", Config{Secret: testSecret()}, "store is required"},
		{"short secret", Config{Store: st, Secret: make([]byte, 16)}, "32 bytes"},
		{"no secret", Config{Store: st}, "32 bytes"},
		{"unknown alg", Config{Store: st, Secret: testSecret(), Algorithm: "none"}, `unsupported signing algorithm "none"`},
		{"HS256 without secret", Config{Store: st, Secret: testSecret(), Algorithm: HS256}, "at least 32 bytes"},
		{"HS256 short secret", Config{Store: st, Secret: testSecret(), Algorithm: HS256, HMACSecret: make([]byte, 31)}, "at least 32 bytes"},
		{"HS256", Config{Store: st, Secret: testSecret(), Algorithm: HS256, HMACSecret: testHMACSecret()}, ""},
		{"HS256 ID tokens", Config{Store: st, Secret: testSecret(), IDTokenAlgorithm: HS256}, "unsupported ID token signing algorithm"},
		{"negative TTL", Config{Store: st, Secret: testSecret(), MaxTokenTTL: -time.Second}, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSignAndVerify(t *testing.T) {
	tests := []struct {
		name     string
		alg      string
		wantJWKS []string // algorithms published, sorted
		wantAlgs []string
	}{
		{"ES256", ES256, []string{ES256, RS256}, []string{ES256, RS256}},
		{"EdDSA", EdDSA, []string{EdDSA, RS256}, []string{EdDSA, RS256}},
		{"RS256", RS256, []string{RS256}, []string{RS256}},
		{"HS256", HS256, []string{RS256}, []string{HS256, RS256}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			k := mustKeys(t, Config{Algorithm: tc.alg, Now: clk.Now})
			created, err := k.Ensure(t.Context())
			if err != nil || !created {
				t.Fatalf("Ensure() = %v, %v; want true, nil", created, err)
			}
			if created, err := k.Ensure(t.Context()); err != nil || created {
				t.Fatalf("second Ensure() = %v, %v; want false, nil", created, err)
			}
			if got := k.Algorithms(); !slices.Equal(got, tc.wantAlgs) {
				t.Errorf("Algorithms() = %v, want %v", got, tc.wantAlgs)
			}

			now := clk.Now()
			tok, err := k.IssueAccessToken(AccessClaims{
				Issuer: "https://auth.example", Subject: "user-1", Audience: []string{"https://api.example"},
				IssuedAt: now, NotBefore: now, Expiry: now.Add(15 * time.Minute), AuthTime: now.Add(-time.Hour),
				ID: "jti-1", ClientID: "client-1", Scope: "read write",
			})
			if err != nil {
				t.Fatalf("IssueAccessToken() error = %v", err)
			}
			alg := jose.SignatureAlgorithm(tc.alg)
			h := header(t, tok, alg)
			if h.KeyID == "" || h.KeyID != k.ActiveKeyID() {
				t.Errorf("kid = %q, want the active key %q", h.KeyID, k.ActiveKeyID())
			}
			if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
				t.Errorf("typ = %v, want at+jwt", typ)
			}
			if _, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{otherAlg(alg)}); err == nil {
				t.Errorf("ParseSigned with only %s accepted a %s token", otherAlg(alg), alg)
			}

			want := map[string]any{
				"iss": "https://auth.example", "sub": "user-1", "aud": "https://api.example",
				"exp": float64(now.Add(15 * time.Minute).Unix()), "iat": float64(now.Unix()), "nbf": float64(now.Unix()),
				"auth_time": float64(now.Add(-time.Hour).Unix()), "jti": "jti-1",
				"client_id": "client-1", "scope": "read write",
			}
			if tc.alg == HS256 {
				if len(k.JWKS().Keys) != 1 || k.JWKS().Keys[0].Algorithm != RS256 {
					t.Errorf("HS256 JWKS = %v, want only the RS256 ID-token key", jwksKIDs(k.JWKS()))
				}
			} else {
				if diff := cmp.Diff(want, verifyJWKS(t, k, tok, alg)); diff != "" {
					t.Errorf("claims verified with the JWKS (-want +got):\n%s", diff)
				}
			}
			got, err := verifyKeySet(t, k, tok)
			if err != nil {
				t.Fatalf("VerificationKey() error = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims verified with VerificationKey (-want +got):\n%s", diff)
			}
			if _, gotAlg, _ := k.VerificationKey(t.Context(), h.KeyID); gotAlg != alg {
				t.Errorf("VerificationKey(%s) alg = %s, want %s", h.KeyID, gotAlg, alg)
			}

			var gotJWKS []string
			for _, key := range k.JWKS().Keys {
				gotJWKS = append(gotJWKS, key.Algorithm)
				if !key.IsPublic() {
					t.Errorf("JWKS key %s is not public", key.KeyID)
				}
			}
			slices.Sort(gotJWKS)
			if !slices.Equal(gotJWKS, tc.wantJWKS) {
				t.Errorf("JWKS algorithms = %v, want %v", gotJWKS, tc.wantJWKS)
			}
			var fromJSON jose.JSONWebKeySet
			if err := json.Unmarshal(k.JWKSJSON(), &fromJSON); err != nil {
				t.Fatalf("JWKSJSON() does not parse: %v", err)
			}
			if !slices.Equal(jwksKIDs(fromJSON), jwksKIDs(k.JWKS())) {
				t.Errorf("JWKSJSON() kids = %v, JWKS() kids = %v", jwksKIDs(fromJSON), jwksKIDs(k.JWKS()))
			}
			if bytes.Contains(k.JWKSJSON(), []byte(`"d"`)) || bytes.Contains(k.JWKSJSON(), []byte(`"k"`)) {
				t.Errorf("JWKSJSON() holds private material: %s", k.JWKSJSON())
			}

			// The ID token: RS256 whatever the access-token algorithm.
			idt, err := k.IssueIDToken(IDClaims{
				Issuer: "https://auth.example", Subject: "user-1", Audience: []string{"client-1"},
				IssuedAt: now, Expiry: now.Add(time.Hour), AuthTime: now.Add(-time.Minute),
				Nonce: "n-0S6", AuthorizedParty: "client-1", AccessToken: tok,
			})
			if err != nil {
				t.Fatalf("IssueIDToken() error = %v", err)
			}
			if typ := header(t, idt, jose.RS256).ExtraHeaders[jose.HeaderType]; typ != "JWT" {
				t.Errorf("ID token typ = %v, want JWT", typ)
			}
			atHash, _ := AtHash(RS256, tok)
			wantID := map[string]any{
				"iss": "https://auth.example", "sub": "user-1", "aud": "client-1",
				"exp": float64(now.Add(time.Hour).Unix()), "iat": float64(now.Unix()),
				"auth_time": float64(now.Add(-time.Minute).Unix()),
				"nonce":     "n-0S6", "azp": "client-1", "at_hash": atHash,
			}
			if diff := cmp.Diff(wantID, verifyJWKS(t, k, idt, jose.RS256)); diff != "" {
				t.Errorf("ID token claims (-want +got):\n%s", diff)
			}
		})
	}
}

func otherAlg(alg jose.SignatureAlgorithm) jose.SignatureAlgorithm {
	if alg == jose.ES256 {
		return jose.RS256
	}
	return jose.ES256
}

func TestIDTokenAlgorithmSameAsAccess(t *testing.T) {
	k := mustKeys(t, Config{Algorithm: EdDSA, IDTokenAlgorithm: EdDSA})
	mustEnsure(t, k)
	if n := len(k.JWKS().Keys); n != 1 {
		t.Fatalf("JWKS has %d keys, want one shared EdDSA key", n)
	}
	idt, err := k.IssueIDToken(IDClaims{Issuer: "i", Subject: "s", Audience: []string{"c"}, Expiry: time.Now().Add(time.Hour), AccessToken: "abc"})
	if err != nil {
		t.Fatalf("IssueIDToken() error = %v", err)
	}
	claims := verifyJWKS(t, k, idt, jose.EdDSA)
	want, _ := AtHash(EdDSA, "abc")
	if claims["at_hash"] != want {
		t.Errorf("at_hash = %v, want %v (SHA-512 for EdDSA)", claims["at_hash"], want)
	}
}

func TestSignErrors(t *testing.T) {
	now := time.Now()
	t.Run("before Ensure", func(t *testing.T) {
		k := mustKeys(t, Config{})
		if _, err := k.IssueAccessToken(accessClaims(now)); !errors.Is(err, ErrNoKey) {
			t.Errorf("IssueAccessToken() before Ensure error = %v, want ErrNoKey", err)
		}
	})
	t.Run("algorithm not in use", func(t *testing.T) {
		k := mustKeys(t, Config{Algorithm: EdDSA, IDTokenAlgorithm: EdDSA})
		mustEnsure(t, k)
		if _, err := k.SignWith(ES256, map[string]any{"a": 1}, "JWT"); !errors.Is(err, ErrNoKey) {
			t.Errorf("SignWith(ES256) error = %v, want ErrNoKey", err)
		}
	})
	t.Run("missing claims", func(t *testing.T) {
		k := mustKeys(t, Config{Algorithm: RS256})
		mustEnsure(t, k)
		tests := []struct {
			name   string
			mutate func(*AccessClaims)
			want   string
		}{
			{"iss", func(c *AccessClaims) { c.Issuer = "" }, "missing iss"},
			{"sub", func(c *AccessClaims) { c.Subject = "" }, "missing sub"},
			{"aud", func(c *AccessClaims) { c.Audience = nil }, "missing aud"},
			{"jti", func(c *AccessClaims) { c.ID = "" }, "missing jti"},
			{"client_id", func(c *AccessClaims) { c.ClientID = "" }, "missing client_id"},
			{"exp", func(c *AccessClaims) { c.Expiry = c.IssuedAt }, "exp must be after iat"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := accessClaims(now)
				tc.mutate(&c)
				if _, err := k.IssueAccessToken(c); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("IssueAccessToken() error = %v, want %q", err, tc.want)
				}
			})
		}
		if _, err := k.IssueIDToken(IDClaims{Issuer: "i", Audience: []string{"c"}, Expiry: now.Add(time.Hour)}); err == nil {
			t.Errorf("IssueIDToken() without sub succeeded")
		}
	})
	t.Run("no username claim", func(t *testing.T) {
		k := mustKeys(t, Config{Algorithm: RS256})
		mustEnsure(t, k)
		tok := mustIssue(t, k, now)
		c, err := verifyKeySet(t, k, tok)
		if err != nil {
			t.Fatal(err)
		}
		for name := range c {
			if !slices.Contains([]string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}, name) {
				t.Errorf("access token carries unexpected claim %q", name)
			}
		}
	})
}

func TestSignOtherType(t *testing.T) {
	k := mustKeys(t, Config{Algorithm: ES256, IDTokenAlgorithm: ES256})
	mustEnsure(t, k)
	for _, typ := range []string{"logout+jwt", ""} {
		tok, err := k.Sign(map[string]string{"x": "y"}, typ)
		if err != nil {
			t.Fatalf("Sign(%q) error = %v", typ, err)
		}
		h := header(t, tok, jose.ES256)
		got, _ := h.ExtraHeaders[jose.HeaderType].(string)
		if got != typ || h.KeyID != k.ActiveKeyID() {
			t.Errorf("Sign(%q) header typ %q kid %q, want typ %q kid %q", typ, got, h.KeyID, typ, k.ActiveKeyID())
		}
	}
}

func TestEncryptionAtRest(t *testing.T) {
	t.Run("ciphertext hides the private key", func(t *testing.T) {
		for _, alg := range []string{ES256, EdDSA, RS256} {
			st := newStore(t)
			k := mustKeys(t, Config{Store: st, Algorithm: alg, IDTokenAlgorithm: alg})
			mustEnsure(t, k)
			recs, _ := st.ListSigningKeys(t.Context())
			if len(recs) != 1 {
				t.Fatalf("%s: %d keys stored, want 1", alg, len(recs))
			}
			secret := privateBytes(t, k.cur.Load().byKID[recs[0].ID].private)
			ct := recs[0].PrivateKey
			for _, needle := range [][]byte{secret, []byte(base64.RawURLEncoding.EncodeToString(secret)), []byte(`"d"`), []byte(recs[0].ID)} {
				if bytes.Contains(ct, needle) {
					t.Errorf("%s: stored private key contains %q", alg, needle)
				}
			}
			if len(ct) < 12+16+len(secret) {
				t.Errorf("%s: ciphertext of %d bytes is too short to hold the key", alg, len(ct))
			}
			if bytes.Contains(recs[0].PublicKey, []byte(`"d"`)) {
				t.Errorf("%s: stored public key holds a private member: %s", alg, recs[0].PublicKey)
			}
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		st := newStore(t)
		mustEnsure(t, mustKeys(t, Config{Store: st}))
		before, _ := st.ListSigningKeys(t.Context())
		other := bytes.Repeat([]byte{0x43}, 32)
		k := mustKeys(t, Config{Store: st, Secret: other})
		_, err := k.Ensure(t.Context())
		if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "cannot decrypt signing key ") || !strings.Contains(err.Error(), "wrong GATEHOUSE_SECRET?") {
			t.Errorf("Ensure() with a wrong secret error = %v, want a clear ErrDecrypt", err)
		}
		if err := k.Reload(t.Context()); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Reload() with a wrong secret error = %v, want ErrDecrypt", err)
		}
		if _, err := k.Rotate(t.Context()); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Rotate() with a wrong secret error = %v, want ErrDecrypt", err)
		}
		after, _ := st.ListSigningKeys(t.Context())
		if len(after) != len(before) {
			t.Errorf("a wrong secret changed the store: %d keys, then %d", len(before), len(after))
		}
	})

	t.Run("tampered ciphertext", func(t *testing.T) {
		st := newStore(t)
		k := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		mustEnsure(t, k)
		kid := k.ActiveKeyID()
		if _, err := st.UpdateSigningKey(t.Context(), kid, func(r store.SigningKey) (store.SigningKey, error) {
			r.PrivateKey[len(r.PrivateKey)/2] ^= 1
			return r, nil
		}); err != nil {
			t.Fatal(err)
		}
		fresh := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		if err := fresh.Reload(t.Context()); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), kid) {
			t.Errorf("Reload() of a tampered key error = %v, want ErrDecrypt naming %s", err, kid)
		}
	})

	t.Run("ciphertext bound to its kid", func(t *testing.T) {
		st := newStore(t)
		k := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		mustEnsure(t, k)
		mustRotate(t, k)
		recs, _ := st.ListSigningKeys(t.Context())
		if len(recs) != 2 {
			t.Fatalf("%d keys, want 2", len(recs))
		}
		a, b := recs[0], recs[1]
		swap := func(id string, ct []byte) {
			if _, err := st.UpdateSigningKey(t.Context(), id, func(r store.SigningKey) (store.SigningKey, error) {
				r.PrivateKey = ct
				return r, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		swap(a.ID, b.PrivateKey)
		swap(b.ID, a.PrivateKey)
		fresh := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		if err := fresh.Reload(t.Context()); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Reload() with swapped ciphertexts error = %v, want ErrDecrypt", err)
		}
		aead, _ := newAEAD(testSecret())
		if _, err := open(aead, b.ID, seal(aead, a.ID, []byte("x"))); !errors.Is(err, ErrDecrypt) {
			t.Errorf("open() under another kid error = %v, want ErrDecrypt", err)
		}
		if got, err := open(aead, a.ID, seal(aead, a.ID, []byte("x"))); err != nil || string(got) != "x" {
			t.Errorf("open(seal(x)) = %q, %v; want x", got, err)
		}
	})
}

// privateBytes returns the secret scalar or seed of a private key.
func privateBytes(t *testing.T, k any) []byte {
	t.Helper()
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	case ed25519.PrivateKey:
		return k.Seed()
	case *rsa.PrivateKey:
		return k.D.Bytes()
	}
	t.Fatalf("unexpected private key %T", k)
	return nil
}

func TestKeyTypePinned(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
		ok   bool
	}{
		{"ES256 P-256", jose.ES256, &p256.PublicKey, true},
		{"ES256 P-384", jose.ES256, &p384.PublicKey, false},
		{"ES256 Ed25519", jose.ES256, ed.Public(), false},
		{"EdDSA Ed25519", jose.EdDSA, ed.Public(), true},
		{"EdDSA P-256", jose.EdDSA, &p256.PublicKey, false},
		{"RS256 1024", jose.RS256, &rsa1024.PublicKey, false},
		{"RS256 P-256", jose.RS256, &p256.PublicKey, false},
		{"RS256 HMAC", jose.RS256, []byte("secret"), false},
		{"HS256 is never a stored key", jose.HS256, []byte("secret"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkKeyType(tc.alg, tc.key); (err == nil) != tc.ok {
				t.Errorf("checkKeyType(%s, %T) error = %v, want ok %v", tc.alg, tc.key, err, tc.ok)
			}
		})
	}

	t.Run("stored key of the wrong type", func(t *testing.T) {
		st := newStore(t)
		k := mustKeys(t, Config{Store: st, IDTokenAlgorithm: ES256})
		mustEnsure(t, k)
		pub, _ := publicJWK(k.ActiveKeyID(), jose.ES256, &p384.PublicKey).MarshalJSON()
		if _, err := st.UpdateSigningKey(t.Context(), k.ActiveKeyID(), func(r store.SigningKey) (store.SigningKey, error) {
			r.PublicKey = pub
			return r, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := mustKeys(t, Config{Store: st}).Reload(t.Context()); err == nil {
			t.Errorf("Reload() accepted a P-384 key stored as ES256")
		}
	})
}

func TestRestartVerifiesOldTokens(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA, RS256, HS256} {
		t.Run(alg, func(t *testing.T) {
			st := newStore(t)
			first := mustKeys(t, Config{Store: st, Algorithm: alg})
			mustEnsure(t, first)
			tok := mustIssue(t, first, time.Now())

			second := mustKeys(t, Config{Store: st, Algorithm: alg})
			created, err := second.Ensure(t.Context())
			if err != nil || created {
				t.Fatalf("Ensure() after restart = %v, %v; want false, nil", created, err)
			}
			if second.ActiveKeyID() != first.ActiveKeyID() {
				t.Errorf("ActiveKeyID() after restart = %s, want %s", second.ActiveKeyID(), first.ActiveKeyID())
			}
			claims, err := verifyKeySet(t, second, tok)
			if err != nil || claims["jti"] != "jti-1" {
				t.Errorf("verify an old token after restart: %v, %v", claims, err)
			}
		})
	}
}

func TestVerificationKeyReloadsUnknownKid(t *testing.T) {
	clk := newClock()
	base := newStore(t)
	hs := &hookStore{SigningKeys: base}
	signer := mustKeys(t, Config{Store: base, IDTokenAlgorithm: ES256, Now: clk.Now})
	verifier := mustKeys(t, Config{Store: hs, IDTokenAlgorithm: ES256, Now: clk.Now})
	mustEnsure(t, signer)
	if err := verifier.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Another process (the CLI) rotates; the verifier learns the new kid
	// from the store when a token carries it.
	nk := mustRotate(t, signer)
	tok := mustIssue(t, signer, clk.Now())
	if kid := header(t, tok, jose.ES256).KeyID; kid != nk.ID {
		t.Fatalf("token kid %s, want the new key %s", kid, nk.ID)
	}
	if _, err := verifyKeySet(t, verifier, tok); err != nil {
		t.Fatalf("VerificationKey() for a kid rotated elsewhere error = %v", err)
	}

	// Unknown kids reload at most once a second.
	lists := hs.listCount()
	check := func(wantLists int) {
		t.Helper()
		if _, _, err := verifier.VerificationKey(t.Context(), "no-such-kid"); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("VerificationKey(unknown) error = %v, want ErrUnknownKey", err)
		}
		if got := hs.listCount(); got != wantLists {
			t.Errorf("store read %d times, want %d", got, wantLists)
		}
	}
	clk.Add(time.Second)
	check(lists + 1)
	check(lists + 1)
	clk.Add(999 * time.Millisecond)
	check(lists + 1)
	clk.Add(time.Millisecond)
	check(lists + 2)

	// Known kids never touch the store.
	for range 3 {
		if _, _, err := verifier.VerificationKey(t.Context(), nk.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := hs.listCount(); got != lists+2 {
		t.Errorf("known kids read the store: %d reads, want %d", got, lists+2)
	}
}

func TestHS256Key(t *testing.T) {
	k1 := mustKeys(t, Config{Algorithm: HS256})
	k2 := mustKeys(t, Config{Algorithm: HS256})
	k3 := mustKeys(t, Config{Algorithm: HS256, HMACSecret: bytes.Repeat([]byte("z"), 32)})
	if k1.ActiveKeyID() != k2.ActiveKeyID() || k1.ActiveKeyID() == k3.ActiveKeyID() {
		t.Errorf("HS256 kids %s, %s, %s: want equal for one secret, different for another", k1.ActiveKeyID(), k2.ActiveKeyID(), k3.ActiveKeyID())
	}
	if strings.Contains(k1.ActiveKeyID(), base64.RawURLEncoding.EncodeToString(testHMACSecret()[:8])) {
		t.Errorf("HS256 kid %s reveals the secret", k1.ActiveKeyID())
	}
	// Access tokens sign without any stored key.
	tok := mustIssue(t, k1, time.Now())
	if _, err := verifyKeySet(t, k2, tok); err != nil {
		t.Errorf("a replica with the same secret cannot verify: %v", err)
	}
	key, alg, err := k1.VerificationKey(t.Context(), k1.ActiveKeyID())
	if err != nil || alg != jose.HS256 || !bytes.Equal(key.([]byte), testHMACSecret()) {
		t.Errorf("VerificationKey(hs256) = %v, %v; want the secret and HS256", alg, err)
	}
	if err := k1.Revoke(t.Context(), k1.ActiveKeyID()); err == nil {
		t.Errorf("Revoke(hs256 kid) succeeded")
	}
	l := mustList(t, k1)
	if len(l) != 1 || l[0].Algorithm != HS256 || l[0].Status != StatusActive {
		t.Errorf("List() = %+v, want the HS256 key only (before Ensure)", l)
	}
	if bytes.Contains(k1.JWKSJSON(), []byte("oct")) {
		t.Errorf("the HS256 secret is published: %s", k1.JWKSJSON())
	}
	// context is unused by the HS256 path: a cancelled one still works.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := k1.VerificationKey(ctx, k1.ActiveKeyID()); err != nil {
		t.Errorf("VerificationKey(cancelled ctx) error = %v", err)
	}
}
