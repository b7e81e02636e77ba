package guard

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// allowedAlgorithms is every algorithm a [KeySet] may pin. It never holds
// "none"; the pin per kid is what really decides.
func allowedAlgorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.ES256, jose.ES384, jose.ES512,
		jose.EdDSA,
		jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512,
		jose.HS256, jose.HS384, jose.HS512,
	}
}

// accessClaims are the RFC 9068 §2.2 claims the guard reads.
type accessClaims struct {
	jwt.Claims
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
}

// VerifyAccessToken verifies a JWT access token (RFC 9068) and returns its
// principal, as [Guard.Authenticate] does for a bearer token, including the
// [RevocationChecker] call but without calling [Config.OnResult] or
// [Config.Enrich], and, on a [Remote], without learning the username. On
// failure the error is an [*Error] with Code [CodeInvalidToken] whose cause
// is one of [*MalformedTokenError], [*AlgorithmError], [*KeyError],
// [*SignatureError], [*ClaimError], [*TokenExpiredError],
// [*TokenNotYetValidError] or [*TokenRevokedError].
//
// The checks follow RFC 8725 §3 and RFC 9068 §4: the token must be a JWS in
// compact serialization of at most 8 KiB, with a "kid" the [KeySet] knows
// and exactly the algorithm it pins for that kid; "typ" must be "at+jwt"
// (or "application/at+jwt"); "jku", "x5u" and "jwk" headers are ignored;
// "iss" must equal [Config.Issuer] and "aud" contain [Config.Audience];
// "exp" and "iat" are required, and "exp" must not have passed nor "nbf" or
// "iat" lie ahead, give or take [Config.Leeway]; "sub" and "jti" are
// required.
func (g *Guard) VerifyAccessToken(ctx context.Context, token string) (*Principal, error) {
	p, err := g.verifyAccessToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (g *Guard) verifyAccessToken(ctx context.Context, token string) (*Principal, *Error) {
	if g.keys == nil {
		return nil, invalidToken("bearer tokens are not accepted", &KeyError{Err: errors.New("no key set configured")})
	}
	if len(token) > maxCredentialSize {
		return nil, invalidToken("token is too large", &MalformedTokenError{Err: errors.New("longer than 8 KiB")})
	}
	var sum [sha256.Size]byte
	if g.cache != nil {
		sum = tokenSum(token)
		if p, err, ok := g.cachedToken(ctx, &sum); ok {
			return p, err
		}
	}
	p, nbf, gerr := g.verifyUncached(ctx, token)
	if gerr == nil && g.cache != nil {
		g.cache.put(&sum, cachedToken{p: clonePrincipal(p), nbf: nbf}, g.now())
	}
	return p, gerr
}

// tokenSum is the verified-token cache's key for token, its SHA-256 (a
// collision-resistant key: no token can be made to find another's entry).
// An access token fits a stack buffer, which spares it a copy on the heap
// per request; a longer one is copied.
func tokenSum(token string) [sha256.Size]byte {
	var buf [1024]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], token)])
	}
	return sha256.Sum256([]byte(token))
}

// cachedToken answers from the verified-token cache; ok is false when the
// token must be verified in full.
func (g *Guard) cachedToken(ctx context.Context, sum *[sha256.Size]byte) (p *Principal, gerr *Error, ok bool) {
	v, hit := g.cache.get(sum)
	if !hit {
		return nil, nil, false
	}
	c, now := v.p, g.now()
	if !now.Before(c.ExpiresAt.Add(g.leeway)) {
		g.cache.remove(sum)
		return nil, invalidToken("token expired", &TokenExpiredError{Expiry: c.ExpiresAt}), true
	}
	if ahead := now.Add(g.leeway); ahead.Before(c.IssuedAt) || ahead.Before(v.nbf) {
		return nil, nil, false // a clock set back: let the full check explain
	}
	// The key may have been revoked or may have left the key set since:
	// verify in full then, which reports why.
	if _, _, err := g.keys.VerificationKey(ctx, c.SigningKeyID); err != nil {
		g.cache.remove(sum)
		return nil, nil, false
	}
	p = clonePrincipal(c)
	if g.revocations != nil && g.revocations.Revoked(p) {
		return nil, invalidToken("token revoked", &TokenRevokedError{TokenID: p.TokenID}), true
	}
	return p, nil, true
}

