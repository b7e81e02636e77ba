package httpmw

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// AccessLog writes one log line per request with the method, the route,
// the status, the number of body bytes, the duration, the request id and
// the client address.
//
// It writes nothing the client wrote but the method, and that only when it
// is a standard one: no path, no query string, no header. A path can hold a
// credential as well as a query can (DELETE /api-keys/<a pasted key>), so
// the route is the pattern that matched ("/api-keys/{id}"), which
// [Metrics.Middleware] hands out; it must run inside AccessLog, around the
// mux. A request that matched no route, or was refused before the mux, logs
// the route "other", as the metrics label it.
//
// The client address is the one [IPResolver.Middleware] stored, when that
// middleware runs before AccessLog, or else the connection's peer. A request
// whose handler panics is logged with status 500.
//
// The level follows the status: a request that was served (1xx–3xx) is
// logged at debug, one that was refused (4xx) at info, one that failed
// (5xx, or a panic) at error. A server at the default level "info" thus
// logs every refusal — the 401s and 429s an operator looks for — without
// paying for a line on each of the requests it served, which the metrics
// count; --log-level debug logs them all. Nothing is formatted for a line
// the logger would drop. A nil logger means slog.Default().
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := recorderFor(w)
			completed := false
			defer func() {
				status := rec.Status()
				if !completed && !rec.wroteHeader {
					status = http.StatusInternalServerError // panicking; Recover answers 500
				}
				level := accessLevel(status)
				if !logger.Enabled(r.Context(), level) {
					return
				}
				logger.LogAttrs(r.Context(), level, "http request",
					slog.String("method", logMethod(r.Method)),
					slog.String("route", rec.Route()),
					slog.Int("status", status),
					slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", RequestIDFrom(r.Context())),
					slog.String("ip", logIP(r)))
			}()
			next.ServeHTTP(rec, r)
			completed = true
		})
	}
}

// accessLevel is the level of the access line of a request answered with
// status: debug when it was served, info when it was refused, error when it
// failed.
func accessLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// logMethod returns method when it is one of the methods of RFC 9110 §9 or
// PATCH, and "other" for anything else: a method is a token the client
// chooses.
func logMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return otherRoute
}

func logIP(r *http.Request) string {
	if ip := ClientIPFrom(r.Context()); ip.IsValid() {
		return ip.String()
	}
	if ip := remoteAddr(r); ip.IsValid() {
		return ip.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// remoteAddr parses the connection's peer address, or returns the zero Addr.
func remoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
