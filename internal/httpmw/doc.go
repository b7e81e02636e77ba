// Package httpmw holds the HTTP middleware that every gatehouse endpoint
// shares: request ids, panic recovery, access logs, body limits, security
// headers, client-address resolution behind trusted proxies and Prometheus
// metrics.
//
// Every middleware has the shape func(http.Handler) http.Handler (or is a
// method value of that shape) so that [Chain] can assemble them in one place.
// The root package builds the chain in this order, outermost first:
//
//	RequestID → Recover → IPResolver.Middleware → AccessLog → BodyLimit →
//	SecurityHeaders → Metrics → http.ServeMux
//
// Metrics sits directly around the mux because the mux records the matched
// pattern on the very *http.Request it is handed (see [Metrics.Middleware]);
// it hands the pattern out to AccessLog and Recover, which log the route,
// never the path.
//
// The package stands alone so that endpoint packages never depend on it: it
// imports only the standard library and prometheus/client_golang, and no
// gatehouse package.
package httpmw
