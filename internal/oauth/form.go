package oauth

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// DefaultMaxFormBytes is the body limit [ParseForm] applies when it is
// given none.
const DefaultMaxFormBytes = 64 << 10

// ParseForm reads the application/x-www-form-urlencoded body of a request
// to a token-style endpoint (token, revoke, introspect) and returns its
// parameters. It reads at most maxBytes (<= 0 means
// [DefaultMaxFormBytes]).
//
// The method must be POST and the media type
// application/x-www-form-urlencoded; parameters of the content type are
// allowed, but a charset other than UTF-8 is not (RFC 6749 Appendix B).
// Query-string parameters are ignored entirely: RFC 6749 §3.2 puts them in
// the body, and credentials in a URL leak into logs. ParseForm does not
// touch r.Form or r.PostForm.
//
// Every failure is invalid_request: a wrong method or content type, a body
// that cannot be read or is malformed, or a name or value that is not valid
// UTF-8. An oversized body also gets status 413.
func ParseForm(r *http.Request, maxBytes int64) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		return nil, Errorf(InvalidRequest, "the request method must be POST")
	}
	if err := checkFormContentType(r.Header.Values("Content-Type")); err != nil {
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFormBytes
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return nil, bodyTooLarge()
		case err != nil:
			return nil, Errorf(InvalidRequest, "the request body could not be read").Wrap(err)
		case int64(len(body)) > maxBytes:
			return nil, bodyTooLarge()
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, Errorf(InvalidRequest, "the request body is not a valid form").Wrap(err)
	}
	for name, values := range form {
		if !utf8.ValidString(name) {
			return nil, Errorf(InvalidRequest, "a parameter name is not valid UTF-8")
		}
		if strings.IndexByte(name, 0) >= 0 {
			return nil, Errorf(InvalidRequest, "a parameter name holds a NUL byte")
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return nil, Errorf(InvalidRequest, "a parameter value is not valid UTF-8")
			}
			// No parameter means a NUL, and PostgreSQL text cannot hold one.
			if strings.IndexByte(v, 0) >= 0 {
				return nil, Errorf(InvalidRequest, "a parameter value holds a NUL byte")
			}
		}
	}
	return form, nil
}

func bodyTooLarge() *Error {
	e := Errorf(InvalidRequest, "the request body is too large")
	e.Status = http.StatusRequestEntityTooLarge
	return e
}

func checkFormContentType(values []string) *Error {
	if len(values) != 1 {
		return Errorf(InvalidRequest, "the content type must be application/x-www-form-urlencoded")
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return Errorf(InvalidRequest, "the content type must be application/x-www-form-urlencoded")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return Errorf(InvalidRequest, "the form must be encoded as UTF-8")
	}
	return nil
}

// Single returns the one value of parameter name, or "" when it is absent.
// A parameter sent without a value counts as absent (RFC 6749 §3.1), and
// one sent more than once is invalid_request (RFC 6749 §3.1, §3.2).
func Single(form url.Values, name string) (string, *Error) {
	var (
		value string
		n     int
	)
	for _, v := range form[name] {
		if v == "" {
			continue
		}
		value = v
		n++
	}
	if n > 1 {
		return "", Errorf(InvalidRequest, "duplicate parameter: %s", name)
	}
	return value, nil
}

// Required is [Single] for a parameter that must be present: a missing or
// empty one is invalid_request.
func Required(form url.Values, name string) (string, *Error) {
	v, err := Single(form, name)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", Errorf(InvalidRequest, "missing parameter: %s", name)
	}
	return v, nil
}

// Params reads parameters one after another and keeps the first error, so
// a request parser can read every field and check once:
//
//	p := oauth.NewParams(form)
//	code := p.Required("code")
//	redirect := p.Get("redirect_uri")
//	if err := p.Err(); err != nil { … }
//
// After an error, Get and Required return "".
type Params struct {
	form url.Values
	err  *Error
}

// NewParams returns a Params reading form.
func NewParams(form url.Values) *Params { return &Params{form: form} }

// Get returns the value of an optional parameter, as [Single].
func (p *Params) Get(name string) string { return p.read(name, Single) }

// Required returns the value of a required parameter, as [Required].
func (p *Params) Required(name string) string { return p.read(name, Required) }

func (p *Params) read(name string, f func(url.Values, string) (string, *Error)) string {
	if p.err != nil {
		return ""
	}
	v, err := f(p.form, name)
	if err != nil {
		p.err = err
	}
	return v
}

// Err returns the first error met by Get or Required, or nil.
func (p *Params) Err() *Error { return p.err }
