package authorize

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/httpmw"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/route"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/text"
	"github.com/gatehouse/gatehouse/internal/token"
)

// DefaultSessionTTL is how long a login session lasts when
// [Handler.SessionTTL] is zero.
const DefaultSessionTTL = 12 * time.Hour

// Handler serves the authorization endpoint. Fields are set by the
// wiring; Store, Manager, Issuer and Key are required.
type Handler struct {
	Store   store.Store
	Manager *service.Manager
	// Throttle is the login throttle shared with the password grant; nil
	// means none.
	Throttle service.LoginThrottle
	Audit    *audit.Recorder
	Logger   *slog.Logger

	// Issuer is sent as the iss response parameter (RFC 9207) and decides
	// the cookies' Secure attribute and __Host- prefix (https issuers).
	Issuer string
	// Key MACs the CSRF tokens and the pending requests in the pages; all
	// replicas must share it (derive it from the master secret).
	Key []byte
	// CodeTTL is the lifetime of an authorization code (default 1 minute).
	CodeTTL time.Duration
	// SessionTTL is the lifetime of a login session
	// ([DefaultSessionTTL] when zero).
	SessionTTL time.Duration
	// MaxBody bounds a POST body (default [MaxRequestBytes] plus room for
	// the credentials).
	MaxBody int64
	Now     func() time.Time
}

// Routes returns GET and POST /oauth2/authorize. POST carries either an
// authorization request (OIDC Core §3.1.2.1) or, with a step field, the
// login and consent forms.
func (h *Handler) Routes() []route.Route {
	return []route.Route{
		route.Func("GET", "/oauth2/authorize", h.handleGet).Advertised("authorization_endpoint"),
		route.Func("POST", "/oauth2/authorize", h.handlePost),
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return store.Normalize(h.Now())
	}
	return store.Normalize(time.Now())
}

func (h *Handler) codeTTL() time.Duration {
	if h.CodeTTL > 0 {
		return h.CodeTTL
	}
	return time.Minute
}

func (h *Handler) sessionTTL() time.Duration {
	if h.SessionTTL > 0 {
		return h.SessionTTL
	}
	return DefaultSessionTTL
}

func (h *Handler) handleGet(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > MaxRequestBytes {
		h.renderError(w, &pageError{Status: http.StatusRequestURITooLong, Title: "Invalid authorization request",
			Message: "The request is too large."})
		return
	}
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.renderError(w, badRequest("the query string is malformed"))
		return
	}
	h.authorize(w, r, form)
}

func (h *Handler) handlePost(w http.ResponseWriter, r *http.Request) {
	max := h.MaxBody
	if max <= 0 || max > 2*MaxRequestBytes+8<<10 {
		max = 2*MaxRequestBytes + 8<<10
	}
	form, oerr := oauth.ParseForm(r, max)
	if oerr != nil {
		status := oerr.StatusCode()
		h.renderError(w, &pageError{Status: status, Title: "Invalid request", Message: oerr.Description})
		return
	}
	switch step := form.Get("step"); step {
	case "":
		h.authorize(w, r, form)
	case stepLogin:
		h.handleLogin(w, r, form)
	case stepConsent:
		h.handleConsent(w, r, form)
	default:
		h.renderError(w, badRequest("unknown form"))
	}
}

// fail answers an error of parse or of a later step.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	var re *redirectError
	switch {
	case errors.As(err, &pe):
		h.renderError(w, pe)
	case errors.As(err, &re):
		h.redirect(w, r, re.req, re.err.Values())
	default:
		if h.Logger != nil {
			h.Logger.ErrorContext(r.Context(), "authorize", "err", err)
		}
		h.renderError(w, &pageError{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "The server could not complete the request. Try again later."})
	}
}

