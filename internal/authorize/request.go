package authorize

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits on the authorization request.
const (
	// MaxRequestBytes bounds the whole encoded authorization request (the
	// query string, or the body of a POST).
	MaxRequestBytes = 8 << 10
	maxClientIDLen  = 128
	maxStateLen     = 1024
	maxNonceLen     = 512
)

// params are the authorization request parameters gatehouse reads; only
// these are kept in the pending request carried by the pages.
var params = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "response_mode",
}

// request is a validated authorization request.
type request struct {
	Client      store.Client
	RedirectURI string // as sent, and registered (RFC 6749 §3.1.2.3)
	State       string
	Nonce       string
	Scopes      []string // requested; nil = every scope the client and user may have
	Challenge   string
	Method      string
	Prompt      []string
	MaxAge      int // seconds; -1 = not sent
	// Values are the known parameters, to carry through the pages.
	Values url.Values
}

func (r *request) prompt(p string) bool { return slices.Contains(r.Prompt, p) }

// pageError is an error shown on the error page: the client or its
// redirect URI could not be trusted, so nothing is redirected.
type pageError struct {
	Status  int
	Title   string
	Message string
	cause   error
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.Title + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Title + ": " + e.Message
}

func (e *pageError) Unwrap() error { return e.cause }

func badRequest(format string, args ...any) *pageError {
	return &pageError{Status: 400, Title: "Invalid authorization request", Message: fmt.Sprintf(format, args...)}
}

// redirectError is an error sent to the validated redirect URI.
type redirectError struct {
	req *request
	err *oauth.Error
}

func (e *redirectError) Error() string { return e.err.Error() }

// parse validates an authorization request (RFC 6749 §4.1.1, RFC 7636
// §4.3, OIDC Core §3.1.2.1). It returns a *pageError while the client
// and redirect URI are not established, and a *redirectError after; any
// other error is internal.
func (h *Handler) parse(ctx context.Context, form url.Values) (*request, error) {
	for name, vs := range form {
		if slices.Contains(params, name) && len(vs) > 1 {
			// RFC 6749 §3.1: parameters must not be included more than
			// once. Before the redirect URI is trusted, a page.
			switch name {
			case "client_id", "redirect_uri", "state":
				return nil, badRequest("the parameter %s was sent more than once", name)
			}
		}
	}
	clientID, oerr := oauth.Required(form, "client_id")
	if oerr != nil {
		return nil, badRequest("%s", oerr.Description)
	}
	if len(clientID) > maxClientIDLen {
		return nil, badRequest("unknown client")
	}
	client, err := h.Store.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &pageError{Status: 400, Title: "Unknown application",
			Message: "The application that sent you here is not registered with this server."}
	}
	if err != nil {
		return nil, fmt.Errorf("get client: %w", err)
	}
	sent, oerr := oauth.Required(form, "redirect_uri")
	if oerr != nil {
		// OIDC Core §3.1.2.1 requires it, and so does gatehouse for plain
		// OAuth2: the code is then bound to a URI the client must repeat.
		return nil, badRequest("%s", oerr.Description)
	}
	redirect, ok := oauth.MatchRedirectURI(client.RedirectURIs, sent)
	if !ok {
		return nil, &pageError{Status: 400, Title: "Invalid redirect URI",
			Message: "The redirect URI is not registered for this application, so you were not sent back to it."}
	}
	state, _ := oauth.Single(form, "state")
	if len(state) > maxStateLen {
		return nil, badRequest("state is longer than %d characters", maxStateLen)
	}
	req := &request{Client: client, RedirectURI: redirect, State: state, MaxAge: -1, Values: url.Values{}}
	for _, p := range params {
		if v := form.Get(p); v != "" {
			req.Values.Set(p, v)
		}
	}
	fail := func(code, format string, args ...any) (*request, error) {
		return nil, &redirectError{req: req, err: oauth.Errorf(code, format, args...)}
	}
	for _, p := range params {
		if _, oerr := oauth.Single(form, p); oerr != nil {
			return fail(oauth.InvalidRequest, "duplicate parameter: %s", p)
		}
	}
	if form.Get("request") != "" {
		return fail("request_not_supported", "request objects are not supported")
	}
	if form.Get("request_uri") != "" {
		return fail("request_uri_not_supported", "request_uri is not supported")
	}
	switch rt := form.Get("response_type"); rt {
	case "":
		return fail(oauth.InvalidRequest, "missing parameter: response_type")
	case string(oauth.ResponseTypeCode):
	default:
		return fail(oauth.UnsupportedResponseType, "only response_type=code is supported")
	}
	if rm := form.Get("response_mode"); rm != "" && rm != "query" {
		return fail(oauth.InvalidRequest, "only response_mode=query is supported")
	}
	if !slices.Contains(client.GrantTypes, string(oauth.GrantAuthorizationCode)) {
		return fail(oauth.UnauthorizedClient, "the client may not use the authorization code grant")
	}
	if s := form.Get("scope"); s != "" {
		scopes, oerr := oauth.ParseScope(s)
		if oerr != nil {
			return nil, &redirectError{req: req, err: oerr}
		}
		if len(client.Scopes) > 0 {
			for _, sc := range scopes {
				if !slices.Contains(client.Scopes, sc) {
					return fail(oauth.InvalidScope, "scope not allowed for this client: %s", sc)
				}
			}
		}
		req.Scopes = scopes
	}
	req.Challenge, req.Method = form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case req.Challenge == "" && req.Method != "":
		return fail(oauth.InvalidRequest, "code_challenge_method sent without code_challenge")
	case req.Challenge == "" && client.Public:
		// RFC 9700 §2.1.1: PKCE is required for public clients.
		return fail(oauth.InvalidRequest, "code_challenge is required (PKCE with S256)")
	case req.Challenge != "":
		if oerr := oauth.ValidChallenge(req.Challenge, req.Method); oerr != nil {
			return nil, &redirectError{req: req, err: oerr}
		}
	}
	req.Nonce = form.Get("nonce")
	if len(req.Nonce) > maxNonceLen {
		return fail(oauth.InvalidRequest, "nonce is longer than %d characters", maxNonceLen)
	}
	if p := form.Get("prompt"); p != "" {
		req.Prompt = strings.Fields(p)
		for _, v := range req.Prompt {
			switch v {
			case "none", "login", "consent", "select_account":
			default:
				return fail(oauth.InvalidRequest, "unsupported prompt value")
			}
		}
		if req.prompt("none") && len(req.Prompt) > 1 {
			return fail(oauth.InvalidRequest, "prompt=none cannot be combined with other values")
		}
	}
	if ma := form.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 {
			return fail(oauth.InvalidRequest, "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = n
	}
	return req, nil
}
