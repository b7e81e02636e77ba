package httpmw

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// AccessLog writes one log line per request with the method, the path, the
// status, the number of body bytes, the duration, the request id and the
// client address. It deliberately leaves out the query string (it may hold
// codes, tokens or passwords that clients should not have put there) and all
// headers (Authorization, X-API-Key, cookies).
//
// The client address is the one [IPResolver.Middleware] stored, when that
// middleware runs before AccessLog, or else the connection's peer. A request
// whose handler panics is logged with status 500. A nil logger means
// slog.Default().
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
				level := slog.LevelInfo
				if !completed && !rec.wroteHeader {
					status = http.StatusInternalServerError // panicking; Recover answers 500
				}
				if status >= 500 {
					level = slog.LevelError
				}
				logger.LogAttrs(r.Context(), level, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
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
