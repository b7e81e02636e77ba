package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/clientauth"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/text"
)

// FirstPartyClientID is the id of the built-in client that the password
// grant uses when a request names no client (as FastAPI's
// OAuth2PasswordRequestForm sends it); the service layer creates it.
const FirstPartyClientID = service.FirstPartyClientID

// Prefixes of the opaque credentials minted here.
const (
	RefreshPrefix = "grt_"
	CodePrefix    = "gac_"
)

// Grant handles one grant_type.
type Grant interface {
	GrantType() oauth.GrantType
	// RequiresClientAuth reports whether a confidential client must
	// authenticate; public clients never can.
	RequiresClientAuth() bool
	Handle(ctx context.Context, req *Request) (*Response, error)
}

// Request is a parsed token request with its authenticated client.
type Request struct {
	Form   url.Values
	Client store.Client
	// Scopes are the parsed `scope` parameter (nil when absent).
	Scopes []string
	Actor  audit.Actor

	// proved is set once the caller proved something (see prove).
	proved bool
	// limit charges the client's budget (Handler.Limit), nil for none.
	limit func() error
}

// prove is called by a grant once the request proved something beyond a
// client_id — a valid refresh token, code and verifier, or password — and
// before it changes any state. A confidential client proved itself with
// its secret before the grant ran; a public client proves nothing by its
// client_id, so its budget is charged only here: junk from anyone must not
// spend it. An error (429) refuses the request.
func (r *Request) prove() error {
	if r.proved {
		return nil
	}
	r.proved = true
	if r.limit == nil {
		return nil
	}
	return r.limit()
}

// Response is a successful token response (RFC 6749 §5.1).
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// Scope is left out when nothing was granted (RFC 6749 §5.1 makes it
	// optional), rather than sent as "".
	Scope string `json:"scope,omitempty"`

	// subject and jti are for the audit event only.
	subject string `json:"-"`
	jti     string `json:"-"`
}

// FailureBudget counts the token endpoint's failed requests per caller
// address. Both methods may set headers on w and return an *oauth.Error
// with status 429 to refuse the request.
type FailureBudget interface {
	// Check refuses when the caller's address has spent its budget; it
	// spends nothing.
	Check(w http.ResponseWriter, r *http.Request) error
	// Spend counts one failed request of the caller's address; it refuses
	// when the budget was spent already.
	Spend(w http.ResponseWriter, r *http.Request) error
}

// Handler serves the token endpoint. Fields are set by the wiring.
type Handler struct {
	Store    store.Store
	Manager  *service.Manager
	Keys     *signing.Keys
	Audit    *audit.Recorder
	Throttle service.LoginThrottle
	Logger   *slog.Logger

	Issuer, Audience string
	AccessTTL        time.Duration
	RefreshTTL       time.Duration // absolute lifetime of a refresh family
	RefreshIdleTTL   time.Duration // a refresh token unused this long expires
	ReuseGrace       time.Duration
	CodeTTL          time.Duration
	// RefreshKey derives a used refresh token's successor (HMAC key).
	RefreshKey []byte
	// PasswordGrant enables the password grant server-wide.
	PasswordGrant bool
	MaxBody       int64
	Now           func() time.Time
	// Limit, when set, is asked whether the client may have a token now,
	// once the request proved itself: for a confidential client after its
	// secret was checked, for a public client only after its grant
	// accepted the refresh token, the code and verifier or the password
	// (Request.prove). It may set headers on w and returns an error (an
	// *oauth.Error with status 429) to refuse.
	Limit func(w http.ResponseWriter, r *http.Request, c store.Client) error
	// Failures, when set, is the budget of failed requests per caller
	// address: a request that fails before it proved anything (unknown
	// client, wrong secret, a public client's invalid refresh token, code
	// or password) spends it, and a public client's request from an
	// address whose budget is spent is refused before its grant runs.
	Failures FailureBudget
	// Observe, when set, learns the outcome and duration of every request
	// (for metrics); grant is "" when the grant type was unusable.
	Observe func(grant string, err error, d time.Duration)
	// Clients authenticates the client of every request (required): the
	// one client-authentication path, with its short cache of records.
	Clients *clientauth.Authenticator
	// Issued, when set, receives successful client_credentials issuances
	// for aggregated audit events instead of one write per token.
	Issued *IssueAggregator
	// LastCutoff, when set, tells the latest second in which the tokens of
	// a user or client were revoked (guard.DenyList.LastCutoff); a token
	// for them is then not minted within that second (see issueTime).
	LastCutoff func(subject, clientID string) (int64, bool)
}

