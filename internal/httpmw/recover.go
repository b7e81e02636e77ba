package httpmw

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
)

// Recover turns a panic in a handler into a logged error and, if the handler
// has not written anything yet, a 500 response with the JSON body
// {"error":"server_error","error_description":"internal error"}. The log
// line carries the request id, the method, the route (as [AccessLog] logs
// them: never the path), the panic value and the stack; the client learns
// nothing about the cause.
//
// When the handler had already started its response, a well-formed error can
// no longer be sent; Recover then aborts the connection (by panicking with
// http.ErrAbortHandler) so the client sees a broken response rather than a
// truncated one that looks complete. A panic with http.ErrAbortHandler itself
// is passed on untouched, as net/http expects. A nil logger means
// slog.Default().
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := recorderFor(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "handler panic",
					"request_id", RequestIDFrom(r.Context()),
					"method", logMethod(r.Method),
					"route", rec.Route(),
					"panic", fmt.Sprint(v),
					"stack", string(debug.Stack()))
				if rec.wroteHeader {
					panic(http.ErrAbortHandler)
				}
				jsonerror.Write(rec, http.StatusInternalServerError, "server_error", "internal error")
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
