package authorize

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Cookie base names; see [Handler.cookieName].
const (
	csrfCookie    = "csrf"
	sessionCookie = "session"
)

// randomValue returns 32 random bytes, base64url without padding
// (43 characters): the value of the CSRF and session cookies.
func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// wellFormed reports whether v looks like a [randomValue].
func wellFormed(v string) bool {
	if len(v) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil
}

// secure reports whether cookies get the Secure attribute and the
// __Host- prefix: when the issuer is https. A plain-http issuer is a
// loopback development or test setup, where a Secure cookie would not be
// sent back.
func (h *Handler) secure() bool { return strings.HasPrefix(h.Issuer, "https://") }

// cookieName is __Host-gatehouse-NAME over https (a host-only, Secure,
// Path=/ cookie that a sibling subdomain cannot set), gatehouse_NAME
// otherwise.
func (h *Handler) cookieName(name string) string {
	if h.secure() {
		return "__Host-gatehouse-" + name
	}
	return "gatehouse_" + name
}

// setCookie sets an HttpOnly, SameSite=Lax cookie on Path=/; expires zero
// means a browser-session cookie, a past time deletes it.
func (h *Handler) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{
		Name: h.cookieName(name), Value: value, Path: "/",
		Secure: h.secure(), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if !expires.IsZero() {
		c.Expires = expires
		if !expires.After(h.now()) {
			c.MaxAge = -1
		}
	}
	http.SetCookie(w, c)
}

// cookie returns a well-formed cookie value or "".
func (h *Handler) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(h.cookieName(name))
	if err != nil || !wellFormed(c.Value) {
		return ""
	}
	return c.Value
}

// preSession returns the CSRF cookie's value, setting a new one when the
// request has none.
func (h *Handler) preSession(w http.ResponseWriter, r *http.Request) string {
	if v := h.cookie(r, csrfCookie); v != "" {
		return v
	}
	v := randomValue()
	h.setCookie(w, csrfCookie, v, time.Time{})
	return v
}

func (h *Handler) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, h.Key)
	for _, p := range parts {
		// Length-prefixed so that parts cannot run into each other.
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// csrfToken is the synchronizer token of the forms: an HMAC of the
// pre-session cookie, so it is worthless without that cookie and cannot
// be computed without the server's key.
func (h *Handler) csrfToken(preSession string) string {
	return base64.RawURLEncoding.EncodeToString(h.mac("gatehouse csrf", preSession))
}

// checkCSRF verifies the form's csrf_token against the request's
// pre-session cookie in constant time.
func (h *Handler) checkCSRF(r *http.Request, token string) (preSession string, ok bool) {
	preSession = h.cookie(r, csrfCookie)
	if preSession == "" || token == "" {
		return "", false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", false
	}
	return preSession, hmac.Equal(got, h.mac("gatehouse csrf", preSession))
}

// pending is the authorization request a page was rendered for, carried
// in the form so that the server keeps no state before login.
type pending struct {
	Step    string `json:"s"`           // stepLogin or stepConsent
	Query   string `json:"q"`           // the request's known parameters, URL-encoded
	User    string `json:"u,omitempty"` // consent: the user the page was shown to
	Scopes  string `json:"g,omitempty"` // consent: the scopes shown
	Expires int64  `json:"e"`           // Unix seconds
}

const (
	stepLogin   = "login"
	stepConsent = "consent"
	// pendingTTL is how long a page may be left open before it is
	// submitted.
	pendingTTL = 30 * time.Minute
)

var errBadPending = errors.New("the form is invalid or has expired")

// seal encodes p with a MAC bound to the pre-session cookie.
func (h *Handler) seal(preSession string, p pending) string {
	p.Expires = h.now().Add(pendingTTL).Unix()
	b, _ := json.Marshal(p)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(h.mac("gatehouse pending", preSession, payload))
}

// unseal checks the MAC, the step and the expiry of a sealed pending
// request.
func (h *Handler) unseal(preSession, step, sealed string) (pending, error) {
	payload, sig, ok := strings.Cut(sealed, ".")
	if !ok {
		return pending{}, errBadPending
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac("gatehouse pending", preSession, payload)) {
		return pending{}, errBadPending
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return pending{}, errBadPending
	}
	var p pending
	if err := json.Unmarshal(b, &p); err != nil || p.Step != step || h.now().Unix() > p.Expires {
		return pending{}, errBadPending
	}
	return p, nil
}
