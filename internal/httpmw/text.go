package httpmw

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// StorableText answers 400 to a request whose path or query string, once
// decoded, holds a NUL byte or invalid UTF-8. No route means either, and
// PostgreSQL text can hold neither: such a value used as an id, cursor or
// filter would otherwise fail the query and surface as a 500. A query
// string that does not parse is left to the handler.
func StorableText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !storable(r.URL.Path) || !storableQuery(r.URL.RawQuery) {
			WriteJSONError(w, http.StatusBadRequest, "invalid_request", "the request path or query holds a NUL byte or invalid UTF-8")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func storableQuery(raw string) bool {
	if raw == "" {
		return true
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return true
	}
	for k, vs := range q {
		if !storable(k) {
			return false
		}
		for _, v := range vs {
			if !storable(v) {
				return false
			}
		}
	}
	return true
}
