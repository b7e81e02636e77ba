package httpmw

import (
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
	"github.com/gatehouse/gatehouse/internal/text"
)

// StorableText answers 400 to a request whose path or query string, once
// decoded, holds a NUL byte or invalid UTF-8, and to a query string that
// does not parse (a bad %-escape, a ";" separator). No route means
// either, and PostgreSQL text can hold neither: such a value used as an
// id, cursor or filter would otherwise fail the query and surface as a
// 500, while SQLite would silently match nothing. A query that does not
// parse is refused as well: the parts that did parse could hold such a
// value, and the parts that did not would be dropped without a word.
func StorableText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !text.Storable(r.URL.Path) {
			jsonerror.Write(w, http.StatusBadRequest, "invalid_request", "the request path holds a NUL byte or invalid UTF-8")
			return
		}
		if msg := screenQuery(r.URL.RawQuery); msg != "" {
			jsonerror.Write(w, http.StatusBadRequest, "invalid_request", msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// screenQuery returns why a raw query string is refused, or "".
func screenQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "the query string does not parse (bad %-escape or separator)"
	}
	for k, vs := range q {
		if !text.Storable(k) {
			return "the query string holds a NUL byte or invalid UTF-8"
		}
		for _, v := range vs {
			if !text.Storable(v) {
				return "the query string holds a NUL byte or invalid UTF-8"
			}
		}
	}
	return ""
}
