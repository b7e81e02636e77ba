package gatehouse

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// This file wires the operator and developer surface: the /admin API, the
// OpenAPI document and /docs page, and the Prometheus metrics hooks.

// mountAdmin registers /admin/*, /openapi.json and /docs.
func (s *Server) mountAdmin(mux *http.ServeMux) {}

// buildMetrics registers gatehouse's own collectors on s.registry.
func (s *Server) buildMetrics() {}

// observeAuth is the guard's OnResult hook.
func (s *Server) observeAuth(method guard.Method, err error) {}

// observeToken learns every token-endpoint outcome.
func (s *Server) observeToken(grant string, err error, d time.Duration) {}

// observeRateLimited counts a refused request; kind is "ip", "apikey",
// "user", "client" or "login".
func (s *Server) observeRateLimited(kind string) {}

// observeRevocationLag learns how far the revocation feed is behind.
func (s *Server) observeRevocationLag(d time.Duration) {}

// observeHashWait learns how long a login waited for a hashing slot.
func (s *Server) observeHashWait(d time.Duration) {}
