package signing

import (
	"crypto"
	_ "crypto/sha256" // registers crypto.SHA256 for AtHash
	_ "crypto/sha512" // registers crypto.SHA384 and crypto.SHA512 for AtHash
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// AccessClaims are the claims of a JWT access token (RFC 9068 §2.2). They
// carry no personal data beyond the subject: the username and other
// attributes are looked up by the subject.
type AccessClaims struct {
	Issuer    string    // iss, required
	Subject   string    // sub: the user id, or the client id for client credentials; required
	Audience  []string  // aud, required
	Expiry    time.Time // exp, required
	IssuedAt  time.Time // iat; zero means now
	NotBefore time.Time // nbf; omitted when zero
	ID        string    // jti, required
	ClientID  string    // client_id, required
	Scope     string    // scope: space-separated (RFC 9068 §2.2.3); omitted when empty
	AuthTime  time.Time // auth_time: when the user logged in; omitted when zero
}

// IDClaims are the claims of an OpenID Connect ID token (OIDC Core §2).
type IDClaims struct {
	Issuer          string    // iss, required
	Subject         string    // sub: the user id, required
	Audience        []string  // aud: the client id, required
	Expiry          time.Time // exp, required
	IssuedAt        time.Time // iat; zero means now
	AuthTime        time.Time // auth_time; omitted when zero
	Nonce           string    // nonce from the authorization request; omitted when empty
	AuthorizedParty string    // azp; omitted when empty
	// AccessToken, when set, is hashed into at_hash (OIDC Core §3.1.3.6).
	AccessToken string
	// PreferredUsername and Name are the profile claims (OIDC Core §5.1),
	// set when the profile scope is granted; omitted when empty.
	PreferredUsername string
	Name              string
}

// idPayload is the JSON shape of an ID token.
type idPayload struct {
	jwt.Claims
	AuthTime        *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce           string           `json:"nonce,omitempty"`
	AuthorizedParty string           `json:"azp,omitempty"`
	AccessTokenHash string           `json:"at_hash,omitempty"`
	PreferredUser   string           `json:"preferred_username,omitempty"`
	Name            string           `json:"name,omitempty"`
}

// IssueAccessToken signs c with the current access-token key, with the
// header typ "at+jwt" (RFC 9068 §2.1).
func (k *Keys) IssueAccessToken(c AccessClaims) (string, error) {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = k.now()
	}
	fields := []field{{"iss", c.Issuer}, {"sub", c.Subject}, {"jti", c.ID}, {"client_id", c.ClientID}}
	if err := validate(fields, c.Audience, c.IssuedAt, c.Expiry); err != nil {
		return "", fmt.Errorf("issue access token: %w", err)
	}
	// The claims are encoded without reflection (appendAccessPayload
	// writes what json.Marshal of an accessPayload would).
	payload := appendAccessPayload(make([]byte, 0, 320), &c)
	tok, err := k.signPayload(string(k.alg), payload, TypeAccessToken)
	if err != nil {
		return "", fmt.Errorf("issue access token: %w", err)
	}
	return tok, nil
}

// IssueIDToken signs c with the current ID-token key ([Keys.IDTokenAlgorithm])
// with the header typ "JWT", adding at_hash when c.AccessToken is set.
func (k *Keys) IssueIDToken(c IDClaims) (string, error) {
	if c.IssuedAt.IsZero() {
		c.IssuedAt = k.now()
	}
	if err := validate([]field{{"iss", c.Issuer}, {"sub", c.Subject}}, c.Audience, c.IssuedAt, c.Expiry); err != nil {
		return "", fmt.Errorf("issue ID token: %w", err)
	}
	p := idPayload{
		Claims: jwt.Claims{
			Issuer: c.Issuer, Subject: c.Subject, Audience: jwt.Audience(c.Audience),
			Expiry: jwt.NewNumericDate(c.Expiry), IssuedAt: jwt.NewNumericDate(c.IssuedAt),
		},
		AuthTime:        jwt.NewNumericDate(c.AuthTime),
		Nonce:           c.Nonce,
		AuthorizedParty: c.AuthorizedParty,
		PreferredUser:   c.PreferredUsername,
		Name:            c.Name,
	}
	if c.AccessToken != "" {
		h, err := AtHash(string(k.idAlg), c.AccessToken)
		if err != nil {
			return "", fmt.Errorf("issue ID token: %w", err)
		}
		p.AccessTokenHash = h
	}
	tok, err := k.SignWith(string(k.idAlg), p, TypeIDToken)
	if err != nil {
		return "", fmt.Errorf("issue ID token: %w", err)
	}
	return tok, nil
}

// field is a required string claim.
type field struct{ name, value string }

// validate checks the claims every token needs.
func validate(fields []field, aud []string, iat, exp time.Time) error {
	var errs []error
	for _, f := range fields {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("missing %s", f.name))
		}
	}
	if len(aud) == 0 {
		errs = append(errs, errors.New("missing aud"))
	}
	if !exp.After(iat) {
		errs = append(errs, errors.New("exp must be after iat"))
	}
	return errors.Join(errs...)
}

// AtHash returns the at_hash of an access token for an ID token signed
// with alg (OIDC Core §3.1.3.6): the base64url encoding of the left half of
// the hash of the token's ASCII bytes, with the hash of alg's family
// (SHA-256 for *256, SHA-384 for *384, SHA-512 for *512, and SHA-512 for
// EdDSA with Ed25519, as coreos/go-oidc verifies it).
func AtHash(alg, accessToken string) (string, error) {
	var h crypto.Hash
	switch alg {
	case "HS256", "RS256", "ES256", "PS256":
		h = crypto.SHA256
	case "HS384", "RS384", "ES384", "PS384":
		h = crypto.SHA384
	case "HS512", "RS512", "ES512", "PS512", "EdDSA":
		h = crypto.SHA512
	default:
		return "", fmt.Errorf("at_hash: unsupported algorithm %q", alg)
	}
	d := h.New()
	d.Write([]byte(accessToken))
	sum := d.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