// Routes returns the endpoint and its /token alias. The alias takes what FastAPI's
// OAuth2PasswordRequestForm sends, where grant_type is optional: a request
// there with username and password and no grant_type is the password
// grant; /oauth2/token requires grant_type (RFC 6749 §4.3.2).
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("POST", "/oauth2/token", func(w http.ResponseWriter, r *http.Request) { h.handleToken(w, r, false) }).
			Advertised("token_endpoint"),
		route.Func("POST", "/token", func(w http.ResponseWriter, r *http.Request) { h.handleToken(w, r, true) }),
	}
}

// GrantTypes returns the grant types the endpoint serves, in the order
// discovery lists them.
func (h *Handler) GrantTypes() []string {
	var gs []string
	for _, gt := range []oauth.GrantType{oauth.GrantAuthorizationCode, oauth.GrantClientCredentials,
		oauth.GrantRefreshToken, oauth.GrantPassword} {
		if _, ok := h.grant(gt); ok {
			gs = append(gs, string(gt))
		}
	}
	return gs
}

// grant returns the grant that serves gt, when the endpoint serves it: a
// disabled grant (the password grant with PasswordGrant off) is as unknown
// as a made-up one. Each grant is a pointer-sized value, so this costs no
// allocation.
func (h *Handler) grant(gt oauth.GrantType) (Grant, bool) {
	switch gt {
	case oauth.GrantAuthorizationCode:
		return codeGrant{h}, true
	case oauth.GrantClientCredentials:
		return clientCredentialsGrant{h}, true
	case oauth.GrantRefreshToken:
		return refreshGrant{h}, true
	case oauth.GrantPassword:
		return passwordGrant{h}, h.PasswordGrant
	}
	return nil, false
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return store.Normalize(h.Now())
	}
	return store.Normalize(time.Now())
}

func (h *Handler) handleToken(w http.ResponseWriter, r *http.Request, alias bool) {
	start := time.Now()
	resp, grant, err := h.serve(w, r, alias)
	if h.Observe != nil {
		h.Observe(grant, err, time.Since(start))
	}
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) && secret.Contains(oe.Description) {
			// The description names a value of the request (a scope, a
			// grant type) that holds a credential: not repeated.
			c := *oe
			c.Description = secret.Redact(c.Description)
			err = &c
		}
		oauth.Fail(w, r, h.Logger, "token endpoint", err)
		return
	}
	writeResponse(w, resp)
}

// serve handles one token request (on the /token alias when alias is
// set); grant is the grant type once known.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, alias bool) (resp *Response, grant string, err error) {
	form, oerr := oauth.ParseForm(r, h.MaxBody)
	if oerr != nil {
		return nil, "", oerr
	}
	gt, oerr := grantType(form, alias)
	if oerr != nil {
		return nil, "", oerr
	}
	g, ok := h.grant(oauth.GrantType(gt))
	if !ok {
		return nil, "", oauth.Errorf(oauth.UnsupportedGrantType, "grant_type %q is not supported", text.Clip(gt, 64))
	}
	actor := httpmw.Actor(r)
	client, err := h.authenticateClient(r, form, g)
	if err != nil {
		h.recordFailure(r.Context(), actor, gt, err)
		return nil, gt, h.unproved(w, r, err)
	}
	req := &Request{Form: form, Client: client, Actor: actor}
	if h.Limit != nil {
		req.limit = func() error { return h.Limit(w, r, client) }
	}
	if !client.Public {
		// The secret was the proof.
		if err := req.prove(); err != nil {
			return nil, gt, err
		}
	} else if h.Failures != nil {
		if err := h.Failures.Check(w, r); err != nil {
			return nil, gt, err
		}
	}
	resp, err = h.handle(r.Context(), g, req)
	if err != nil {
		h.recordFailure(r.Context(), actor, gt, err)
		if !req.proved {
			err = h.unproved(w, r, err)
		}
		return nil, gt, err
	}
	if actor.ID == "" {
		actor.ID = client.ID
	}
	if h.Issued != nil && gt == string(oauth.GrantClientCredentials) {
		h.Issued.Issued(client.ID, actor.IP, actor.UserAgent, actor.RequestID, resp.jti)
	} else {
		h.record(r.Context(), actor, audit.TokenIssued, resp.subject, "success", "grant="+gt+" jti="+resp.jti)
	}
	return resp, gt, nil
}

