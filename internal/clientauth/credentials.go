package clientauth

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// Limits on client credentials. gatehouse's client IDs and secrets are far
// shorter; the limits only keep junk out of lookups and logs.
const (
	MaxClientIDLen     = 256
	MaxClientSecretLen = 1024
)

// Credentials is what a request says about its client: who it claims to be
// and how it authenticates. [ParseCredentials] only parses;
// [Authenticator.Authenticate] checks them against the client's record.
type Credentials struct {
	// ID is the client_id; "" when the request names no client.
	ID string
	// Secret is the client_secret; "" for AuthNone (and possibly for a
	// Basic header with an empty password, which a confidential client
	// must fail).
	Secret string
	// Method is how the credentials were sent; "" when ID is "".
	Method oauth.AuthMethod
}

// String describes the credentials without the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("client_id=%q method=%s", c.ID, c.Method)
}

// GoString is like String, so %#v cannot print the secret either.
func (c Credentials) GoString() string { return "clientauth.Credentials{" + c.String() + "}" }

// LogValue logs the client ID and method, never the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ID), slog.String("method", string(c.Method)))
}

// InvalidClient returns an invalid_client error for failed authentication
// of c, with UseBasic set when c came in an HTTP Basic header, as RFC 6749
// §5.2 requires.
func (c Credentials) InvalidClient(format string, args ...any) *oauth.Error {
	e := oauth.Errorf(oauth.InvalidClient, format, args...)
	e.UseBasic = c.Method == oauth.AuthSecretBasic
	return e
}

// ParseCredentials extracts client credentials from a token-style request
// (RFC 6749 §2.3.1): an HTTP Basic Authorization header whose user and
// password are the form-URL-encoded client_id and client_secret
// (client_secret_basic), client_id and client_secret in the form body
// (client_secret_post), or client_id alone (none). form is the body from
// [oauth.ParseForm], nil for an endpoint that reads the header only. A
// request with no client at all gives the zero Credentials and nil; the
// caller decides whether that is allowed.
//
// Authorization headers with another scheme are ignored. The errors are:
//   - a malformed Basic header, or credentials that are empty, too long or
//     not printable ASCII (RFC 6749 Appendix A.1, A.2): invalid_client,
//     with UseBasic for a Basic header;
//   - more than one Authorization header, Basic combined with a
//     client_secret in the body (RFC 6749 §2.3 allows one method), a body
//     client_id other than the Basic one, client_secret without client_id,
//     or a duplicated client_id or client_secret: invalid_request.
func ParseCredentials(r *http.Request, form url.Values) (Credentials, *oauth.Error) {
	bodyID, err := oauth.Single(form, "client_id")
	if err != nil {
		return Credentials{}, err
	}
	bodySecret, err := oauth.Single(form, "client_secret")
	if err != nil {
		return Credentials{}, err
	}

	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return Credentials{}, oauth.Errorf(oauth.InvalidRequest, "more than one Authorization header")
	}
	if len(headers) == 1 {
		if token, ok := basicToken(headers[0]); ok {
			id, secret, err := decodeBasic(token)
			if err != nil {
				return Credentials{}, err
			}
			if bodySecret != "" {
				return Credentials{}, oauth.Errorf(oauth.InvalidRequest, "the client authenticated with both HTTP Basic and client_secret")
			}
			if bodyID != "" && bodyID != id {
				return Credentials{}, oauth.Errorf(oauth.InvalidRequest, "client_id does not match the Authorization header")
			}
			return Credentials{ID: id, Secret: secret, Method: oauth.AuthSecretBasic}, nil
		}
	}

	switch {
	case bodyID == "" && bodySecret == "":
		return Credentials{}, nil
	case bodyID == "":
		return Credentials{}, oauth.Errorf(oauth.InvalidRequest, "client_secret sent without client_id")
	case !validCredential(bodyID, MaxClientIDLen):
		return Credentials{}, oauth.Errorf(oauth.InvalidClient, "malformed client_id")
	case bodySecret == "":
		return Credentials{ID: bodyID, Method: oauth.AuthNone}, nil
	case !validCredential(bodySecret, MaxClientSecretLen):
		return Credentials{}, oauth.Errorf(oauth.InvalidClient, "malformed client_secret")
	}
	return Credentials{ID: bodyID, Secret: bodySecret, Method: oauth.AuthSecretPost}, nil
}

// basicToken returns the credentials of an Authorization header whose
// scheme is Basic (compared case-insensitively, RFC 9110 §11.1), and false
// for any other scheme.
func basicToken(h string) (string, bool) {
	h = strings.TrimLeft(h, " \t")
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	return strings.Trim(rest, " \t"), true
}

// decodeBasic decodes RFC 7617 Basic credentials and then, as RFC 6749
// §2.3.1 requires, form-URL-decodes the user and the password.
func decodeBasic(token string) (id, secret string, _ *oauth.Error) {
	malformed := func() (string, string, *oauth.Error) {
		e := oauth.Errorf(oauth.InvalidClient, "malformed HTTP Basic credentials")
		e.UseBasic = true
		return "", "", e
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return malformed()
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return malformed()
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || !validCredential(id, MaxClientIDLen) ||
		(secret != "" && !validCredential(secret, MaxClientSecretLen)) {
		return malformed()
	}
	return id, secret, nil
}

// validCredential reports whether s is a non-empty run of at most max
// VSCHARs (%x20-7E), the syntax of client_id and client_secret in RFC 6749
// Appendix A.1 and A.2.
func validCredential(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
