package httpmw

import (
	"net/http"
	"strings"
)

// statusRecorder remembers the status code and the number of body bytes a
// handler wrote. It keeps streaming working: Flush passes through, and Unwrap
// lets http.ResponseController reach the connection's own writer (for
// deadlines, hijacking and flushing through further wrappers).
//
// It also carries the route pattern that served the request from the
// middleware that knows it ([Metrics.Middleware], right around the mux) out
// to those that log it ([AccessLog], [Recover]): the mux records the
// pattern on the request it routes, which outer middlewares do not see
// when an inner one passed on a copy.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	route       string // the matched pattern; "" until known
}

// recorderFor reuses w when an outer middleware already wraps it, so that a
// chain of middlewares adds one recorder rather than one each.
func recorderFor(w http.ResponseWriter) *statusRecorder {
	if rec, ok := w.(*statusRecorder); ok {
		return rec
	}
	return &statusRecorder{ResponseWriter: w}
}

// WriteHeader records the first final status code. Informational codes
// (1xx other than 101) may precede it and are passed on without counting.
func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
		r.wroteHeader = true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write counts body bytes; a first Write implies status 200.
func (r *statusRecorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.status = http.StatusOK
		r.wroteHeader = true
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client, as http.Flusher asks. Server-sent
// events depend on it.
func (r *statusRecorder) Flush() {
	if !r.wroteHeader {
		r.status = http.StatusOK
		r.wroteHeader = true
	}
	// ResponseController finds a Flusher through further Unwrap layers.
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Route returns the pattern of the route that served the request without
// its method ("/api-keys/{id}"; the method is logged on its own), or
// "other" when no route matched or none is known (the request was refused
// before it reached the mux).
func (r *statusRecorder) Route() string {
	if r.route == "" {
		return otherRoute
	}
	if _, path, ok := strings.Cut(r.route, " "); ok {
		return strings.TrimLeft(path, " \t")
	}
	return r.route
}

// Status returns the status code sent, or 200 if the handler wrote nothing
// (net/http then sends 200 itself).
func (r *statusRecorder) Status() int {
	if !r.wroteHeader {
		return http.StatusOK
	}
	return r.status
}
