package gatehouse

import (
	"time"

	"github.com/gatehouse/gatehouse/guard"
)

// This file wires gatehouse's own Prometheus metrics: the hooks other
// components call, and the collectors behind them.

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
