package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error codes of RFC 6750 §3.1, used in [Error.Code].
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// Client-visible descriptions that callers and tests may rely on.
const (
	// DescriptionMissing is the description of a request that carries no
	// credential at all.
	DescriptionMissing = "Missing API Key"
	// DescriptionInvalidAPIKey is the description of an API key that is
	// unknown, wrong, revoked, expired or whose owner is disabled.
	DescriptionInvalidAPIKey = "Invalid or inactive API Key"
	// DescriptionQueryCredential is the description of a request that
	// carries a credential in its query string.
	DescriptionQueryCredential = "credentials in the query string are not accepted; send the X-API-Key header"
)

// Error is the error every guard entry point returns on failure. Its fields
// are safe to show to the client; the cause, which may hold details for
// logs, is in Err.
//
// Status is 400 (Code [CodeInvalidRequest]), 401 (Code "" for a missing
// credential, or [CodeInvalidToken]), 403 ([CodeInsufficientScope]) or
// 503 ([CodeUnavailable]: the credential cannot be checked now).
type Error struct {
	Status      int    // HTTP status: 400, 401, 403 or 503
	Code        string // "" (no credential), or an RFC 6750 §3.1 code
	Description string // short human-readable reason, safe for clients
	Scope       string // for insufficient_scope: the scopes needed, space-separated
	// Err is the cause, one of the typed errors of this package (for example
	// [*TokenExpiredError]) or nil. It is for logs and [errors.As], never
	// for the client.
	Err error
}

// Error returns the cause's message, or the description, after "guard: ".
func (e *Error) Error() string {
	if e.Err != nil {
		return "guard: " + e.Err.Error()
	}
	return "guard: " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(status int, code, desc string, cause error) *Error {
	return &Error{Status: status, Code: code, Description: desc, Err: cause}
}

func invalidRequest(desc string) *Error {
	return newError(http.StatusBadRequest, CodeInvalidRequest, desc, nil)
}

func invalidToken(desc string, cause error) *Error {
	return newError(http.StatusUnauthorized, CodeInvalidToken, desc, cause)
}

// UnavailableError is the cause of a request refused with 503
// temporarily_unavailable because what the guard must know could not be
// learned now: the issuer's introspection endpoint or JWKS was unreachable
// or answered with an error (remote mode), or an [APIKeyVerifier] or
// [KeySet] returned one to say its store failed. The credential may well
// be valid; the client should try again later.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string { return "cannot check the credential now: " + e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

func unavailable(cause error) *Error {
	return newError(http.StatusServiceUnavailable, CodeUnavailable,
		"the credential cannot be checked right now; try again later", cause)
}

// MalformedTokenError reports an access token that is not a JWS in compact
// serialization that the guard could parse, or whose claims are not valid
// JSON of the expected types.
type MalformedTokenError struct {
	Err error // the parser's error, if any
}

func (e *MalformedTokenError) Error() string {
	if e.Err == nil {
		return "malformed token"
	}
	return "malformed token: " + e.Err.Error()
}

func (e *MalformedTokenError) Unwrap() error { return e.Err }

// AlgorithmError reports a token whose "alg" header is not allowed: not in
// the guard's allow-list (for example "none"), or not the algorithm the
// [KeySet] pinned for the token's key (algorithm confusion, RFC 8725 §2.1).
type AlgorithmError struct {
	KeyID     string // the token's kid, if it got that far
	Algorithm string // the token's alg
	Want      string // the key's pinned alg, "" when alg failed the allow-list
}

func (e *AlgorithmError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("token algorithm %q is not allowed", e.Algorithm)
	}
	return fmt.Sprintf("token algorithm %q does not match %q pinned for key %q", e.Algorithm, e.Want, e.KeyID)
}

// KeyError reports a token without a "kid" header, or whose kid the
// [KeySet] does not know or returned an unusable key for.
type KeyError struct {
	KeyID string // "" when the token has no kid
	Err   error  // the KeySet's error, or what is wrong with its key
}