// redirect sends the browser back to the validated redirect URI with the
// response parameters, the state and the issuer (RFC 6749 §4.1.2,
// RFC 9207 §2). After a form post it is 303, so the browser does not post
// the form to the client (RFC 9700 §4.11).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, req *request, v url.Values) {
	if d := v.Get("error_description"); d != "" {
		// It may name a value of the request (a scope): never a credential.
		v.Set("error_description", secret.Redact(d))
	}
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", h.Issuer)
	noStore(w)
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", oauth.AppendQuery(req.RedirectURI, v))
	w.WriteHeader(status)
}

// authorize handles an authorization request, by GET or POST.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, form url.Values) {
	ctx := r.Context()
	req, err := h.parse(ctx, form)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sess, user, err := h.session(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.now()
	if sess == nil || req.prompt("login") || req.prompt("select_account") ||
		(req.MaxAge >= 0 && now.Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second) {
		if req.prompt("none") {
			h.redirect(w, r, req, oauth.Errorf(oauth.LoginRequired, "the user is not logged in").Values())
			return
		}
		h.showLogin(w, r, req, "", "", http.StatusOK)
		return
	}
	h.proceed(w, r, req, sess, user)
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, req *request, username, msg string, status int) {
	pre := h.preSession(w, r)
	q := cloneValues(req.Values)
	// After the login the user must not be asked again.
	q.Del("prompt")
	q.Del("max_age")
	if secret.Contains(username) {
		username = "" // a key or token typed as a username is not shown again
	}
	h.render(w, status, "login", pageData{
		Title: "Sign in", ClientName: req.Client.Name, CSRF: h.csrfToken(pre),
		Request: h.seal(pre, pending{Step: stepLogin, Query: q.Encode()}), Username: username, Error: msg,
	}, req.RedirectURI)
}

// session returns the request's login session and its user, or nil when
// there is none or it is no longer valid (expired, user gone or disabled).
func (h *Handler) session(ctx context.Context, r *http.Request) (*store.Session, store.User, error) {
	v := h.cookie(r, sessionCookie)
	if v == "" {
		return nil, store.User{}, nil
	}
	hash := sessionHash(v)
	s, err := h.Store.GetSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.User{}, nil
	}
	if err != nil {
		return nil, store.User{}, fmt.Errorf("get session: %w", err)
	}
	if !h.now().Before(s.ExpiresAt) {
		_ = h.Store.DeleteSession(ctx, hash)
		return nil, store.User{}, nil
	}
	u, err := h.Store.GetUser(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		_ = h.Store.DeleteSession(ctx, hash)
		return nil, store.User{}, nil
	}
	if err != nil {
		return nil, store.User{}, fmt.Errorf("get session user: %w", err)
	}
	return &s, u, nil
}

func sessionHash(v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}

// grantable returns the scopes the request gets for user: the requested
// ones, each allowed to the client and held by the user or an OIDC
// protocol scope (RFC 6749 §3.3), or the user's own scopes within the
// client's when none was requested.
func grantable(req *request, u store.User) ([]string, *oauth.Error) {
	return oauth.NarrowForUser(req.Scopes, u.Scopes, req.Client.Scopes)
}

// proceed continues a valid request for a logged-in user: consent, then
// the code.
func (h *Handler) proceed(w http.ResponseWriter, r *http.Request, req *request, sess *store.Session, u store.User) {
	ctx := r.Context()
	scopes, oerr := grantable(req, u)
	if oerr != nil {
		h.redirect(w, r, req, oerr.Values())
		return
	}
	need, err := h.needsConsent(ctx, req, u, scopes)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if need {
		if req.prompt("none") {
			h.redirect(w, r, req, oauth.Errorf(oauth.ConsentRequired, "the user has not consented").Values())
			return
		}
		pre := h.preSession(w, r)
		host := req.RedirectURI
		if pu, err := url.Parse(req.RedirectURI); err == nil && pu.Host != "" {
			host = pu.Host
		}
		q := cloneValues(req.Values)
		q.Del("prompt")
		q.Del("max_age")
		h.render(w, http.StatusOK, "consent", pageData{
			Title: "Allow access", ClientName: req.Client.Name, Username: u.Username, CSRF: h.csrfToken(pre),
			Request: h.seal(pre, pending{Step: stepConsent, Query: q.Encode(), User: u.ID,
				Scopes: oauth.ScopeString(scopes)}),
			Scopes: describe(scopes), RedirectHost: host,
		}, req.RedirectURI)
		return
	}
	h.issueCode(w, r, req, sess, u, scopes)
}

