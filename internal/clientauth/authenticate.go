package clientauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Policy is what an endpoint accepts beyond valid credentials. The zero
// Policy admits confidential clients only, authenticated by any secret
// method, and refuses requests that name no client.
type Policy struct {
	// Public admits public clients, which authenticate by client_id alone
	// (RFC 6749 §2.1): the token and revocation endpoints (RFC 7009 §2.1)
	// take them, introspection does not (RFC 7662 §2.1).
	Public bool
	// BasicOnly takes the credentials from the Authorization header only
	// (client_secret_basic), for an endpoint without a form body such as
	// the revocation feed; every invalid_client refusal then carries the
	// Basic challenge, so the client learns how to authenticate.
	BasicOnly bool
	// DefaultClientID is the client a request that names none is taken
	// for, authenticated as by method none; "" refuses such a request. The
	// token endpoint's password and refresh_token grants use the
	// built-in first-party client ("gatehouse"), so that a password login
	// needs no client_id.
	DefaultClientID string
}

// Authenticate identifies and authenticates the client of r under p: it
// parses the credentials ([ParseCredentials]) from the Authorization header
// and form (the body from [oauth.ParseForm]; nil for an endpoint that has
// none), checks them against the client's record, read through the cache —
// a confidential client must present its secret (compared by hash in
// constant time), a public client must not present one — and applies p. It
// returns the client and the method that authenticated it (
// [oauth.AuthNone] for a public client).
//
// Every refusal is an *[oauth.Error]: invalid_client (401) when
// authentication fails, with UseBasic when the request used HTTP Basic or p
// is BasicOnly (RFC 6749 §5.2), and invalid_request for a request that
// mixes methods or repeats a parameter. Any other error is internal (the
// store failed): the caller logs it and answers server_error.
func (a *Authenticator) Authenticate(r *http.Request, form url.Values, p Policy) (store.Client, oauth.AuthMethod, error) {
	if p.BasicOnly {
		form = nil
	}
	cred, oerr := ParseCredentials(r, form)
	if oerr != nil {
		return store.Client{}, "", oerr
	}
	refuse := func(reason string) (store.Client, oauth.AuthMethod, error) {
		e := cred.InvalidClient("%s", reason)
		e.UseBasic = e.UseBasic || p.BasicOnly
		return store.Client{}, "", e
	}
	switch {
	case cred.ID == "" && p.DefaultClientID != "":
		cred = Credentials{ID: p.DefaultClientID, Method: oauth.AuthNone}
	case cred.ID == "":
		return refuse("client authentication is required")
	case p.BasicOnly && cred.Method != oauth.AuthSecretBasic:
		return refuse("the client must authenticate with HTTP Basic")
	}
	c, err := a.Client(r.Context(), cred.ID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("client authentication failed")
	}
	if err != nil {
		return store.Client{}, "", fmt.Errorf("get client: %w", err)
	}
	// One case per kind of proof: a client assertion (private_key_jwt)
	// would be checked here against the client's registered keys.
	method := cred.Method
	switch {
	case c.Public && cred.Secret != "":
		return refuse("public clients do not authenticate with a secret")
	case c.Public:
		method = oauth.AuthNone
	case cred.Secret == "" || !secret.Matches(c.SecretHash, cred.Secret):
		return refuse("client authentication failed")
	}
	if c.Public && !p.Public {
		return refuse("a public client cannot use this endpoint")
	}
	return c, method, nil
}

// Gate returns a check for an endpoint that takes no form, such as the
// revocation feed (revocation.Stream's Authenticate): it authenticates the
// request's client under p, and when that fails writes the refusal (RFC
// 6749 §5.2; internal errors logged to logger and answered server_error)
// and reports false.
func (a *Authenticator) Gate(p Policy, logger *slog.Logger) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		_, _, err := a.Authenticate(r, nil, p)
		if err == nil {
			return true
		}
		oauth.Fail(w, r, logger, "client authentication", err)
		return false
	}
}