func (e *KeyError) Error() string {
	if e.KeyID == "" {
		return "token has no kid header"
	}
	if e.Err == nil {
		return fmt.Sprintf("no key for kid %q", e.KeyID)
	}
	return fmt.Sprintf("no usable key for kid %q: %v", e.KeyID, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// SignatureError reports a token whose signature does not verify with the
// key the [KeySet] returned for its kid.
type SignatureError struct {
	KeyID string
	Err   error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("token signature is invalid (kid %q): %v", e.KeyID, e.Err)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// ClaimError reports a missing or wrong claim or header parameter: Claim is
// its name ("typ", "iss", "aud", "exp", "iat", "sub" or "jti").
type ClaimError struct {
	Claim  string
	Reason string
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("token %s %s", e.Claim, e.Reason)
}

// TokenExpiredError reports a token whose "exp" has passed, leeway included.
type TokenExpiredError struct {
	Expiry time.Time
}

func (e *TokenExpiredError) Error() string {
	return "token expired at " + e.Expiry.UTC().Format(time.RFC3339)
}

// TokenNotYetValidError reports a token whose "nbf" or "iat" lies in the
// future, beyond the leeway.
type TokenNotYetValidError struct {
	Claim string    // "nbf" or "iat"
	Time  time.Time // the claim's value
}

func (e *TokenNotYetValidError) Error() string {
	return fmt.Sprintf("token %s %s is in the future", e.Claim, e.Time.UTC().Format(time.RFC3339))
}

// TokenRevokedError reports a verified token that the
// [RevocationChecker] says is revoked.
type TokenRevokedError struct {
	TokenID string // the jti
}

func (e *TokenRevokedError) Error() string {
	return fmt.Sprintf("token %q is revoked", e.TokenID)
}

// APIKeyError reports an API key that the [APIKeyVerifier] refused, or an
// API key sent to a guard that accepts none.
type APIKeyError struct {
	Err error // the verifier's error; nil when API keys are not accepted
}

func (e *APIKeyError) Error() string {
	if e.Err == nil {
		return "API keys are not accepted"
	}
	return "API key refused: " + e.Err.Error()
}

func (e *APIKeyError) Unwrap() error { return e.Err }

// errorBody is the JSON body of every guard error.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// WriteError writes err as the response: for an [*Error] (found with
// [errors.As]) its status, a WWW-Authenticate challenge per RFC 6750 §3
// (`Bearer realm="..."`, plus `error="..."` unless the credential was
// missing, plus `scope="..."` for insufficient_scope) and the JSON body
// {"error","error_description"}, where error is the code or "unauthorized".
// Any other error is answered 500 server_error without details. Both send
// Cache-Control: no-store. An empty realm means "gatehouse".
func WriteError(w http.ResponseWriter, err error, realm string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")

	var e *Error
	if !errors.As(err, &e) {
		w.WriteHeader(http.StatusInternalServerError)
		writeJSON(w, errorBody{Error: "server_error", Description: "internal error"})
		return
	}
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	h.Set("WWW-Authenticate", challenge(realm, e.Code, e.Scope))
	w.WriteHeader(status)
	code := e.Code
	if code == "" {
		code = "unauthorized"
	}
	writeJSON(w, errorBody{Error: code, Description: e.Description})
}

func writeJSON(w http.ResponseWriter, body errorBody) {
	// The status line is out; a failed write means the client is gone.
	_ = json.NewEncoder(w).Encode(body)
}

// challenge builds the WWW-Authenticate value of RFC 6750 §3.
func challenge(realm, code, scope string) string {
	if realm == "" {
		realm = defaultRealm
	}
	var b strings.Builder
	b.Grow(len(`Bearer realm="", error="", scope=""`) + len(realm) + len(code) + len(scope))
	b.WriteString(`Bearer realm="`)
	writeQuoted(&b, realm)
	b.WriteByte('"')
	if code != "" {
		b.WriteString(`, error="`)
		writeQuoted(&b, code)
		b.WriteByte('"')
	}
	if scope != "" {
		b.WriteString(`, scope="`)
		writeQuoted(&b, scope)
		b.WriteByte('"')
	}
	return b.String()
}

// writeQuoted writes s as the inside of an RFC 9110 §5.6.4 quoted-string:
// quotes and backslashes are escaped, and control characters, which a
// header may not carry, are dropped.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 && c != '\t', c == 0x7f:
			// dropped
		default:
			b.WriteByte(c)
		}
	}
}