// needsConsent: the first-party client never asks; others ask unless the
// user already granted this client at least these scopes, or the request
// says prompt=consent. A public client redirecting to a loopback address
// or a private-use scheme always asks: any local program can claim those
// and start a request with the app's public client_id, so a remembered
// consent must not hand it a code without the user seeing the page (RFC
// 8252 §8.6; an https redirect, or a confidential client's secret, assures
// the client's identity).
func (h *Handler) needsConsent(ctx context.Context, req *request, u store.User, scopes []string) (bool, error) {
	if req.Client.FirstParty {
		return false, nil
	}
	if req.prompt("consent") || (req.Client.Public && oauth.ClaimableRedirect(req.RedirectURI)) {
		return true, nil
	}
	c, err := h.Store.GetConsent(ctx, u.ID, req.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get consent: %w", err)
	}
	return !oauth.Subset(scopes, c.Scopes), nil
}

// issueCode stores a new authorization code and redirects with it.
func (h *Handler) issueCode(w http.ResponseWriter, r *http.Request, req *request, sess *store.Session, u store.User, scopes []string) {
	now := h.now()
	value, _ := secret.Mint(token.CodePrefix)
	c := store.AuthCode{
		Hash: secret.Hash(value), ClientID: req.Client.ID, UserID: u.ID, RedirectURI: req.RedirectURI,
		Scopes: scopes, Nonce: req.Nonce, AuthTime: sess.AuthTime, CreatedAt: now,
		ExpiresAt: now.Add(h.codeTTL()), GrantID: store.NewID(),
	}
	if req.Challenge != "" {
		c.CodeChallenge, c.CodeChallengeMethod = req.Challenge, req.Method
	}
	if err := h.Store.CreateAuthCode(r.Context(), c); err != nil {
		h.fail(w, r, fmt.Errorf("store code: %w", err))
		return
	}
	a := httpmw.Actor(r)
	a.ID = u.ID
	h.record(r.Context(), a, audit.CodeIssued, req.Client.ID, audit.ResultSuccess, "grant="+c.GrantID)
	h.redirect(w, r, req, url.Values{"code": {value}})
}

func (h *Handler) record(ctx context.Context, a audit.Actor, action audit.Action, target, result, reason string) {
	h.Audit.Record(ctx, a.Event(action, target, result, reason))
}

// formStep checks a form's CSRF token and pending request and re-validates
// the request it carries. ok is false when a response was written.
func (h *Handler) formStep(w http.ResponseWriter, r *http.Request, form url.Values, step string) (*request, pending, bool) {
	pre, ok := h.checkCSRF(r, form.Get("csrf_token"))
	if !ok {
		h.renderError(w, &pageError{Status: http.StatusForbidden, Title: "Form expired",
			Message: "The form could not be verified (CSRF check failed). Go back to the application and start again."})
		return nil, pending{}, false
	}
	p, err := h.unseal(pre, step, form.Get("request"))
	if err != nil {
		h.renderError(w, &pageError{Status: http.StatusForbidden, Title: "Form expired",
			Message: "The form is invalid or has expired. Go back to the application and start again."})
		return nil, pending{}, false
	}
	q, err := url.ParseQuery(p.Query)
	if err != nil {
		h.renderError(w, badRequest("the form is invalid"))
		return nil, pending{}, false
	}
	req, err := h.parse(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return nil, pending{}, false
	}
	return req, p, true
}

