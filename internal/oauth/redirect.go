package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxRedirectURILen bounds a redirect URI at registration.
const MaxRedirectURILen = 2000

// MatchRedirectURI returns the redirect URI to use for a request that sent
// got, and whether got is allowed for a client that registered registered
// (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3). The comparison is an exact string
// comparison — no case folding, no normalisation, so a trailing slash,
// an extra path segment, another port or another case does not match —
// with one exception: for a loopback IP redirect URI (http://127.0.0.1 or
// http://[::1]) the port may differ, as native apps pick it at run time
// (RFC 8252 §7.3). The result is then got, which differs from a registered
// URI only in its port; otherwise it is the registered string.
//
// A got that does not parse as an absolute URI, or that carries a fragment
// or userinfo, never matches.
func MatchRedirectURI(registered []string, got string) (string, bool) {
	if !plausibleRedirect(got) {
		return "", false
	}
	for _, r := range registered {
		if r == got {
			return r, true
		}
	}
	gotHost, gotRest, ok := splitLoopback(got)
	if !ok {
		return "", false
	}
	for _, r := range registered {
		host, rest, ok := splitLoopback(r)
		if ok && host == gotHost && rest == gotRest && plausibleRedirect(r) {
			return got, true
		}
	}
	return "", false
}

// plausibleRedirect reports whether s parses as an absolute URI without a
// fragment or userinfo.
func plausibleRedirect(s string) bool {
	if s == "" || strings.Contains(s, "#") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && u.User == nil
}

// splitLoopback splits a loopback IP redirect URI into its scheme and host
// ("http://127.0.0.1") and what follows the port ("/cb?x=1"). The port, if
// any, must be a decimal number from 1 to 65535, and what follows must be
// empty or start with '/' or '?', so "http://127.0.0.1.evil.example" and
// "http://127.0.0.1@evil.example" are not loopback URIs.
//
// "localhost" is deliberately not a loopback URI here: RFC 8252 §8.3 does not
// recommend it (it may resolve elsewhere), so it matches exactly only.
func splitLoopback(s string) (host, rest string, ok bool) {
	for _, p := range [...]string{"http://127.0.0.1", "http://[::1]"} {
		if !strings.HasPrefix(s, p) {
			continue
		}
		rest = s[len(p):]
		if port, ok := strings.CutPrefix(rest, ":"); ok {
			n := 0
			for n < len(port) && port[n] >= '0' && port[n] <= '9' {
				n++
			}
			if !validPort(port[:n]) {
				return "", "", false
			}
			rest = port[n:]
		}
		if rest != "" && rest[0] != '/' && rest[0] != '?' {
			return "", "", false
		}
		return p, rest, true
	}
	return "", "", false
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// ClaimableRedirect reports whether any program on the user's device could
// receive a code sent to redirect, so that the code proves nothing about
// which app asked for it: an http loopback URI (any local program can
// listen on the port) or a private-use URI scheme (any app can register
// it). Only an https redirect URI is bound to its owner (RFC 8252 §8.6).
func ClaimableRedirect(redirect string) bool {
	scheme, _, _ := strings.Cut(redirect, ":")
	return scheme != "https"
}

// ValidRedirectURI checks a redirect URI at client registration. It must
// be an absolute URI of at most [MaxRedirectURILen] bytes, without a
// fragment (RFC 6749 §3.1.2), userinfo, whitespace or control characters,
// with a lower-case scheme and host (matching is exact, so only the
// canonical form can ever match), and one of:
//   - https with a host;
//   - http on a loopback address: 127.0.0.1 or [::1] (any port matches,
//     RFC 8252 §7.3), or localhost (exact match only, RFC 8252 §8.3);
//   - a private-use scheme named as a reverse domain, such as
//     com.example.app:/callback (RFC 8252 §7.1).
func ValidRedirectURI(s string) error {
	if s == "" {
		return errors.New("redirect URI is empty")
	}
	if len(s) > MaxRedirectURILen {
		return fmt.Errorf("redirect URI is longer than %d bytes", MaxRedirectURILen)
	}
	if strings.Contains(s, "#") {
		return errors.New("redirect URI must not contain a fragment")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return errors.New("redirect URI must not contain whitespace, control or non-ASCII characters")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parse redirect URI: %w", err)
	}
	if !u.IsAbs() {
		return errors.New("redirect URI must be absolute")
	}
	if !strings.HasPrefix(s, u.Scheme+":") {
		return errors.New("redirect URI scheme must be lower-case")
	}
	if u.User != nil {
		return errors.New("redirect URI must not contain userinfo")
	}
	switch u.Scheme {
	case "https":
		if u.Opaque != "" || u.Hostname() == "" {
			return errors.New("https redirect URI must have a host")
		}
	case "http":
		if u.Opaque != "" {
			return errors.New("http redirect URI must have a host")
		}
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
		default:
			return errors.New("http redirect URI must use a loopback address (127.0.0.1, [::1] or localhost); use https")
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("redirect URI scheme %q is neither https, loopback http nor a reverse-domain private-use scheme", u.Scheme)
		}
		return nil
	}
	if u.Host != strings.ToLower(u.Host) {
		return errors.New("redirect URI host must be lower-case")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if !validPort(p) {
			return errors.New("redirect URI port must be a number from 1 to 65535")
		}
	}
	return nil
}

// AppendQuery returns redirect with params added to its query, keeping the
// query the registered URI already has (RFC 6749 §3.1.2). The existing
// query is kept byte for byte; params are encoded in key order. An existing
// fragment, which registered URIs cannot have, is kept after the query.
func AppendQuery(redirect string, params url.Values) string {
	if len(params) == 0 {
		return redirect
	}
	base, frag, hasFrag := strings.Cut(redirect, "#")
	enc := params.Encode()
	switch {
	case !strings.Contains(base, "?"):
		base += "?" + enc
	case strings.HasSuffix(base, "?"), strings.HasSuffix(base, "&"):
		base += enc
	default:
		base += "&" + enc
	}
	if hasFrag {
		base += "#" + frag
	}
	return base
}
