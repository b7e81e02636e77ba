package httpmw

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/jsonerror"
)

// Metrics counts HTTP requests and measures their latency for Prometheus,
// labelled by route pattern and status class. Create it with [NewMetrics].
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series holds the children of requests and duration per route and
	// status class (routeClass → *series), so that a request looks its two
	// series up in one lock-free read instead of hashing its labels twice
	// under the vectors' locks. It is bounded: routes are the mux's
	// patterns or "other", classes are six.
	series sync.Map
}

type routeClass struct{ route, class string }

// series is one route's and status class's pair of children.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// seriesFor returns the children labelled route and class, creating them
// on first use.
func (m *Metrics) seriesFor(route, class string) *series {
	k := routeClass{route, class}
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	s, _ := m.series.LoadOrStore(k, &series{
		requests: m.requests.WithLabelValues(route, class),
		duration: m.duration.WithLabelValues(route, class),
	})
	return s.(*series)
}

// otherRoute stands for the route of a request that matched no pattern
// (404s, 405s, requests refused before routing) in metrics labels and log
// lines, so that scanners probing random paths cannot blow up the number of
// series, and no path a client wrote reaches a log.
const otherRoute = "other"

// NewMetrics creates the collectors gatehouse_http_requests_total and
// gatehouse_http_request_duration_seconds, both labelled "route" and "code"
// (status class such as "2xx"), and registers them with reg. If reg already
// holds collectors of the same name (a second server in one process), those
// are reused. A nil reg registers nothing.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests served, by route pattern and status class.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern and status class.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.duration = register(reg, m.duration)
	}
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: conflicting metric definitions
	}
	return c
}

// Middleware observes every request that passes through it.
//
// The route label is r.Pattern, which http.ServeMux (Go 1.22+) sets while
// routing on the *http.Request it is given; the middleware reads it after
// next returns. So Metrics must wrap the ServeMux directly, or only through
// middlewares that pass the request on unchanged (no WithContext or copies
// in between); otherwise every request is counted as "other".
//
// It also hands the pattern to the [AccessLog] and [Recover] around it (on
// the response writer they share), even when next panics.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := recorderFor(w)
		defer func() { rec.route = r.Pattern }()
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = otherRoute
		}
		s := m.seriesFor(route, statusClass(rec.Status()))
		s.requests.Inc()
		s.duration.Observe(time.Since(start).Seconds())
	})
}

func statusClass(status int) string {
	switch status / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "other"
}

// AllowFrom returns middleware that lets a request through only when its
// client address lies in one of allowed, and answers every other request
// 403 with a JSON error body. It is meant for operational endpoints such as
// /metrics.
//
// The address is the one [IPResolver.Middleware] stored in the context, so
// a request forwarded by a trusted proxy is judged by the client behind the
// proxy, not by the proxy. Without that middleware in front, the
// connection's peer (RemoteAddr) is used. A request whose address cannot be
// determined is refused. An empty allowed refuses everything.
func AllowFrom(allowed []netip.Prefix) func(http.Handler) http.Handler {
	allowed = append([]netip.Prefix(nil), allowed...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := ClientIPFrom(r.Context())
			if !ip.IsValid() {
				ip = peerAddr(r.RemoteAddr)
			}
			if ip.IsValid() {
				ip = ip.Unmap()
				for _, p := range allowed {
					if p.Contains(ip) {
						next.ServeHTTP(w, r)
						return
					}
				}
			}
			jsonerror.Write(w, http.StatusForbidden, "forbidden", "this address may not access this endpoint")
		})
	}
}

// peerAddr parses a RemoteAddr ("host:port" or a bare address).
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a
}