// handleLogin checks the login form.
func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request, form url.Values) {
	req, _, ok := h.formStep(w, r, form, stepLogin)
	if !ok {
		return
	}
	if form.Get("cancel") != "" {
		h.redirect(w, r, req, oauth.Errorf(oauth.AccessDenied, "the user cancelled the login").Values())
		return
	}
	username, pw := form.Get("username"), form.Get("password")
	if username == "" || pw == "" || len(username) > 256 || len(pw) > 1024 {
		h.showLogin(w, r, req, text.Clip(username, 256), "Enter your username and password.", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	u, err := h.Manager.Login(ctx, httpmw.Actor(r), h.Throttle, username, pw)
	var te *service.ThrottledError
	switch {
	case errors.Is(err, service.ErrBadCredentials):
		h.showLogin(w, r, req, username, "Invalid username or password.", http.StatusUnauthorized)
		return
	case errors.As(err, &te):
		setRetryAfter(w, te.RetryAfter)
		h.showLogin(w, r, req, username, "Too many failed logins. Try again later.", http.StatusTooManyRequests)
		return
	case errors.Is(err, service.ErrBusy):
		setRetryAfter(w, service.BusyRetryAfter(err))
		h.showLogin(w, r, req, username, "The server is busy. Try again in a moment.", http.StatusServiceUnavailable)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	sess, err := h.startSession(w, r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.proceed(w, r, req, sess, u)
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}

// startSession replaces the browser's login session with a new one for u
// (a fresh random value, so a planted cookie cannot fix the session).
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u store.User) (*store.Session, error) {
	ctx := r.Context()
	if old := h.cookie(r, sessionCookie); old != "" {
		if err := h.Store.DeleteSession(ctx, sessionHash(old)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("delete old session: %w", err)
		}
	}
	now := h.now()
	v := randomValue()
	s := store.Session{Hash: sessionHash(v), UserID: u.ID, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(h.sessionTTL())}
	if err := h.Store.CreateSession(ctx, s); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	h.setCookie(w, sessionCookie, v, s.ExpiresAt)
	return &s, nil
}

// handleConsent applies the consent form's decision.
func (h *Handler) handleConsent(w http.ResponseWriter, r *http.Request, form url.Values) {
	req, p, ok := h.formStep(w, r, form, stepConsent)
	if !ok {
		return
	}
	ctx := r.Context()
	sess, u, err := h.session(ctx, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if sess == nil || u.ID != p.User {
		// Logged out (or in as someone else) since the page was shown:
		// start over, which shows the login page.
		noStore(w)
		w.Header().Set("Location", "authorize?"+req.Values.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	a := httpmw.Actor(r)
	a.ID = u.ID
	switch form.Get("consent") {
	case "allow":
	case "deny":
		h.record(ctx, a, audit.ConsentDenied, req.Client.ID, audit.ResultSuccess, "")
		h.redirect(w, r, req, oauth.Errorf(oauth.AccessDenied, "the user denied the request").Values())
		return
	default:
		h.renderError(w, badRequest("choose Allow or Deny"))
		return
	}
	// The scopes come from the sealed request and the user's current
	// scopes, never from the form; they must still be what the page showed.
	scopes, oerr := grantable(req, u)
	if oerr != nil {
		h.redirect(w, r, req, oerr.Values())
		return
	}
	if oauth.ScopeString(scopes) != p.Scopes {
		h.renderError(w, &pageError{Status: http.StatusConflict, Title: "Permissions changed",
			Message: "Your permissions changed since the page was shown. Go back to the application and start again."})
		return
	}
	if !req.Client.FirstParty {
		remembered := scopes
		if old, err := h.Store.GetConsent(ctx, u.ID, req.Client.ID); err == nil {
			remembered = append(slices.Clone(old.Scopes), scopes...)
			remembered = slices.Compact(sortedCopy(remembered))
		}
		if err := h.Store.PutConsent(ctx, store.Consent{UserID: u.ID, ClientID: req.Client.ID, Scopes: remembered, CreatedAt: h.now()}); err != nil {
			h.fail(w, r, fmt.Errorf("store consent: %w", err))
			return
		}
		h.record(ctx, a, audit.ConsentGranted, req.Client.ID, audit.ResultSuccess, "scope="+text.Clip(oauth.ScopeString(scopes), 200))
	}
	h.issueCode(w, r, req, sess, u, scopes)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}
