package httpmw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/text"
)

// RequestIDHeader is the header that carries the request id in both
// directions.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id so that a client cannot fill
// logs and audit rows with junk.
const maxRequestIDLen = 64

type requestIDKey struct{}

// RequestID gives every request an id: a sane incoming X-Request-Id (1 to 64
// characters of [A-Za-z0-9._-]) is kept so that ids follow a request across
// services; anything else is replaced by a fresh random one. The id is set on
// the response header and stored in the context for [RequestIDFrom].
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// RequestIDFrom returns the request id stored by [RequestID], or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Actor returns the audit actor of r as far as the request tells it: the
// client address (after trusted-proxy resolution), the User-Agent (made
// storable, at most 256 bytes) and the request id. Callers fill in ID once
// they know who is asking.
func Actor(r *http.Request) audit.Actor {
	a := audit.Actor{UserAgent: text.Clip(r.UserAgent(), 256), RequestID: RequestIDFrom(r.Context())}
	if ip := ClientIPFrom(r.Context()); ip.IsValid() {
		a.IP = ip.String()
	}
	return a
}
