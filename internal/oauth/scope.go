package oauth

import (
	"slices"
	"strings"
)

// Limits [ParseScope] applies to a scope parameter.
const (
	MaxScopes   = 64  // distinct scope tokens
	MaxScopeLen = 128 // bytes per scope token
)

// ValidScopeToken reports whether s is a scope-token of RFC 6749 §3.3: one
// or more of %x21 / %x23-5B / %x5D-7E (printable ASCII except space, '"'
// and '\'), at most [MaxScopeLen] bytes.
func ValidScopeToken(s string) bool {
	if s == "" || len(s) > MaxScopeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ParseScope parses a space-separated scope parameter (RFC 6749 §3.3) into
// its tokens, in order, without duplicates. Runs of spaces are tolerated;
// "" gives nil. A token outside the scope-token syntax, one longer than
// [MaxScopeLen] or more than [MaxScopes] distinct tokens give
// invalid_scope.
func ParseScope(s string) ([]string, *Error) {
	var out []string
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			continue
		}
		if len(tok) > MaxScopeLen {
			return nil, Errorf(InvalidScope, "a scope is longer than %d characters", MaxScopeLen)
		}
		if !ValidScopeToken(tok) {
			return nil, Errorf(InvalidScope, "a scope contains characters RFC 6749 does not allow")
		}
		if slices.Contains(out, tok) {
			continue
		}
		if len(out) == MaxScopes {
			return nil, Errorf(InvalidScope, "more than %d scopes requested", MaxScopes)
		}
		out = append(out, tok)
	}
	return out, nil
}

// ScopeString renders scopes as the space-separated scope parameter.
func ScopeString(scopes []string) string { return strings.Join(scopes, " ") }

// Subset reports whether every scope in want is in have. An empty want is
// a subset of anything.
func Subset(want, have []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// Intersect returns the scopes of a that are also in b, in a's order and
// without duplicates. It returns nil when there are none.
func Intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Narrow applies RFC 6749 §3.3 to a request: no requested scope means every
// allowed one (a copy of allowed); otherwise every requested scope must be
// allowed, and the result is requested without duplicates. A requested
// scope that is not allowed gives invalid_scope naming it. An empty allowed
// list allows nothing: a caller whose policy is "anything" must pass the
// full list.
func Narrow(requested, allowed []string) ([]string, *Error) {
	if len(requested) == 0 {
		return slices.Clone(allowed), nil
	}
	out := make([]string, 0, len(requested))
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return nil, Errorf(InvalidScope, "scope not allowed: %s", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// OIDCScopes are the OpenID Connect scopes that ask for protocol behaviour
// rather than for a permission: "openid" (an ID token and userinfo),
// "profile" (name claims) and "offline_access" (a refresh token next to an
// ID token). Every user may be granted them when a client asks, within the
// client's registered scopes (OIDC Core §3.1.2.1, §5.4, §11); they are not
// part of what a request without a scope parameter gets.
var OIDCScopes = []string{"openid", "profile", "offline_access"}

// UserScopes returns what a user holds for the purpose of a grant: the
// user's own scopes plus OIDCScopes.
func UserScopes(own []string) []string {
	out := slices.Clone(own)
	for _, s := range OIDCScopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// NarrowForUser applies RFC 6749 §3.3 to a request made for a user through
// a client whose registered scopes are client (none registered: no bound).
// Without a requested scope the grant is the user's own scopes within the
// client's; a requested scope must be the user's own or one of OIDCScopes,
// and within the client's.
func NarrowForUser(requested, own, client []string) ([]string, *Error) {
	if len(requested) == 0 {
		return Narrow(nil, WithinClient(own, client))
	}
	return Narrow(requested, WithinClient(UserScopes(own), client))
}

// WithinClient returns the scopes of s that a client whose registered
// scopes are client may have (none registered: all of s).
func WithinClient(s, client []string) []string {
	if len(client) == 0 {
		return s
	}
	return Intersect(s, client)
}

// StillGranted returns what a grant made earlier — an authorization code,
// a refresh token — may still give now: the scopes of granted that the
// user still holds (own, or one of OIDCScopes) and that the client may
// still have under its current registration (client; none registered: no
// bound). A grant is never widened (RFC 6749 §6), and a scope taken from
// the user or the client since is left out rather than refused; the grant
// keeps it, so that giving it back restores it.
func StillGranted(granted, own, client []string) []string {
	return WithinClient(Intersect(granted, UserScopes(own)), client)
}