// verifyUncached verifies a token in full; it also returns its "nbf"
// (zero when absent).
func (g *Guard) verifyUncached(ctx context.Context, token string) (*Principal, time.Time, *Error) {
	tok, err := jwt.ParseSigned(token, g.algs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, time.Time{}, invalidToken("token algorithm is not allowed", &AlgorithmError{Algorithm: string(algErr.Got)})
		}
		return nil, time.Time{}, invalidToken("token is malformed", &MalformedTokenError{Err: err})
	}
	// A compact JWS has exactly one signature; ParseSigned guarantees it.
	h := tok.Headers[0]
	if !isAccessTokenType(h.ExtraHeaders[jose.HeaderType]) {
		return nil, time.Time{}, invalidToken("token type must be at+jwt", &ClaimError{Claim: "typ", Reason: "is not at+jwt"})
	}
	kid := h.KeyID
	if kid == "" {
		return nil, time.Time{}, invalidToken("token has no key id", &KeyError{})
	}
	key, alg, err := g.keys.VerificationKey(ctx, kid)
	if err != nil {
		if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
			return nil, time.Time{}, unavailable(&KeyError{KeyID: kid, Err: err})
		}
		return nil, time.Time{}, invalidToken("token signing key is unknown", &KeyError{KeyID: kid, Err: err})
	}
	if h.Algorithm != string(alg) {
		return nil, time.Time{}, invalidToken("token algorithm does not match its key", &AlgorithmError{KeyID: kid, Algorithm: h.Algorithm, Want: string(alg)})
	}
	if err := checkKey(key, alg, g.algs); err != nil {
		return nil, time.Time{}, invalidToken("token signing key is unusable", &KeyError{KeyID: kid, Err: err})
	}

	// Claims with no destination verifies the signature and decodes nothing,
	// which keeps signature failures apart from claim-decoding failures.
	if err := tok.Claims(key); err != nil {
		desc := "token signature is invalid"
		if !errors.Is(err, jose.ErrCryptoFailure) {
			desc = "token signature could not be verified" // e.g. an unsupported "crit" header
		}
		return nil, time.Time{}, invalidToken(desc, &SignatureError{KeyID: kid, Err: err})
	}
	// The payload has just been verified with the pinned key, so reading it
	// "without verification" reads verified bytes.
	var c accessClaims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil, time.Time{}, invalidToken("token claims are malformed", &MalformedTokenError{Err: err})
	}
	var nbf time.Time
	if c.NotBefore != nil {
		nbf = c.NotBefore.Time().UTC()
	}
	p, gerr := g.checkClaims(&c, kid)
	return p, nbf, gerr
}

// isAccessTokenType checks the "typ" header of RFC 9068 §2.1; media type
// names are case-insensitive (RFC 7515 §4.1.9).
func isAccessTokenType(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	return strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt")
}

// checkKey refuses a key whose type does not fit its pinned algorithm, so
// that a mis-built KeySet cannot turn a public key into an HMAC secret, and
// an HMAC secret shorter than its hash (RFC 7518 §3.2).
func checkKey(key any, alg jose.SignatureAlgorithm, allowed []jose.SignatureAlgorithm) error {
	ok := false
	for _, a := range allowed {
		if a == alg {
			ok = true
			break
		}
	}
	if !ok {
		return errors.New("key set pinned an algorithm outside the allow-list: " + string(alg))
	}
	switch k := key.(type) {
	case jose.JSONWebKey:
		key = k.Key
	case *jose.JSONWebKey:
		if k == nil {
			return errors.New("nil key")
		}
		key = k.Key
	}
	var fits bool
	switch k := key.(type) {
	case []byte:
		var min int
		switch alg {
		case jose.HS256:
			min = 32
		case jose.HS384:
			min = 48
		case jose.HS512:
			min = 64
		}
		if min > 0 && len(k) < min {
			return errors.New("HMAC secret shorter than its hash")
		}
		fits = min > 0
	case *ecdsa.PublicKey:
		fits = k != nil && (alg == jose.ES256 || alg == jose.ES384 || alg == jose.ES512)
	case *rsa.PublicKey:
		fits = k != nil && (alg == jose.RS256 || alg == jose.RS384 || alg == jose.RS512 ||
			alg == jose.PS256 || alg == jose.PS384 || alg == jose.PS512)
	case ed25519.PublicKey:
		fits = len(k) == ed25519.PublicKeySize && alg == jose.EdDSA
	}
	if !fits {
		return errors.New("key type does not fit algorithm " + string(alg))
	}
	return nil
}

func (g *Guard) checkClaims(c *accessClaims, kid string) (*Principal, *Error) {
	if c.Issuer != g.issuer {
		return nil, invalidToken("token issuer is invalid", &ClaimError{Claim: "iss", Reason: "does not match"})
	}
	if !c.Audience.Contains(g.audience) {
		return nil, invalidToken("token audience is invalid", &ClaimError{Claim: "aud", Reason: "does not contain the audience"})
	}
	if c.Expiry == nil {
		return nil, invalidToken("token has no expiry", &ClaimError{Claim: "exp", Reason: "is missing"})
	}
	if c.IssuedAt == nil {
		return nil, invalidToken("token has no issue time", &ClaimError{Claim: "iat", Reason: "is missing"})
	}
	now := g.now()
	exp := c.Expiry.Time().UTC()
	if !now.Before(exp.Add(g.leeway)) {
		return nil, invalidToken("token expired", &TokenExpiredError{Expiry: exp})
	}
	ahead := now.Add(g.leeway)
	if c.NotBefore != nil {
		if nbf := c.NotBefore.Time(); ahead.Before(nbf) {
			return nil, invalidToken("token is not yet valid", &TokenNotYetValidError{Claim: "nbf", Time: nbf.UTC()})
		}
	}
	iat := c.IssuedAt.Time().UTC()
	if ahead.Before(iat) {
		return nil, invalidToken("token was issued in the future", &TokenNotYetValidError{Claim: "iat", Time: iat})
	}
	if c.Subject == "" {
		return nil, invalidToken("token has no subject", &ClaimError{Claim: "sub", Reason: "is missing"})
	}
	if c.ID == "" {
		return nil, invalidToken("token has no id", &ClaimError{Claim: "jti", Reason: "is missing"})
	}

	p := &Principal{
		Subject:      c.Subject,
		ClientID:     c.ClientID,
		Method:       MethodBearer,
		TokenID:      c.ID,
		IssuedAt:     iat,
		ExpiresAt:    exp,
		SigningKeyID: kid,
	}
	if c.Scope != "" {
		p.Scopes = strings.Fields(c.Scope)
	}
	if g.revocations != nil && g.revocations.Revoked(p) {
		return nil, invalidToken("token revoked", &TokenRevokedError{TokenID: c.ID})
	}
	return p, nil
}
