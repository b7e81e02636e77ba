package gatehouse

import "context"

// FlushUsage writes the coalesced API-key usage now (tests cannot wait
// for the periodic flush).
func FlushUsage(ctx context.Context, s *Server) error { return s.usage.Flush(ctx) }

// ForgetCaches drops the API-key and user caches, for tests that change
// records behind the manager's back.
func ForgetCaches(s *Server) { s.invalidate("", "") }