// grantType returns the request's grant_type. On the alias, a request
// without one (absent or empty) that carries a username and a password is
// the password grant.
func grantType(form url.Values, alias bool) (string, *oauth.Error) {
	gt, oerr := oauth.Single(form, "grant_type")
	switch {
	case oerr != nil:
		return "", oerr
	case gt != "":
		return gt, nil
	case alias && form.Get("username") != "" && form.Get("password") != "":
		return string(oauth.GrantPassword), nil
	}
	return "", oauth.Errorf(oauth.InvalidRequest, "missing parameter: grant_type")
}

// handle checks what every grant needs and runs g.
func (h *Handler) handle(ctx context.Context, g Grant, req *Request) (*Response, error) {
	gt := string(g.GrantType())
	if !contains(req.Client.GrantTypes, gt) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "client is not allowed to use grant_type %s", gt)
	}
	if s, oerr := oauth.Single(req.Form, "scope"); oerr != nil {
		return nil, oerr
	} else if s != "" {
		if req.Scopes, oerr = oauth.ParseScope(s); oerr != nil {
			return nil, oerr
		}
	}
	return g.Handle(ctx, req)
}

// unproved answers a request that failed before it proved anything: the
// failure is charged to the caller's address, and once the address's
// budget is spent the answer is its 429 instead of err. Refusals that are
// not the caller's failure (429, 5xx) are not charged.
func (h *Handler) unproved(w http.ResponseWriter, r *http.Request, err error) error {
	var oe *oauth.Error
	if h.Failures == nil || !errors.As(err, &oe) || oe.StatusCode() >= 500 || oe.StatusCode() == http.StatusTooManyRequests {
		return err
	}
	if lerr := h.Failures.Spend(w, r); lerr != nil {
		return lerr
	}
	return err
}

// authenticateClient implements RFC 6749 §2.3 for the token endpoint:
// public clients are welcome, and a password or refresh_token request that
// names no client is the first-party client's.
func (h *Handler) authenticateClient(r *http.Request, form url.Values, g Grant) (store.Client, error) {
	p := clientauth.Policy{Public: true}
	switch g.GrantType() {
	case oauth.GrantPassword, oauth.GrantRefreshToken:
		p.DefaultClientID = FirstPartyClientID
	}
	c, _, err := h.Clients.Authenticate(r, form, p)
	return c, err
}

func (h *Handler) record(ctx context.Context, a audit.Actor, action audit.Action, target, result, reason string) {
	h.Audit.Record(ctx, a.Event(action, target, result, reason))
}

func (h *Handler) recordFailure(ctx context.Context, a audit.Actor, gt string, err error) {
	var oe *oauth.Error
	code := "server_error"
	if errors.As(err, &oe) {
		code = oe.Code
		// Refusals before any password check (too many attempts: 429; the
		// hasher is full: 503) are not written one row each: a flood of
		// guesses would otherwise become a flood of audit writes. The
		// login throttle records them as sampled login.locked events, and
		// the metrics count every one.
		if oe.Status == http.StatusTooManyRequests || oe.Code == oauth.TemporarilyUnavailable {
			return
		}
	}
	h.record(ctx, a, audit.TokenIssued, "", "failure", "grant="+text.Clip(gt, 64)+" error="+code)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
