package httpmw

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
)

// BodyLimit caps every request body at n bytes. A request that declares a
// larger Content-Length is refused at once with 413 and the JSON body
// {"error":"request_too_large",...}, before the handler runs; any other body
// is wrapped in http.MaxBytesReader, so a handler reading past n gets an
// *http.MaxBytesError and should answer 413 itself. n <= 0 means no limit.
func BodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if n <= 0 {
			return next
		}
		desc := fmt.Sprintf("request body is larger than %d bytes", n)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				// The unread body is not worth draining.
				w.Header().Set("Connection", "close")
				jsonerror.Write(w, http.StatusRequestEntityTooLarge, "request_too_large", desc)
				return
			}
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			// Handlers must not modify the request they are given, so the
			// new body goes on a shallow copy, as http.MaxBytesHandler does.
			r2 := new(http.Request)
			*r2 = *r
			r2.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r2)
		})
	}
}
