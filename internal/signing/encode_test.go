package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// accessPayload is the JSON shape of an access token as a struct: the
// reference appendAccessPayload is held to.
type accessPayload struct {
	jwt.Claims
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
}

func referencePayload(t testing.TB, c AccessClaims) []byte {
	t.Helper()
	b, err := json.Marshal(accessPayload{
		Claims: jwt.Claims{
			Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.Audience(c.Audience),
			Expiry: jwt.NewNumericDate(c.Expiry), NotBefore: jwt.NewNumericDate(c.NotBefore),
			IssuedAt: jwt.NewNumericDate(c.IssuedAt), ID: c.ID,
		},
		ClientID: c.ClientID,
		Scope:    c.Scope,
		AuthTime: jwt.NewNumericDate(c.AuthTime),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// awkward are strings encoding/json escapes, or that are not valid UTF-8.
var awkward = []string{
	"", "plain", `quote"d`, `back\slash`, "<script>&amp;</script>", "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
	"héllo wörld", "日本語", "emoji 😀", "\u2028\u2029", "bad \xff\xfe utf8", "\xc3", "a b c", "https://issuer.example/",
}

func TestAppendAccessPayloadMatchesJSON(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 678, time.UTC)
	base := AccessClaims{
		Issuer: "https://auth.example.com", Subject: "cli_0123456789abcdef", Audience: []string{"https://api.example.com"},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(15 * time.Minute),
		ID: "fam.0123456789abcdefghij", ClientID: "cli_0123456789abcdef", Scope: "read write",
	}
	tests := map[string]func(c *AccessClaims){
		"typical":             func(c *AccessClaims) {},
		"no nbf, scope":       func(c *AccessClaims) { c.NotBefore, c.Scope = time.Time{}, "" },
		"auth_time":           func(c *AccessClaims) { c.AuthTime = now.Add(-time.Hour) },
		"two audiences":       func(c *AccessClaims) { c.Audience = []string{"a", "b<&>"} },
		"three audiences":     func(c *AccessClaims) { c.Audience = []string{"a", "", "c"} },
		"empty everything":    func(c *AccessClaims) { *c = AccessClaims{} },
		"before 1970":         func(c *AccessClaims) { c.IssuedAt = time.Date(1960, 5, 6, 7, 8, 9, 999999999, time.UTC) },
		"sub-second rounding": func(c *AccessClaims) { c.Expiry = now.Add(999 * time.Millisecond) },
		"other zone":          func(c *AccessClaims) { c.AuthTime = now.In(time.FixedZone("x", -7*3600)) },
	}
	for i, s := range awkward {
		tests["awkward "+string(rune('a'+i))] = func(c *AccessClaims) {
			c.Issuer, c.Subject, c.ID, c.ClientID, c.Scope = s, s+"x", "y"+s, s, s
			c.Audience = []string{s}
		}
	}
	for name, edit := range tests {
		c := base
		c.Audience = append([]string(nil), base.Audience...)
		edit(&c)
		got := appendAccessPayload(nil, &c)
		if want := referencePayload(t, c); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestAppendAccessPayloadRandom compares random claims built from random
// bytes and runes.
func TestAppendAccessPayloadRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			switch r.IntN(4) {
			case 0:
				b.WriteByte(byte(r.IntN(256)))
			case 1:
				b.WriteRune(rune(r.IntN(0x3000)))
			default:
				b.WriteByte(byte(0x20 + r.IntN(0x5f)))
			}
		}
		return b.String()
	}
	tm := func() time.Time {
		if r.IntN(4) == 0 {
			return time.Time{}
		}
		return time.Unix(r.Int64N(1<<36)-1<<34, r.Int64N(1e9))
	}
	for range 2000 {
		c := AccessClaims{Issuer: str(), Subject: str(), Expiry: tm(), IssuedAt: tm(), NotBefore: tm(),
			ID: str(), ClientID: str(), Scope: str(), AuthTime: tm()}
		for n := r.IntN(4); n > 0; n-- {
			c.Audience = append(c.Audience, str())
		}
		got := appendAccessPayload([]byte("prefix"), &c)
		if want := referencePayload(t, c); !bytes.Equal(got[len("prefix"):], want) || string(got[:6]) != "prefix" {
			t.Fatalf("%+v:\n got %s\nwant %s", c, got, want)
		}
	}
}

// TestIssueAccessTokenClaimsRoundTrip decodes issued tokens with the
// ordinary go-jose verifier and compares every claim and the header.
func TestIssueAccessTokenClaimsRoundTrip(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA, RS256, HS256} {
		t.Run(alg, func(t *testing.T) {
			k := mustKeys(t, Config{Algorithm: alg, IDTokenAlgorithm: idAlgFor(alg), Logger: quiet()})
			mustEnsure(t, k)
			now := time.Now().Truncate(time.Second)
			for _, c := range []AccessClaims{
				{Issuer: "https://iss.example", Subject: "u1", Audience: []string{"api"}, IssuedAt: now, NotBefore: now,
					Expiry: now.Add(time.Hour), ID: "j1", ClientID: "c1", Scope: "read write"},
				{Issuer: "https://iss.example", Subject: "u<2>", Audience: []string{"api", "other&"}, IssuedAt: now,
					Expiry: now.Add(time.Hour), ID: "f.j2", ClientID: "c\"2", AuthTime: now.Add(-time.Minute)},
			} {
				tok, err := k.IssueAccessToken(c)
				if err != nil {
					t.Fatal(err)
				}
				parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				if h := parsed.Headers[0]; h.KeyID != k.ActiveKeyID() || h.ExtraHeaders["typ"] != TypeAccessToken || h.Algorithm != alg {
					t.Errorf("header = %+v", h)
				}
				pub, _, err := k.VerificationKey(t.Context(), parsed.Headers[0].KeyID)
				if err != nil {
					t.Fatal(err)
				}
				var std jwt.Claims
				var extra struct {
					ClientID string           `json:"client_id"`
					Scope    string           `json:"scope"`
					AuthTime *jwt.NumericDate `json:"auth_time"`
				}
				if err := parsed.Claims(pub, &std, &extra); err != nil {
					t.Fatalf("verify: %v", err)
				}
				if std.Issuer != c.Issuer || std.Subject != c.Subject || std.ID != c.ID ||
					strings.Join(std.Audience, "|") != strings.Join(c.Audience, "|") ||
					!std.Expiry.Time().Equal(c.Expiry) || !std.IssuedAt.Time().Equal(c.IssuedAt) ||
					(std.NotBefore == nil) != c.NotBefore.IsZero() ||
					extra.ClientID != c.ClientID || extra.Scope != c.Scope ||
					(extra.AuthTime == nil) != c.AuthTime.IsZero() ||
					(extra.AuthTime != nil && !extra.AuthTime.Time().Equal(c.AuthTime)) {
					t.Errorf("claims = %+v %+v, issued %+v", std, extra, c)
				}
				// The payload is byte for byte what encoding/json gives.
				payload := strings.Split(tok, ".")[1]
				want := referencePayload(t, c)
				if got := mustB64(t, payload); !bytes.Equal(got, want) {
					t.Errorf("payload = %s, want %s", got, want)
				}
			}
		})
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestES256KeyOnFastPath checks that an ES256 key loaded from the store
// (decrypted, parsed from its JWK) is a plain *ecdsa.PrivateKey on
// elliptic.P256(): crypto/ecdsa then signs with its constant-time
// assembly P-256 code and caches the converted key, instead of falling
// back to the generic (slow) elliptic.CurveParams code.
func TestES256KeyOnFastPath(t *testing.T) {
	st := newStore(t)
	k := mustKeys(t, Config{Store: st, Algorithm: ES256, Logger: quiet()})
	mustEnsure(t, k)
	// A second Keys over the same store loads the key from its record.
	loaded := mustKeys(t, Config{Store: st, Algorithm: ES256, Logger: quiet()})
	if err := loaded.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, ks := range map[string]*Keys{"generated": k, "loaded": loaded} {
		s, _ := ks.current()
		kk := s.signing[jose.ES256]
		if kk == nil {
			t.Fatalf("%s: no ES256 signing key", name)
		}
		priv, ok := kk.private.(*ecdsa.PrivateKey)
		if !ok {
			t.Fatalf("%s: private key is a %T, want *ecdsa.PrivateKey", name, kk.private)
		}
		if priv.Curve != elliptic.P256() {
			t.Errorf("%s: curve %T %v is not elliptic.P256()", name, priv.Curve, priv.Curve.Params().Name)
		}
		if kk.signers[TypeAccessToken] == nil {
			t.Errorf("%s: no prepared signer for access tokens", name)
		}
	}
}
